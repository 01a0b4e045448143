import type { Command } from 'commander';
import type { AdminClient } from '../../client/admin.js';
import { formatBrokerAddress } from '../../client/client-config.js';
import { ClientError, KafkaError } from '../../client/errors.js';
import { printable } from '../../client/printable.js';
import type { GroupDescription, GroupMemberDescription } from '../../client/group-admin.js';
import { partitionKey, type TopicPartition } from '../../client/partition-offsets.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { type AdminIo, type ConnectionFlags, withConnectionOptions, loadConfig, withAdmin, action } from './common.js';
import { registerResetOffsets } from './group-reset.js';
import { formatTable } from './table.js';

/** `orders:0,1 payments:2`: the syntax `--topic` of reset-offsets takes. */
function formatAssignment(m: GroupMemberDescription): string {
  if (m.assignment === null) return m.assignmentBytes === 0 ? '-' : `(${m.assignmentBytes} bytes, not the consumer protocol)`;
  if (m.assignment.length === 0) return '-';
  return m.assignment.map((t) => `${t.topic}:${[...t.partitions].sort((a, b) => a - b).join(',')}`).join(' ');
}

/** Kafka reports a group it does not know as Dead (DescribeGroups before v6). */
export function groupExists(group: GroupDescription): boolean {
  return group.state !== 'Dead';
}

export function notFound(groupId: string): ClientError {
  return new ClientError(`consumer group "${groupId}" does not exist`);
}

/** Which member (client id and host) has each partition assigned, for the lag table. */
function ownersOf(group: GroupDescription): Map<string, GroupMemberDescription> {
  const owners = new Map<string, GroupMemberDescription>();
  for (const m of group.members) for (const t of m.assignment ?? []) for (const p of t.partitions) owners.set(partitionKey(t.topic, p), m);
  return owners;
}

interface LagRow {
  readonly topic: string;
  readonly partition: number;
  readonly committed: bigint | undefined;
  readonly end: bigint | undefined;
  readonly owner: GroupMemberDescription | undefined;
}

/**
 * Every partition of each topic the group has a commit for or is assigned: a partition without a
 * commit is shown too (its lag unknown), which is where a consumer would start from its
 * auto.offset.reset.
 */
async function lagRows(admin: AdminClient, group: GroupDescription): Promise<LagRow[]> {
  const committed = await admin.groups.committedOffsets(group.groupId);
  const owners = ownersOf(group);
  const topics = [...new Set([...committed.map((c) => c.topic), ...group.members.flatMap((m) => (m.assignment ?? []).map((t) => t.topic))])].sort();
  const existing = await admin.describePartitions(topics);
  const partitions: TopicPartition[] = [];
  for (const topic of topics) {
    const known = existing.get(topic);
    if (known !== undefined) for (const p of known.partitions) partitions.push({ topic, partition: p.partition });
  }
  // A topic deleted since the commit still shows its committed partitions, without an end offset.
  for (const c of committed) if (!existing.has(c.topic)) partitions.push({ topic: c.topic, partition: c.partition });
  const ends = await admin.listOffsets(
    partitions.filter((p) => existing.has(p.topic)),
    { kind: 'latest' },
  );
  const commits = new Map(committed.map((c) => [partitionKey(c.topic, c.partition), c.offset]));
  return partitions
    .map((p) => {
      const key = partitionKey(p.topic, p.partition);
      return { ...p, committed: commits.get(key), end: ends.get(key) ?? undefined, owner: owners.get(key) };
    })
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

function printLag(io: AdminIo, group: GroupDescription, rows: readonly LagRow[]): void {
  if (rows.length === 0) {
    io.stdout(`consumer group "${printable(group.groupId)}" (${printable(group.state)}) has no committed offsets and no assigned partitions\n`);
    return;
  }
  let total = 0n;
  let unknown = 0;
  const table = rows.map((r) => {
    const lag = r.committed !== undefined && r.end !== undefined ? r.end - r.committed : undefined;
    if (lag === undefined) unknown++;
    else total += lag;
    return [
      r.topic,
      String(r.partition),
      r.committed?.toString() ?? '-',
      r.end?.toString() ?? '-',
      lag?.toString() ?? '-',
      r.owner?.clientId ?? '-',
      r.owner?.clientHost ?? '-',
    ];
  });
  io.stdout(formatTable(['TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG', 'CLIENT-ID', 'HOST'], table));
  const note = unknown === 0 ? '' : ` (${unknown} partition${unknown === 1 ? '' : 's'} without a committed offset or end offset not counted)`;
  io.stdout(`total lag: ${total}${note}\n`);
}

function printDescription(io: AdminIo, g: GroupDescription): void {
  const lines = [
    `group: ${printable(g.groupId)}`,
    `state: ${printable(g.state)}`,
    `protocol type: ${g.protocolType === '' ? '-' : printable(g.protocolType)}`,
    `protocol: ${g.protocol === '' ? '-' : printable(g.protocol)}`,
    `coordinator: broker ${g.coordinator.nodeId} at ${formatBrokerAddress(g.coordinator)}`,
    `members: ${g.members.length}`,
  ];
  io.stdout(`${lines.join('\n')}\n`);
  if (g.members.length === 0) return;
  const statics = g.members.some((m) => m.groupInstanceId !== null);
  const headers = ['MEMBER-ID', ...(statics ? ['INSTANCE-ID'] : []), 'CLIENT-ID', 'HOST', 'ASSIGNMENT'];
  const rows = [...g.members]
    .sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0))
    .map((m) => [m.memberId, ...(statics ? [m.groupInstanceId ?? '-'] : []), m.clientId, m.clientHost, formatAssignment(m)]);
  io.stdout(`\n${formatTable(headers, rows)}`);
}

