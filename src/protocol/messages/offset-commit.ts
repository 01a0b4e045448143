import { api, type RequestOf, type ResponseOf } from './schema.js';

// TODO(schema): fields not written yet.
export const OffsetCommit = api({
  apiKey: 8,
  name: 'OffsetCommit',
  versions: '0-8',
  flexible: '8+',
  request: {},
  response: {},
});
export type OffsetCommitRequest = RequestOf<typeof OffsetCommit>;
export type OffsetCommitResponse = ResponseOf<typeof OffsetCommit>;
