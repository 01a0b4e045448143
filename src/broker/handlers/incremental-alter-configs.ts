import { ErrorCode } from '../../protocol/error-codes.js';
import { IncrementalAlterConfigs } from '../../protocol/messages/incremental-alter-configs.js';
import { handler, type HandlerEntry } from '../../server/handler.js';
import type { TopicAdmin } from '../../topics/topic-admin.js';
import { ConfigResourceType, unsupportedResource } from './config-resources.js';

/** IncrementalAlterConfigs operations (KIP-339). */
const AlterOp = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

/** IncrementalAlterConfigs: sets and deletes single topic configs, leaving the others as they are. */
export function incrementalAlterConfigsHandler(admin: TopicAdmin): HandlerEntry {
  return handler(IncrementalAlterConfigs, (body) => ({
    throttleTimeMs: 0,
    responses: body.resources.map(({ resourceType, resourceName, configs }) => {
      if (resourceType !== ConfigResourceType.TOPIC) return unsupportedResource(resourceType, resourceName);
      const set: Record<string, string> = {};
      const remove: string[] = [];
      for (const c of configs) {
        if (c.configOperation === AlterOp.SET && c.value !== null) set[c.name] = c.value;
        else if (c.configOperation === AlterOp.DELETE) remove.push(c.name);
        else {
          // APPEND/SUBTRACT apply to list configs; the only list here is `tags`, which is set whole (SET).
          return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: `operation ${c.configOperation} is not valid for ${c.name}: set the whole value`, resourceType, resourceName };
        }
      }
      const outcome = admin.alterConfigs(resourceName, { set, remove }, body.validateOnly);
      return { errorCode: outcome.errorCode, errorMessage: outcome.errorMessage, resourceType, resourceName };
    }),
  }));
}
