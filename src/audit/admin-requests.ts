/**
 * The administrative APIs as the audit trail sees them: which changes a request asked for and how each
 * ended (from its response), and, while the trail cannot be written, the answer that refuses them all.
 * ACL and SCRAM changes are reported by their handlers (they know what matched); this file covers
 * topics, partitions, configs, groups and client quotas, and refuses all of them.
 */
import { errorByCode, ErrorCode } from '../protocol/error-codes.js';
import { entryOf, errorEntry, errorResponse } from '../protocol/error-responses.js';
import { AlterClientQuotas } from '../protocol/messages/alter-client-quotas.js';
import { AlterConfigs } from '../protocol/messages/alter-configs.js';
import { AlterUserScramCredentials } from '../protocol/messages/alter-user-scram-credentials.js';
import { CreateAcls } from '../protocol/messages/create-acls.js';
import { CreatePartitions } from '../protocol/messages/create-partitions.js';
import { CreateTopics } from '../protocol/messages/create-topics.js';
import { DeleteAcls } from '../protocol/messages/delete-acls.js';
import { DeleteGroups } from '../protocol/messages/delete-groups.js';
import { DeleteTopics } from '../protocol/messages/delete-topics.js';
import { IncrementalAlterConfigs } from '../protocol/messages/incremental-alter-configs.js';

/** What a refused admin request says, in every entry that has a message. */
export const AUDIT_UNAVAILABLE_MESSAGE = 'refused: the audit trail cannot be written, so no change can be recorded (see the broker log; docs/security/audit.md)';

/** One change an admin request asked for, and its outcome (an error name, or none when it was made). */
export interface AdminChange {
  readonly action: string;
  readonly resource: { readonly type: string; readonly name: string };
  readonly detail: object;
  readonly error?: string;
}

type Body = Record<string, unknown>;
type Entry = Record<string, unknown>;

const list = (value: unknown): Entry[] => (Array.isArray(value) ? (value as Entry[]) : []);
const text = (value: unknown): string => (typeof value === 'string' ? value : '');
const errorOf = (entry: Entry | undefined): { error?: string } => {
  const code = typeof entry?.errorCode === 'number' ? entry.errorCode : ErrorCode.NONE;
  return code === ErrorCode.NONE ? {} : { error: errorByCode(code)?.name ?? `ERROR_${code}` };
};
/** Kafka's config resource types (KIP-133): 2 topic, 4 broker, 8 broker logger. */
const CONFIG_RESOURCE: Readonly<Record<number, string>> = { 2: 'topic', 4: 'broker', 8: 'broker-logger' };
/** Config values that look like secrets are never copied into the trail. */
const SECRET_CONFIG = /password|secret|token|key$/i;

/** The APIs whose changes this file reports (by API key). */
const REPORTED = new Set([
  CreateTopics.apiKey,
  DeleteTopics.apiKey,
  CreatePartitions.apiKey,
  AlterConfigs.apiKey,
  IncrementalAlterConfigs.apiKey,
  DeleteGroups.apiKey,
  AlterClientQuotas.apiKey,
]);

/** Every API that changes what the broker keeps besides records and offsets: refused while the trail is down. */
const ADMIN_APIS = new Set([...REPORTED, CreateAcls.apiKey, DeleteAcls.apiKey, AlterUserScramCredentials.apiKey]);

export function isAdminApi(apiKey: number): boolean {
  return ADMIN_APIS.has(apiKey);
}

/** The changes of a request of a reported API, matched to the entries of its response; [] for others and validate-only requests. */
export function adminChanges(apiKey: number, body: Body, response: object | null): AdminChange[] {
  if (!REPORTED.has(apiKey) || body.validateOnly === true || response === null) return [];
  const r = response as Body;
  switch (apiKey) {
    case CreateTopics.apiKey: {
      const results = byKey(list(r.topics), (e) => text(e.name));
      return list(body.topics).map((t) => ({
        action: 'create-topics',
        resource: { type: 'topic', name: text(t.name) },
        detail: { partitions: t.numPartitions, configs: configsOf(list(t.configs)) },
        ...errorOf(results.get(text(t.name))),
      }));
    }
    case DeleteTopics.apiKey:
      return list(r.responses).map((e) => ({
        action: 'delete-topics',
        resource: { type: 'topic', name: text(e.name) || text(e.topicId) },
        detail: {},
        ...errorOf(e),
      }));
    case CreatePartitions.apiKey: {
      const results = byKey(list(r.results), (e) => text(e.name));
      return list(body.topics).map((t) => ({
        action: 'create-partitions',
        resource: { type: 'topic', name: text(t.name) },
        detail: { count: t.count },
        ...errorOf(results.get(text(t.name))),
      }));
    }
    case AlterConfigs.apiKey:
    case IncrementalAlterConfigs.apiKey: {
      const action = apiKey === AlterConfigs.apiKey ? 'alter-configs' : 'incremental-alter-configs';
      const results = byKey(list(r.responses), (e) => `${String(e.resourceType)} ${text(e.resourceName)}`);
      return list(body.resources).map((res) => ({
        action,
        resource: { type: `${CONFIG_RESOURCE[res.resourceType as number] ?? 'unknown'} config`, name: text(res.resourceName) },
        detail: { configs: configsOf(list(res.configs)) },
        ...errorOf(results.get(`${String(res.resourceType)} ${text(res.resourceName)}`)),
      }));
    }
    case DeleteGroups.apiKey:
      return list(r.results).map((e) => ({ action: 'delete-groups', resource: { type: 'group', name: text(e.groupId) }, detail: {}, ...errorOf(e) }));
    case AlterClientQuotas.apiKey: {
      // Entries are answered in request order, one per entry.
      const results = list(r.entries);
      return list(body.entries).map((e, i) => ({
        action: 'alter-client-quotas',
        resource: { type: 'client-quota', name: quotaEntityName(list(e.entity)) },
        detail: { ops: Object.fromEntries(list(e.ops).map((op) => [text(op.key), op.remove === true ? 'remove' : op.value])) },
        ...errorOf(results[i]),
      }));
    }
    default:
      return [];
  }
}

