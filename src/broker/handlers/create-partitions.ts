import { ErrorCode } from '../../protocol/error-codes.js';
import { CreatePartitions } from '../../protocol/messages/create-partitions.js';
import { handler, type HandlerEntry } from '../../server/handler.js';
import type { TopicAdmin } from '../../topics/topic-admin.js';

/** CreatePartitions over the topic administration service; manual assignments may name this broker only. */
export function createPartitionsHandler(admin: TopicAdmin): HandlerEntry {
  return handler(CreatePartitions, (body) => {
    let pending = 0;
    return {
      throttleTimeMs: 0,
      results: body.topics.map((t) => {
        const before = admin.get(t.name)?.partitions ?? 0;
        const outcome = admin.addPartitions(t.name, t.count, body.validateOnly, pending, t.assignments);
        // As in CreateTopics: validate-only counts what it accepted so far (./create-topics.ts).
        if (body.validateOnly && outcome.errorCode === ErrorCode.NONE) pending += t.count - before;
        return { name: t.name, errorCode: outcome.errorCode, errorMessage: outcome.errorMessage };
      }),
    };
  });
}
