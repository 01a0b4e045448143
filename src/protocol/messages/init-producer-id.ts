import { api, type RequestOf, type ResponseOf } from './schema.js';

// TODO(schema): fields not written yet.
export const InitProducerId = api({
  apiKey: 22,
  name: 'InitProducerId',
  versions: '0-4',
  flexible: '2+',
  request: {},
  response: {},
});
export type InitProducerIdRequest = RequestOf<typeof InitProducerId>;
export type InitProducerIdResponse = ResponseOf<typeof InitProducerId>;
