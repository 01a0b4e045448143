import { api, type RequestOf, type ResponseOf } from './schema.js';

// TODO(schema): fields not written yet.
export const DeleteTopics = api({
  apiKey: 20,
  name: 'DeleteTopics',
  versions: '0-6',
  flexible: '4+',
  request: {},
  response: {},
});
export type DeleteTopicsRequest = RequestOf<typeof DeleteTopics>;
export type DeleteTopicsResponse = ResponseOf<typeof DeleteTopics>;
