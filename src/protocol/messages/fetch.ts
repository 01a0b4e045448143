import { api, type RequestOf, type ResponseOf } from './schema.js';

// TODO(schema): fields not written yet.
export const Fetch = api({
  apiKey: 1,
  name: 'Fetch',
  versions: '4-12',
  flexible: '12+',
  request: {},
  response: {},
});
export type FetchRequest = RequestOf<typeof Fetch>;
export type FetchResponse = ResponseOf<typeof Fetch>;
