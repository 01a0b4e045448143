import { InvalidArgumentError, Option, type Command } from 'commander';
import type { AdminClient } from '../../client/admin.js';
import { ClientError, KafkaError } from '../../client/errors.js';
import type { OffsetToCommit } from '../../client/group-admin.js';
import { partitionKey, type OffsetSpec, type TopicPartition } from '../../client/partition-offsets.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { type AdminIo, type ConnectionFlags, withConnectionOptions, loadConfig, withAdmin, action, collect, UsageError } from './common.js';
import { formatTable } from './table.js';
import { printable } from '../../client/printable.js';

interface ResetFlags extends ConnectionFlags {
  readonly topic: string[];
  readonly allTopics?: boolean;
  readonly toEarliest?: boolean;
  readonly toLatest?: boolean;
  readonly toOffset?: bigint;
  readonly toDatetime?: number;
  readonly dryRun?: boolean;
  readonly execute?: boolean;
}

type Target = { readonly kind: 'earliest' } | { readonly kind: 'latest' } | { readonly kind: 'offset'; readonly offset: bigint } | { readonly kind: 'datetime'; readonly timestampMs: number };

/** A topic and the partitions named after it (`orders:0,2`), or all of them (`orders`). */
interface TopicScope {
  readonly topic: string;
  readonly partitions: readonly number[] | 'all';
}

interface PlannedReset {
  readonly topic: string;
  readonly partition: number;
  readonly current: bigint | undefined;
  readonly next: bigint;
}

const MAX_OFFSET = 2n ** 63n - 1n;

function offsetArg(value: string): bigint {
  if (!/^\d+$/.test(value.trim()) || BigInt(value.trim()) > MAX_OFFSET) throw new InvalidArgumentError('an offset is an integer from 0 to 2^63-1.');
  return BigInt(value.trim());
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * ISO-8601 date and time, as kafka-consumer-groups.sh --to-datetime takes it: seconds and
 * milliseconds optional, then `Z` or an offset (`+02:00`, `+0200`); without one, local time.
 */
export function parseDatetime(value: string): number {
  const text = value.trim();
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(text);
  let ms = Number.NaN;
  if (m !== null) {
    // Optional groups that did not match (the seconds) are undefined, whatever the type says.
    const fields: (string | undefined)[] = m.slice(1, 7);
    const [year, month, day, hour, minute, second] = fields.map((s) => Number(s ?? 0)) as [number, number, number, number, number, number];
    // Date.parse rolls 2024-02-31 over into March: check the fields first.
    const inRange = month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month) && hour < 24 && minute < 60 && second < 60;
    const zone = m[7];
    // Date.parse wants the offset with a colon; without a zone it reads local time, as Kafka's tool does.
    const normalized = zone === undefined ? text : `${text.slice(0, -zone.length)}${zone.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')}`;
    if (inRange) ms = Date.parse(normalized);
  }
  if (!Number.isFinite(ms) || ms < 0) {
    throw new InvalidArgumentError('expected an ISO-8601 date and time after 1970, e.g. 2024-05-01T12:00:00Z, 2024-05-01T14:00:00+02:00, or 2024-05-01T12:00:00 for local time.');
  }
  return ms;
}

function parseScope(spec: string): TopicScope {
  const colon = spec.indexOf(':');
  const topic = colon < 0 ? spec : spec.slice(0, colon);
  if (topic === '') throw new UsageError(`--topic expects NAME or NAME:PARTITION,PARTITION… (got "${spec}")`);
  if (colon < 0) return { topic, partitions: 'all' };
  const list = spec.slice(colon + 1).split(',');
  if (list.some((p) => !/^\d+$/.test(p.trim()))) throw new UsageError(`--topic ${spec}: partitions are comma-separated numbers, e.g. ${topic}:0,2`);
  return { topic, partitions: list.map((p) => Number(p.trim())) };
}

