import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * DescribeAcls (29): lists the ACLs matching one filter. The int8 enums are in src/protocol/acl.ts;
 * the pattern type only exists from v1 and defaults to 3 (LITERAL), which is what v0 means.
 */
export const DescribeAcls = api({
  apiKey: 29,
  name: 'DescribeAcls',
  versions: '0-3',
  flexible: '2+',
  request: {
    resourceTypeFilter: f.int8('0+'),
    resourceNameFilter: f.string('0+', { nullable: '0+' }),
    patternTypeFilter: f.int8('1+', { default: 3 }),
    principalFilter: f.string('0+', { nullable: '0+' }),
    hostFilter: f.string('0+', { nullable: '0+' }),
    operation: f.int8('0+'),
    permissionType: f.int8('0+'),
  },
  response: {
    throttleTimeMs: f.int32('0+'),
    errorCode: f.int16('0+'),
    errorMessage: f.string('0+', { nullable: '0+' }),
    resources: f.array('0+', {
      resourceType: f.int8('0+'),
      resourceName: f.string('0+'),
      patternType: f.int8('1+', { default: 3 }),
      acls: f.array('0+', {
        principal: f.string('0+'),
        host: f.string('0+'),
        operation: f.int8('0+'),
        permissionType: f.int8('0+'),
      }),
    }),
  },
});
export type DescribeAclsRequest = RequestOf<typeof DescribeAcls>;
export type DescribeAclsResponse = ResponseOf<typeof DescribeAcls>;
