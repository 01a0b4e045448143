import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * IncrementalAlterConfigs (44): changes single config keys; `configOperation` is 0 SET, 1 DELETE,
 * 2 APPEND, 3 SUBTRACT (the last two for list-valued keys). Keys not named are left alone.
 */
export const IncrementalAlterConfigs = api({
  apiKey: 44,
  name: 'IncrementalAlterConfigs',
  versions: '0-1',
  flexible: '1+',
  request: {
    resources: f.array('0+', {
      resourceType: f.int8('0+'),
      resourceName: f.string('0+'),
      configs: f.array('0+', {
        name: f.string('0+'),
        configOperation: f.int8('0+'),
        value: f.string('0+', { nullable: '0+' }),
      }),
    }),
    validateOnly: f.bool('0+'),
  },
  response: {
    throttleTimeMs: f.int32('0+'),
    responses: f.array('0+', {
      errorCode: f.int16('0+'),
      errorMessage: f.string('0+', { nullable: '0+' }),
      resourceType: f.int8('0+'),
      resourceName: f.string('0+'),
    }),
  },
});
export type IncrementalAlterConfigsRequest = RequestOf<typeof IncrementalAlterConfigs>;
export type IncrementalAlterConfigsResponse = ResponseOf<typeof IncrementalAlterConfigs>;