function targetOf(flags: ResetFlags): Target {
  const targets: Target[] = [];
  if (flags.toEarliest === true) targets.push({ kind: 'earliest' });
  if (flags.toLatest === true) targets.push({ kind: 'latest' });
  if (flags.toOffset !== undefined) targets.push({ kind: 'offset', offset: flags.toOffset });
  if (flags.toDatetime !== undefined) targets.push({ kind: 'datetime', timestampMs: flags.toDatetime });
  const [target] = targets;
  if (target === undefined || targets.length > 1) throw new UsageError('give exactly one of --to-earliest, --to-latest, --to-offset N, --to-datetime TIME');
  return target;
}

/** The partitions to reset: those named by --topic (checked against the topics), or all committed ones. */
async function partitionsInScope(admin: AdminClient, scopes: readonly TopicScope[], committed: ReadonlyMap<string, TopicPartition>): Promise<TopicPartition[]> {
  if (scopes.length === 0) {
    if (committed.size === 0) throw new ClientError('the group has no committed offsets, so --all-topics names nothing: name the topics with --topic');
    return [...committed.values()];
  }
  const topics = await admin.describePartitions([...new Set(scopes.map((s) => s.topic))]);
  const chosen = new Map<string, TopicPartition>();
  for (const scope of scopes) {
    const known = topics.get(scope.topic);
    if (known === undefined) throw new ClientError(`topic "${scope.topic}" does not exist`);
    const count = known.partitions.length;
    for (const partition of scope.partitions === 'all' ? known.partitions.map((p) => p.partition) : scope.partitions) {
      if (!known.partitions.some((p) => p.partition === partition)) {
        throw new ClientError(`topic "${scope.topic}" has no partition ${partition} (it has ${count}: 0-${count - 1})`);
      }
      chosen.set(partitionKey(scope.topic, partition), { topic: scope.topic, partition });
    }
  }
  return [...chosen.values()];
}

/**
 * New offsets as kafka-consumer-groups.sh computes them: --to-offset is kept within the partition's
 * earliest and latest offsets (with a warning), --to-datetime takes the first record at or after the
 * time, or the end of the partition when every record is older.
 */
async function newOffsets(admin: AdminClient, io: AdminIo, partitions: readonly TopicPartition[], target: Target): Promise<Map<string, bigint>> {
  const lookup = async (spec: OffsetSpec) => admin.listOffsets(partitions, spec);
  const result = new Map<string, bigint>();
  if (target.kind === 'earliest' || target.kind === 'latest') {
    for (const [k, v] of await lookup({ kind: target.kind })) result.set(k, v ?? 0n);
    return result;
  }
  const latest = await lookup({ kind: 'latest' });
  const end = (p: TopicPartition) => latest.get(partitionKey(p.topic, p.partition)) ?? 0n;
  if (target.kind === 'datetime') {
    const found = await lookup({ kind: 'timestamp', timestampMs: target.timestampMs });
    for (const p of partitions) result.set(partitionKey(p.topic, p.partition), found.get(partitionKey(p.topic, p.partition)) ?? end(p));
    return result;
  }
  const earliest = await lookup({ kind: 'earliest' });
  for (const p of partitions) {
    const key = partitionKey(p.topic, p.partition);
    const low = earliest.get(key) ?? 0n;
    const high = end(p);
    let offset = target.offset;
    if (offset < low) {
      io.stderr(`parapet: warning: ${printable(p.topic)}:${p.partition}: offset ${offset} is before the earliest offset, ${low}, which is used instead\n`);
      offset = low;
    } else if (offset > high) {
      io.stderr(`parapet: warning: ${printable(p.topic)}:${p.partition}: offset ${offset} is after the end of the partition, ${high}, which is used instead\n`);
      offset = high;
    }
    result.set(key, offset);
  }
  return result;
}

