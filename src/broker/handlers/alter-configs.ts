import { AlterConfigs } from '../../protocol/messages/alter-configs.js';
import { handler, type HandlerEntry } from '../../server/handler.js';
import type { TopicAdmin } from '../../topics/topic-admin.js';
import { ConfigResourceType, unsupportedResource } from './config-resources.js';

/** AlterConfigs: replaces a topic's whole config set. */
export function alterConfigsHandler(admin: TopicAdmin): HandlerEntry {
  return handler(AlterConfigs, (body) => ({
    throttleTimeMs: 0,
    responses: body.resources.map(({ resourceType, resourceName, configs }) => {
      if (resourceType !== ConfigResourceType.TOPIC) return unsupportedResource(resourceType, resourceName);
      // AlterConfigs replaces the whole set: keys not named go back to their defaults.
      const replace = Object.fromEntries(configs.filter((c) => c.value !== null).map((c) => [c.name, c.value as string]));
      const outcome = admin.alterConfigs(resourceName, { replace }, body.validateOnly);
      return { errorCode: outcome.errorCode, errorMessage: outcome.errorMessage, resourceType, resourceName };
    }),
  }));
}
