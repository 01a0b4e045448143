import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * DeleteAcls (31): removes every ACL matching each filter and returns, per filter, the bindings it
 * removed. Pattern types are v1+ (default 3, LITERAL); enums are in src/protocol/acl.ts.
 */
export const DeleteAcls = api({
  apiKey: 31,
  name: 'DeleteAcls',
  versions: '0-3',
  flexible: '2+',
  request: {
    filters: f.array('0+', {
      resourceTypeFilter: f.int8('0+'),
      resourceNameFilter: f.string('0+', { nullable: '0+' }),
      patternTypeFilter: f.int8('1+', { default: 3 }),
      principalFilter: f.string('0+', { nullable: '0+' }),
      hostFilter: f.string('0+', { nullable: '0+' }),
      operation: f.int8('0+'),
      permissionType: f.int8('0+'),
    }),
  },
  response: {
    throttleTimeMs: f.int32('0+'),
    filterResults: f.array('0+', {
      errorCode: f.int16('0+'),
      errorMessage: f.string('0+', { nullable: '0+' }),
      matchingAcls: f.array('0+', {
        errorCode: f.int16('0+'),
        errorMessage: f.string('0+', { nullable: '0+' }),
        resourceType: f.int8('0+'),
        resourceName: f.string('0+'),
        patternType: f.int8('1+', { default: 3 }),
        principal: f.string('0+'),
        host: f.string('0+'),
        operation: f.int8('0+'),
        permissionType: f.int8('0+'),
      }),
    }),
  },
});
export type DeleteAclsRequest = RequestOf<typeof DeleteAcls>;
export type DeleteAclsResponse = ResponseOf<typeof DeleteAcls>;
