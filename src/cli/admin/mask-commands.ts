import type { Command } from 'commander';
import { callEndpoint } from './admin-endpoint-client.js';
import { action, collect, UsageError, type AdminIo } from './common.js';
import { credentials, target, withEndpointOptions, type SessionFlags } from './session-commands.js';
import { formatTable } from './table.js';

/**
 * `parapet mask add|list|remove` (docs/governance/masking.md): masking policies added while the broker
 * runs, beside those of the config file. The Kafka protocol has no API for them, so these talk to the
 * broker's admin HTTP endpoint (src/metrics/admin-masking.ts), authenticated as `parapet sessions` is
 * and authorized by the broker's ACLs: ALTER on the CLUSTER to change, DESCRIBE to list.
 */

interface Field {
  readonly path: string;
  readonly rule: string;
  readonly part?: 'key';
}

interface ListedPolicy {
  readonly name: string;
  readonly source: string;
  readonly topics: readonly string[];
  readonly principals?: readonly string[];
  readonly exempt?: readonly string[];
  readonly fields: readonly (Field | { path: string; rule: string; part?: string })[];
  readonly createdAt?: string;
  readonly createdBy?: string;
}

interface AddFlags extends SessionFlags {
  readonly topic: string[];
  readonly field: string[];
  readonly keyField: string[];
  readonly exempt: string[];
  readonly only: string[];
}

/** `path=rule` (the rule may hold a space or a colon: `card.number=keep-last 4`, `=keep-last:4`). */
function fieldOf(spec: string, part: 'value' | 'key'): Field {
  const eq = spec.lastIndexOf('=');
  if (eq <= 0 || eq === spec.length - 1) throw new UsageError(`--${part === 'key' ? 'key-field' : 'field'} is PATH=RULE (card.number=keep-last:4, email=hash), got ${JSON.stringify(spec.slice(0, 80))}`);
  return { path: spec.slice(0, eq), rule: spec.slice(eq + 1), ...(part === 'key' ? { part } : {}) };
}

function describeField(f: ListedPolicy['fields'][number]): string {
  return `${f.part === 'key' ? 'key:' : ''}${f.path}=${f.rule}`;
}

export function registerMaskCommands(mask: Command, io: AdminIo): void {
  withEndpointOptions(
    mask
      .command('add')
      .description('add a masking policy: the fields of the records of these topics are masked in every fetch of the principals it applies to (everyone but --exempt by default)')
      .argument('<name>', 'the policy name (a-z, 0-9 and -)')
      .option('--topic <topic>', 'a topic, a prefix (orders-*) or a glob; repeat for several', collect, [])
      .option('--field <path=rule>', 'a field of the value and its rule: mask, keep-first:N, keep-last:N, hash, redact, null (card.number=keep-last:4); repeatable', collect, [])
      .option('--key-field <path=rule>', 'a field of the record key (a JSON key) and its rule; repeatable', collect, [])
      .option('--exempt <principal>', 'a principal (User:NAME) or group (Group:NAME) that sees clear data; repeatable', collect, [])
      .option('--only <principal>', 'apply to these principals or groups only, instead of everyone; repeatable', collect, []),
  ).action(
    action(io, async (name: string, flags: AddFlags) => {
      if (flags.topic.length === 0) throw new UsageError('give the topics: --topic NAME (repeatable; a prefix such as orders-* or a glob)');
      const fields = [...flags.field.map((f) => fieldOf(f, 'value')), ...flags.keyField.map((f) => fieldOf(f, 'key'))];
      if (fields.length === 0) throw new UsageError('give the fields to mask: --field PATH=RULE (repeatable), --key-field for the key');
      const body = { name, topics: flags.topic, ...(flags.only.length === 0 ? {} : { principals: flags.only }), ...(flags.exempt.length === 0 ? {} : { exempt: flags.exempt }), fields };
      const answer = (await callEndpoint(target(flags), credentials(flags), 'POST', '/v1/masking/policies', body)) as { policy?: ListedPolicy };
      const who = flags.only.length > 0 ? `only ${flags.only.join(', ')}` : 'everyone';
      const exempt = flags.exempt.length > 0 ? ` except ${flags.exempt.join(', ')}` : '';
      io.stdout(`added masking policy ${answer.policy?.name ?? name}: ${fields.map(describeField).join(', ')} on ${flags.topic.join(', ')}, for ${who}${exempt}; in force from the next fetch\n`);
    }),
  );

  withEndpointOptions(mask.command('list').description('list the masking policies in force: the config file\'s and those added with `mask add`'))
    .option('--json', 'print the policies as JSON')
    .action(
      action(io, async (flags: SessionFlags & { json?: boolean }) => {
        const answer = (await callEndpoint(target(flags), credentials(flags), 'GET', '/v1/masking/policies')) as { policies?: ListedPolicy[]; principalGroups?: Record<string, string[]> };
        const policies = answer.policies ?? [];
        if (flags.json === true) {
          io.stdout(`${JSON.stringify(answer, null, 2)}\n`);
          return;
        }
        if (policies.length === 0) {
          io.stdout('no masking policies: every principal reads records as they were written\n');
          return;
        }
        io.stdout(
          formatTable(
            ['NAME', 'SOURCE', 'TOPICS', 'APPLIES TO', 'EXEMPT', 'FIELDS'],
            policies.map((p) => [p.name, p.source === 'cli' ? `cli (${p.createdBy ?? '?'})` : 'config', p.topics.join(','), p.principals?.join(',') ?? 'everyone', p.exempt?.join(',') ?? '-', p.fields.map(describeField).join(' ')]),
          ),
        );
      }),
    );

  withEndpointOptions(mask.command('remove').description('remove a masking policy added with `mask add` (config policies are removed from the config file)').argument('<name>', 'the policy name')).action(
    action(io, async (name: string, flags: SessionFlags) => {
      await callEndpoint(target(flags), credentials(flags), 'DELETE', `/v1/masking/policies/${encodeURIComponent(name)}`);
      io.stdout(`removed masking policy ${name}: from the next fetch on, its fields are no longer masked\n`);
    }),
  );
}
