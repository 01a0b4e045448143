/**
 * The broker's own topics (src/topics/internal-topics.ts: the `__audit` trail) are read-only to every
 * client, super users included: a write, a deletion, new partitions or a config change naming one is
 * answered TOPIC_AUTHORIZATION_FAILED, item by item, as a denial, and reported as one. It runs before
 * authorization, whose super-user rule would otherwise let such a request through. The ACL policies
 * do the taking out and putting back: this stage is an authorizer that refuses only those operations.
 */
import { aclOperationName, AclOperation, ResourceType } from '../../protocol/acl.js';
import { AddPartitionsToTxn } from '../../protocol/messages/add-partitions-to-txn.js';
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

/** Whether a list of entries names a protected topic in `key` (no array made: Produce passes here every time). */
function names(list: unknown, key: string, protectedNames: ReadonlySet<string>): boolean {
  if (!Array.isArray(list)) return false;
  for (const e of list as Entry[]) if (typeof e[key] === 'string' && protectedNames.has(e[key])) return true;
  return false;
}

/** Whether a request that could change a topic names a protected one, cheaply, so that other requests pass untouched. */
const NAMES_PROTECTED: ReadonlyMap<number, (body: Entry, p: ReadonlySet<string>) => boolean> = new Map([
  [Produce.apiKey, (b: Entry, p: ReadonlySet<string>) => names(b.topicData, 'name', p)],
  // A transaction may not take in a protected topic either: its markers would be written there.
  [AddPartitionsToTxn.apiKey, (b: Entry, p: ReadonlySet<string>) => names(b.v3AndBelowTopics, 'name', p)],
  [DeleteTopics.apiKey, (b: Entry, p: ReadonlySet<string>) => (Array.isArray(b.topicNames) && (b.topicNames as unknown[]).some((n) => typeof n === 'string' && p.has(n))) || names(b.topics, 'name', p)],
  [CreatePartitions.apiKey, (b: Entry, p: ReadonlySet<string>) => names(b.topics, 'name', p)],
  [AlterConfigs.apiKey, (b: Entry, p: ReadonlySet<string>) => names(b.resources, 'resourceName', p)],
  [IncrementalAlterConfigs.apiKey, (b: Entry, p: ReadonlySet<string>) => names(b.resources, 'resourceName', p)],
]);

export function protectedTopics(protectedNames: ReadonlySet<string>, events: SecurityEvents): StageFactory {
  return (connection) => ({
    name: 'protected-topics',
    before({ api, header, body, context }): StageStep {
      const names = NAMES_PROTECTED.get(api.apiKey);
      if (names === undefined || !names(body, protectedNames)) return undefined;
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
