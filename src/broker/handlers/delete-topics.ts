import { ErrorCode } from '../../protocol/error-codes.js';
import { DeleteTopics } from '../../protocol/messages/delete-topics.js';
import { handler, type HandlerEntry } from '../../server/handler.js';
import type { TopicAdmin } from '../../topics/topic-admin.js';
import { ZERO_UUID } from './topic-ids.js';

/** DeleteTopics over the topic administration service, one topic after the other. */
export function deleteTopicsHandler(admin: TopicAdmin): HandlerEntry {
  return handler(DeleteTopics, async (body) => {
    // v0–5 name topics in `topicNames`; v6 in `topics` (by name; topic ids are not served yet).
    const byName = (body.topicNames ?? []).map((name) => ({ name, topicId: ZERO_UUID }));
    const v6 = (body.topics ?? []).map((t) => ({ name: t.name ?? null, topicId: t.topicId ?? ZERO_UUID }));
    const targets: { name: string | null; topicId: string }[] = [...byName, ...v6];
    const responses = [];
    for (const { name, topicId } of targets) {
      if (name === null) {
        responses.push({ name: null, topicId, errorCode: ErrorCode.UNKNOWN_TOPIC_ID, errorMessage: 'deleting topics by id is not supported yet' });
        continue;
      }
      const outcome = await admin.delete(name);
      responses.push({ name, topicId, errorCode: outcome.errorCode, errorMessage: outcome.errorMessage });
    }
    return { throttleTimeMs: 0, responses };
  });
}
