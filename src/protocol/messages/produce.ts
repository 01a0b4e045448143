import { api, type RequestOf, type ResponseOf } from './schema.js';

// TODO(schema): fields not written yet.
export const Produce = api({
  apiKey: 0,
  name: 'Produce',
  versions: '0-9',
  flexible: '9+',
  request: {},
  response: {},
});
export type ProduceRequest = RequestOf<typeof Produce>;
export type ProduceResponse = ResponseOf<typeof Produce>;
