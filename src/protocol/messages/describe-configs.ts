import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * DescribeConfigs (32): the configs of topics (resource type 2) or brokers (4). A null key list means
 * all keys. v0 says `isDefault`; v1+ replaces it with `configSource` and adds synonyms.
 */
export const DescribeConfigs = api({
  apiKey: 32,
  name: 'DescribeConfigs',
  versions: '0-4',
  flexible: '4+',
  request: {
    resources: f.array('0+', {
      resourceType: f.int8('0+'),
      resourceName: f.string('0+'),
      configurationKeys: f.array('0+', 'string', { nullable: '0+' }),
    }),
    includeSynonyms: f.bool('1+'),
    includeDocumentation: f.bool('3+'),
  },
  response: {
    throttleTimeMs: f.int32('0+'),
    results: f.array('0+', {
      errorCode: f.int16('0+'),
      errorMessage: f.string('0+', { nullable: '0+' }),
      resourceType: f.int8('0+'),
      resourceName: f.string('0+'),
      configs: f.array('0+', {
        name: f.string('0+'),
        value: f.string('0+', { nullable: '0+' }),
        readOnly: f.bool('0+'),
        isDefault: f.bool('0'),
        configSource: f.int8('1+', { default: -1 }),
        isSensitive: f.bool('0+'),
        synonyms: f.array('1+', {
          name: f.string('1+'),
          value: f.string('1+', { nullable: '1+' }),
          source: f.int8('1+'),
        }),
        configType: f.int8('3+'),
        documentation: f.string('3+', { nullable: '3+' }),
      }),
    }),
  },
});
export type DescribeConfigsRequest = RequestOf<typeof DescribeConfigs>;
export type DescribeConfigsResponse = ResponseOf<typeof DescribeConfigs>;
