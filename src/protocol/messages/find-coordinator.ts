import { api, type RequestOf, type ResponseOf } from './schema.js';

// TODO(schema): fields not written yet.
export const FindCoordinator = api({
  apiKey: 10,
  name: 'FindCoordinator',
  versions: '0-4',
  flexible: '3+',
  request: {},
  response: {},
});
export type FindCoordinatorRequest = RequestOf<typeof FindCoordinator>;
export type FindCoordinatorResponse = ResponseOf<typeof FindCoordinator>;
