import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * DeleteTopics (20). v0–5 name topics in `topicNames`; v6 replaces that with `topics[]`, each a
 * name or a topic id (the name may be null), and the response name becomes nullable.
 */
export const DeleteTopics = api({
  apiKey: 20,
  name: 'DeleteTopics',
  versions: '0-6',
  flexible: '4+',
  request: {
    topics: f.array('6+', {
      name: f.string('6+', { nullable: '6+', default: null }),
      topicId: f.uuid('6+'),
    }),
    topicNames: f.array('0-5', 'string'),
    timeoutMs: f.int32('0+'),
  },
  response: {
    throttleTimeMs: f.int32('1+'),
    responses: f.array('0+', {
      name: f.string('0+', { nullable: '6+' }),
      topicId: f.uuid('6+'),
      errorCode: f.int16('0+'),
      errorMessage: f.string('5+', { nullable: '5+', default: null }),
    }),
  },
});
export type DeleteTopicsRequest = RequestOf<typeof DeleteTopics>;
export type DeleteTopicsResponse = ResponseOf<typeof DeleteTopics>;