async function plan(admin: AdminClient, io: AdminIo, groupId: string, scopes: readonly TopicScope[], target: Target): Promise<PlannedReset[]> {
  const group = await admin.groups.describe(groupId);
  if (group.members.length > 0 || (group.state !== 'Empty' && group.state !== 'Dead')) {
    const n = group.members.length;
    throw new ClientError(
      `cannot reset the offsets of consumer group "${groupId}": it has ${n} active member${n === 1 ? '' : 's'} (state ${group.state}); ` +
        'offsets can only be reset while the group is empty: stop its consumers first',
    );
  }
  const committed = await admin.groups.committedOffsets(groupId);
  const current = new Map(committed.map((c) => [partitionKey(c.topic, c.partition), c.offset]));
  const partitions = await partitionsInScope(admin, scopes, new Map(committed.map((c) => [partitionKey(c.topic, c.partition), c])));
  // Kafka's tool allows this too (a group can be prepared before its consumers start), but it is also what a misspelt group id looks like.
  if (group.state === 'Dead' && committed.length === 0) io.stderr(`parapet: warning: consumer group "${printable(groupId)}" does not exist: --execute creates it with these offsets\n`);
  const next = await newOffsets(admin, io, partitions, target);
  return partitions
    .map((p) => {
      const key = partitionKey(p.topic, p.partition);
      return { ...p, current: current.get(key), next: next.get(key) ?? 0n };
    })
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

async function apply(admin: AdminClient, groupId: string, planned: readonly PlannedReset[]): Promise<void> {
  const offsets: OffsetToCommit[] = planned.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.next }));
  try {
    await admin.groups.commitOffsets(groupId, offsets);
  } catch (err) {
    // A member that joined since the check: the coordinator refuses a commit without a generation.
    const joined: readonly number[] = [ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.ILLEGAL_GENERATION, ErrorCode.REBALANCE_IN_PROGRESS];
    if (err instanceof KafkaError && joined.includes(err.code)) {
      throw new ClientError(
        `the coordinator refused the new offsets of consumer group "${groupId}" with ${err.errorName} (${err.code}): a consumer joined the group meanwhile; stop its consumers and run the command again`,
      );
    }
    throw err;
  }
}

/** `parapet group reset-offsets`: kafka-consumer-groups.sh --reset-offsets, for an empty group. */
export function registerResetOffsets(group: Command, io: AdminIo): void {
  withConnectionOptions(
    group
      .command('reset-offsets')
      .description("move an empty group's committed offsets; shows the plan, and applies it only with --execute")
      .argument('<group>', 'group id')
      .option('--topic <name[:partitions]>', 'a topic, or some of its partitions (orders:0,2); repeat for several', collect, [])
      .option('--all-topics', 'every topic the group has committed offsets for')
      .option('--to-earliest', 'to the earliest offset still in each partition')
      .option('--to-latest', 'to the end of each partition (skip everything there now)')
      .addOption(new Option('--to-offset <n>', "to this offset (kept within each partition's earliest and latest offsets)").argParser(offsetArg))
      .addOption(
        new Option('--to-datetime <time>', 'to the first record at or after this ISO-8601 time, e.g. 2024-05-01T12:00:00Z (no zone: local time)').argParser(
          parseDatetime,
        ),
      )
      .addOption(new Option('--dry-run', 'only show the plan (the default)').conflicts('execute'))
      .addOption(new Option('--execute', 'commit the new offsets').conflicts('dryRun')),
  ).action(
    action(io, async (groupId: string, flags: ResetFlags) => {
      const target = targetOf(flags);
      if (flags.topic.length > 0 && flags.allTopics === true) throw new UsageError('give --topic or --all-topics, not both');
      if (flags.topic.length === 0 && flags.allTopics !== true) throw new UsageError('give the partitions to reset: --topic NAME[:PARTITIONS] (repeatable) or --all-topics');
      const scopes = flags.topic.map(parseScope);
      const config = loadConfig(flags);
      await withAdmin(io, config, async (admin) => {
        const planned = await plan(admin, io, groupId, scopes, target);
        io.stdout(formatTable(['TOPIC', 'PARTITION', 'CURRENT', 'NEW'], planned.map((p) => [p.topic, String(p.partition), p.current?.toString() ?? '-', p.next.toString()])));
        if (flags.execute === true) {
          await apply(admin, groupId, planned);
          io.stdout(`committed the new offsets of ${planned.length} partition${planned.length === 1 ? '' : 's'} for consumer group "${printable(groupId)}"\n`);
        } else if (flags.dryRun === true) {
          io.stdout('dry run: nothing was changed\n');
        } else {
          io.stdout('nothing was changed: add --execute to commit these offsets (--dry-run only shows them)\n');
        }
      });
    }),
  );
}
