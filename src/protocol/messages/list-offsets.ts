import { api, type RequestOf, type ResponseOf } from './schema.js';

// TODO(schema): fields not written yet.
export const ListOffsets = api({
  apiKey: 2,
  name: 'ListOffsets',
  versions: '0-7',
  flexible: '6+',
  request: {},
  response: {},
});
export type ListOffsetsRequest = RequestOf<typeof ListOffsets>;
export type ListOffsetsResponse = ResponseOf<typeof ListOffsets>;
