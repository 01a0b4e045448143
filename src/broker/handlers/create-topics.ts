import { CreateTopics } from '../../protocol/messages/create-topics.js';
import { handler, type HandlerEntry } from '../../server/handler.js';
import type { TopicAdmin } from '../../topics/topic-admin.js';
import { ZERO_UUID } from './topic-ids.js';

/** CreateTopics over the topic administration service. */
export function createTopicsHandler(admin: TopicAdmin): HandlerEntry {
  return handler(CreateTopics, (body) => {
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
}