/** `user=alice client-id=<default>`: the entity as kafka-configs names it. */
function quotaEntityName(components: Entry[]): string {
  return components.map((c) => `${text(c.entityType)}=${typeof c.entityName === 'string' ? c.entityName : '<default>'}`).join(' ');
}

/** Config names and values (secret-looking values hidden), with the incremental operation when there is one. */
function configsOf(configs: Entry[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  const ops = ['set', 'delete', 'append', 'subtract'];
  for (const c of configs) {
    const name = text(c.name);
    const value = typeof c.value === 'string' ? (SECRET_CONFIG.test(name) ? '[hidden]' : c.value) : null;
    const op = typeof c.configOperation === 'number' ? ops[c.configOperation] : undefined;
    out[name] = op === undefined || op === 'set' ? value : `${op}${value === null ? '' : ` ${value}`}`;
  }
  return out;
}

function byKey(entries: Entry[], key: (e: Entry) => string): Map<string, Entry> {
  return new Map(entries.map((e) => [key(e), e]));
}

/**
 * The answer to an admin request while the audit trail cannot be written: every entry refused with
 * POLICY_VIOLATION (the policy: no change that cannot be recorded) and {@link AUDIT_UNAVAILABLE_MESSAGE}.
 */
export function refusedAdminResponse(apiKey: number, body: Body): object | undefined {
  const code = ErrorCode.POLICY_VIOLATION;
  const message = { errorMessage: AUDIT_UNAVAILABLE_MESSAGE };
  switch (apiKey) {
    case CreateTopics.apiKey:
      return errorResponse(CreateTopics, ErrorCode.NONE, {
        topics: list(body.topics).map((t) => errorEntry(entryOf(CreateTopics.response.fields.topics), code, { name: text(t.name), ...message })),
      });
    case DeleteTopics.apiKey: {
      const named: Entry[] = Array.isArray(body.topicNames) ? (body.topicNames as unknown[]).map((name) => ({ name })) : list(body.topics);
      return errorResponse(DeleteTopics, ErrorCode.NONE, {
        responses: named.map((t) =>
          errorEntry(entryOf(DeleteTopics.response.fields.responses), code, { name: typeof t.name === 'string' ? t.name : null, ...(typeof t.topicId === 'string' ? { topicId: t.topicId } : {}), ...message }),
        ),
      });
    }
    case CreatePartitions.apiKey:
      return errorResponse(CreatePartitions, ErrorCode.NONE, {
        results: list(body.topics).map((t) => errorEntry(entryOf(CreatePartitions.response.fields.results), code, { name: text(t.name), ...message })),
      });
    case AlterConfigs.apiKey:
    case IncrementalAlterConfigs.apiKey: {
      const api = apiKey === AlterConfigs.apiKey ? AlterConfigs : IncrementalAlterConfigs;
      return errorResponse(api, ErrorCode.NONE, {
        responses: list(body.resources).map((res) =>
          errorEntry(entryOf(api.response.fields.responses), code, { resourceType: res.resourceType as number, resourceName: text(res.resourceName), ...message }),
        ),
      });
    }
    case DeleteGroups.apiKey:
      return errorResponse(DeleteGroups, ErrorCode.NONE, {
        results: (Array.isArray(body.groupsNames) ? (body.groupsNames as unknown[]) : []).map((g) => errorEntry(entryOf(DeleteGroups.response.fields.results), code, { groupId: text(g) })),
      });
    case AlterClientQuotas.apiKey:
      return errorResponse(AlterClientQuotas, ErrorCode.NONE, {
        entries: list(body.entries).map((e) =>
          errorEntry(entryOf(AlterClientQuotas.response.fields.entries), code, {
            entity: list(e.entity).map((c) => ({ entityType: text(c.entityType), entityName: typeof c.entityName === 'string' ? c.entityName : null })),
            ...message,
          }),
        ),
      });
    case CreateAcls.apiKey:
      return errorResponse(CreateAcls, ErrorCode.NONE, { results: list(body.creations).map(() => errorEntry(entryOf(CreateAcls.response.fields.results), code, message)) });
    case DeleteAcls.apiKey:
      return errorResponse(DeleteAcls, ErrorCode.NONE, {
        filterResults: list(body.filters).map(() => errorEntry(entryOf(DeleteAcls.response.fields.filterResults), code, message)),
      });
    case AlterUserScramCredentials.apiKey:
      return errorResponse(AlterUserScramCredentials, ErrorCode.NONE, {
        results: [...list(body.deletions), ...list(body.upsertions)].map((u) =>
          errorEntry(entryOf(AlterUserScramCredentials.response.fields.results), code, { user: text(u.name), ...message }),
        ),
      });
    default:
      return undefined;
  }
}