/** `parapet group list|describe|lag|reset-offsets|delete`, over the Kafka protocol like kafka-consumer-groups.sh. */
export function registerGroupCommands(group: Command, io: AdminIo): void {
  withConnectionOptions(group.command('list').description('list consumer groups with their state and protocol type')).action(
    action(io, async (flags: ConnectionFlags) => {
      const config = loadConfig(flags);
      const groups = await withAdmin(io, config, (admin) => admin.groups.list());
      if (groups.length === 0) return;
      io.stdout(formatTable(['GROUP', 'STATE', 'PROTOCOL-TYPE'], groups.map((g) => [g.groupId, g.state, g.protocolType === '' ? '-' : g.protocolType])));
    }),
  );

  withConnectionOptions(
    group.command('describe').description("show a group's state, protocol and members with their assigned partitions").argument('<group>', 'group id'),
  ).action(
    action(io, async (groupId: string, flags: ConnectionFlags) => {
      const config = loadConfig(flags);
      const described = await withAdmin(io, config, (admin) => admin.groups.describe(groupId));
      if (!groupExists(described)) throw notFound(groupId);
      printDescription(io, described);
    }),
  );

  withConnectionOptions(
    group
      .command('lag')
      .description("per partition: the group's committed offset, the log end offset and the lag between them")
      .argument('<group>', 'group id'),
  ).action(
    action(io, async (groupId: string, flags: ConnectionFlags) => {
      const config = loadConfig(flags);
      await withAdmin(io, config, async (admin) => {
        const described = await admin.groups.describe(groupId);
        const rows = await lagRows(admin, described);
        // A Dead group with committed offsets is one whose offsets outlived it (Kafka keeps them until they expire).
        if (!groupExists(described) && rows.every((r) => r.committed === undefined)) throw notFound(groupId);
        printLag(io, described, rows);
      });
    }),
  );

  registerResetOffsets(group, io);

  withConnectionOptions(group.command('delete').description('delete an empty group and its committed offsets').argument('<group>', 'group id')).action(
    action(io, async (groupId: string, flags: ConnectionFlags) => {
      const config = loadConfig(flags);
      await withAdmin(io, config, async (admin) => {
        try {
          await admin.groups.delete(groupId);
        } catch (err) {
          if (!(err instanceof KafkaError)) throw err;
          if (err.code === ErrorCode.GROUP_ID_NOT_FOUND) throw notFound(groupId);
          if (err.code !== ErrorCode.NON_EMPTY_GROUP) throw err;
          const members = (await admin.groups.describe(groupId).catch(() => undefined))?.members.length;
          const who = members === undefined || members === 0 ? 'it has active members' : `it has ${members} active member${members === 1 ? '' : 's'}`;
          throw new ClientError(
            `cannot delete consumer group "${groupId}": ${who} (NON_EMPTY_GROUP); stop its consumers, or wait until their sessions time out, and try again`,
          );
        }
      });
      io.stdout(`deleted consumer group "${printable(groupId)}"\n`);
    }),
  );
}
