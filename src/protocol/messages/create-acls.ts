import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * CreateAcls (30): adds ACL bindings, one result per creation, in order. The resource pattern type
 * is v1+ (default 3, LITERAL); enums are in src/protocol/acl.ts.
 */
export const CreateAcls = api({
  apiKey: 30,
  name: 'CreateAcls',
  versions: '0-3',
  flexible: '2+',
  request: {
    creations: f.array('0+', {
      resourceType: f.int8('0+'),
      resourceName: f.string('0+'),
      resourcePatternType: f.int8('1+', { default: 3 }),
      principal: f.string('0+'),
      host: f.string('0+'),
      operation: f.int8('0+'),
      permissionType: f.int8('0+'),
    }),
  },
  response: {
    throttleTimeMs: f.int32('0+'),
    results: f.array('0+', {
      errorCode: f.int16('0+'),
      errorMessage: f.string('0+', { nullable: '0+' }),
    }),
  },
});
export type CreateAclsRequest = RequestOf<typeof CreateAcls>;
export type CreateAclsResponse = ResponseOf<typeof CreateAcls>;
