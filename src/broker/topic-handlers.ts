import { ErrorCode } from '../protocol/error-codes.js';
import { CreatePartitions } from '../protocol/messages/create-partitions.js';
import { CreateTopics } from '../protocol/messages/create-topics.js';
import { DeleteTopics } from '../protocol/messages/delete-topics.js';
import { handler, type HandlerEntry } from '../server/handler.js';
import type { TopicAdmin } from './topic-admin.js';

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** CreateTopics, DeleteTopics and CreatePartitions over the topic administration service. */
export function topicHandlers(admin: TopicAdmin): HandlerEntry[] {
  const createTopics = handler(CreateTopics, (body) => {
    const validateOnly = body.validateOnly ?? false;
    // A validate-only request creates nothing, so the broker-wide partition bound counts the topics it
    // accepted so far by hand: it answers what the same request would get for real.
    let pending = 0;
    return {
      throttleTimeMs: 0,
      topics: body.topics.map((t) => {
        const configs = Object.fromEntries(t.configs.filter((c) => c.value !== null).map((c) => [c.name, c.value as string]));
        const outcome = admin.create(
          { name: t.name, numPartitions: t.numPartitions, replicationFactor: t.replicationFactor, assignments: t.assignments, configs },
          validateOnly,
          pending,
        );
        if (validateOnly) pending += outcome.topic?.partitions ?? 0;
        return {
          name: t.name,
          topicId: outcome.topic?.id ?? ZERO_UUID,
          errorCode: outcome.errorCode,
          errorMessage: outcome.errorMessage,
          numPartitions: outcome.topic?.partitions ?? -1,
          replicationFactor: outcome.topic === undefined ? -1 : 1,
          configs: [],
        };
      }),
    };
  });

  const deleteTopics = handler(DeleteTopics, async (body) => {
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

  const createPartitions = handler(CreatePartitions, (body) => {
    let pending = 0;
    return {
      throttleTimeMs: 0,
      results: body.topics.map((t) => {
        const before = admin.get(t.name)?.partitions ?? 0;
        const outcome =
          t.assignments !== null && t.assignments.length > 0
            ? { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'manual replica assignments are not supported on a single broker' }
            : admin.addPartitions(t.name, t.count, body.validateOnly, pending);
        // As in CreateTopics: validate-only counts what it accepted so far (see there).
        if (body.validateOnly && outcome.errorCode === ErrorCode.NONE) pending += t.count - before;
        return { name: t.name, errorCode: outcome.errorCode, errorMessage: outcome.errorMessage };
      }),
    };
  });

  return [createTopics, deleteTopics, createPartitions];
}
