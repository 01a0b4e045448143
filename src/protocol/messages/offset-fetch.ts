import { api, type RequestOf, type ResponseOf } from './schema.js';

// TODO(schema): fields not written yet.
export const OffsetFetch = api({
  apiKey: 9,
  name: 'OffsetFetch',
  versions: '0-8',
  flexible: '6+',
  request: {},
  response: {},
});
export type OffsetFetchRequest = RequestOf<typeof OffsetFetch>;
export type OffsetFetchResponse = ResponseOf<typeof OffsetFetch>;
