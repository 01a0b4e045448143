import { api, type RequestOf, type ResponseOf } from './schema.js';

// TODO(schema): fields not written yet.
export const CreateTopics = api({
  apiKey: 19,
  name: 'CreateTopics',
  versions: '0-7',
  flexible: '5+',
  request: {},
  response: {},
});
export type CreateTopicsRequest = RequestOf<typeof CreateTopics>;
export type CreateTopicsResponse = ResponseOf<typeof CreateTopics>;
