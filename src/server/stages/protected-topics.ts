/**
 * The broker's own topics (src/topics/internal-topics.ts: the `__audit` trail) are read-only to every
 * client, super users included: a write, a deletion, new partitions or a config change naming one is
 * answered TOPIC_AUTHORIZATION_FAILED, item by item, as a denial, and reported as one. It runs before
 * authorization, whose super-user rule would otherwise let such a request through. The ACL policies
 * do the taking out and putting back: this stage is an authorizer that refuses only those operations.
 */
import { aclOperationName, AclOperation, ResourceType } from '../../protocol/acl.js';
import { AlterConfigs } from '../../protocol/messages/alter-configs.js';
import { CreatePartitions } from '../../protocol/messages/create-partitions.js';
import { DeleteTopics } from '../../protocol/messages/delete-topics.js';
import { IncrementalAlterConfigs } from '../../protocol/messages/incremental-alter-configs.js';
import { Produce } from '../../protocol/messages/produce.js';
import { authorizeRequest } from '../../security/authz/policies/index.js';
import type { SecurityEvents } from '../../security/events.js';
import type { StageFactory, StageStep } from './stage.js';

const REFUSED_OPERATIONS: ReadonlySet<number> = new Set([AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER, AclOperation.ALTER_CONFIGS, AclOperation.CREATE]);

type Entry = Record<string, unknown>;
const names = (list: unknown, key: string): string[] => (Array.isArray(list) ? (list as Entry[]).map((e) => (typeof e[key] === 'string' ? e[key] : '')) : []);

/** The topic names of a request that could change a topic, cheaply, so that other requests pass untouched. */
const TOPICS_NAMED: ReadonlyMap<number, (body: Entry) => readonly string[]> = new Map([
  [Produce.apiKey, (b: Entry) => names(b.topicData, 'name')],
  [DeleteTopics.apiKey, (b: Entry) => [...(Array.isArray(b.topicNames) ? (b.topicNames as string[]) : []), ...names(b.topics, 'name')]],
  [CreatePartitions.apiKey, (b: Entry) => names(b.topics, 'name')],
  [AlterConfigs.apiKey, (b: Entry) => names(b.resources, 'resourceName')],
  [IncrementalAlterConfigs.apiKey, (b: Entry) => names(b.resources, 'resourceName')],
]);

export function protectedTopics(protectedNames: ReadonlySet<string>, events: SecurityEvents): StageFactory {
  return (connection) => ({
    name: 'protected-topics',
    before({ api, header, body, context }): StageStep {
      const named = TOPICS_NAMED.get(api.apiKey);
      if (named === undefined || !named(body).some((n) => protectedNames.has(n))) return undefined;
      const refused: string[] = [];
      const outcome = authorizeRequest(api.apiKey, body, header.apiVersion, {
        allowed(operation, resourceType, resourceName) {
          const ok = !(resourceType === ResourceType.TOPIC && protectedNames.has(resourceName) && REFUSED_OPERATIONS.has(operation));
          if (!ok) refused.push(`${aclOperationName(operation) ?? operation} TOPIC:${resourceName}`);
          return ok;
        },
        allowedAny: () => true,
      });
      if (refused.length > 0) {
        events.emit({
          type: 'authorization-denied',
          connection: connection.id,
          remote: connection.remote,
          principal: context.principal ?? 'User:ANONYMOUS',
          api: api.name,
          resources: [...new Set(refused)],
        });
      }
      return outcome as StageStep;
    },
  });
}
