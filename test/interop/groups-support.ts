import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';
import { DescribeGroups } from '../../src/protocol/messages/describe-groups.js';
import { OffsetFetch } from '../../src/protocol/messages/offset-fetch.js';
import { Produce } from '../../src/protocol/messages/produce.js';
import { buildBatchSync } from '../../src/protocol/records/record.js';
import type { BrokerConfig } from '../../src/broker/broker.js';
import { onCleanup, openBroker, PYTHON, runPython, tempDataDir, type RecordingLogger } from '../helpers/durability.js';
import { withConnection } from '../helpers/client.js';

/**
 * The start every Python group member script shares (its own imports come first and must include
 * json, signal, sys and time): arguments, a SIGTERM handler that ends the poll loop so the client
 * closes (and leaves the group), and `out(...)`, which prints one JSON event line.
 */
export const MEMBER_PRELUDE = String.raw`bootstrap, group, topic, name = sys.argv[1:5]
running = True
def stop(*_):
    global running
    running = False
signal.signal(signal.SIGTERM, stop)
def out(**line):
    line['member'] = name
    line['at'] = time.time() * 1000
    print(json.dumps(line), flush=True)
`;

/**
 * Plumbing for the consumer group interop tests (groups-*.test.ts), through the project's client: the
 * group as the broker reports it (DescribeGroups with the consumer protocol's assignment decoded),
 * committed offsets (OffsetFetch), produce of batches built here (so every test knows exactly which
 * offsets exist); child processes whose stdout is read line by line, kafka-python's admin client, and
 * the delivery check shared by every client: every message processed, and none processed again after
 * its offset was committed.
 */

// ---- the broker -------------------------------------------------------------------------------------

/**
 * An in-process broker for a group test. Unlike startBroker (whose `t.after` runs first, node:test
 * running hooks in registration order), it is closed through {@link onCleanup}, after everything
 * registered later: the clients stop before the broker does. Broker.close() lets each connection
 * finish gracefully and waits for the peer to close its side, so a client still running (KafkaJS
 * keeps a socket open after the broker's FIN) would hold the shutdown forever.
 */
export async function groupBroker(
  t: TestContext,
  overrides: Partial<BrokerConfig> = {},
): Promise<{ port: number; bootstrap: string; logger: RecordingLogger }> {
  const { port, logger } = await openBroker(t, tempDataDir(t, 'parapet-groups-'), {}, overrides);
  return { port, bootstrap: `127.0.0.1:${port}`, logger };
}

// ---- the group as the broker sees it --------------------------------------------------------------

export interface GroupMemberView {
  readonly memberId: string;
  readonly clientId: string;
  /** topic → partitions, from the consumer protocol's assignment bytes. */
  readonly assignment: ReadonlyMap<string, readonly number[]>;
}

export interface GroupView {
  readonly state: string;
  readonly protocolType: string;
  readonly protocol: string;
  readonly members: readonly GroupMemberView[];
}

/**
 * Decodes a consumer protocol assignment (ConsumerProtocolAssignment: int16 version, [topic, [int32
 * partition]], bytes user data), which every client here uses for protocol type "consumer".
 */
export function decodeAssignment(bytes: Buffer): Map<string, number[]> {
  const out = new Map<string, number[]>();
  if (bytes.length === 0) return out;
  let at = 2; // version
  const topics = bytes.readInt32BE(at);
  at += 4;
  for (let i = 0; i < topics; i++) {
    const nameLength = bytes.readInt16BE(at);
    at += 2;
    const topic = bytes.toString('utf8', at, at + nameLength);
    at += nameLength;
    const count = bytes.readInt32BE(at);
    at += 4;
    const partitions: number[] = [];
    for (let j = 0; j < count; j++, at += 4) partitions.push(bytes.readInt32BE(at));
    out.set(topic, partitions.sort((a, b) => a - b));
  }
  return out;
}

export async function describeGroup(port: number, groupId: string): Promise<GroupView> {
  return withConnection(port, async (connection) => {
    const body = await connection.request(DescribeGroups, { groups: [groupId] }, 1);
    const g = body.groups[0];
    assert.ok(g !== undefined);
    assert.equal(g.errorCode, 0);
    return {
      state: g.groupState,
      protocolType: g.protocolType,
      protocol: g.protocolData,
      members: g.members.map((m) => ({ memberId: m.memberId, clientId: m.clientId, assignment: decodeAssignment(m.memberAssignment) })),
    };
  });
}

/** Polls `probe` every 50 ms until it returns something other than undefined; fails after `timeoutMs`. */
export async function pollUntil<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Waits until the group is Stable with `members` members whose assignments of `topic` are disjoint
 * and together cover its `partitions` partitions; returns that view.
 */
export async function waitForStableGroup(port: number, groupId: string, topic: string, partitions: number, members: number, timeoutMs = 20_000): Promise<GroupView> {
  let last: GroupView | undefined;
  try {
    return await pollUntil(
      async () => {
        last = await describeGroup(port, groupId);
        return isBalanced(last, topic, partitions, members) ? last : undefined;
      },
      `group ${groupId} Stable with ${members} member(s) sharing ${partitions} partitions`,
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last, (_k, v: unknown): unknown => (v instanceof Map ? (Object.fromEntries(v) as unknown) : v))}`);
  }
}

function isBalanced(view: GroupView, topic: string, partitions: number, members: number): boolean {
  if (view.state !== 'Stable' || view.members.length !== members) return false;
  const owned = view.members.flatMap((m) => m.assignment.get(topic) ?? []);
  return owned.length === partitions && new Set(owned).size === partitions && owned.every((p) => p >= 0 && p < partitions);
}

/** The partitions of `topic` assigned to the member with this client id. */
export function partitionsOf(view: GroupView, clientId: string, topic: string): number[] {
  const member = view.members.filter((m) => m.clientId === clientId);
  assert.equal(member.length, 1, `one member with client id ${clientId}`);
  return [...(member[0]?.assignment.get(topic) ?? [])];
}

/** Committed offsets of partitions 0..partitions−1 (−1 where none), with OffsetFetch v1 (kafka-python's). */
export async function committedOffsets(port: number, groupId: string, topic: string, partitions: number): Promise<number[]> {
  return withConnection(port, async (connection) => {
    const body = await connection.request(OffsetFetch, { groupId, topics: [{ name: topic, partitionIndexes: Array.from({ length: partitions }, (_, i) => i) }] }, 1);
    const found = body.topics?.[0]?.partitions ?? [];
    return Array.from({ length: partitions }, (_, i) => Number(found.find((p) => p.partitionIndex === i)?.committedOffset ?? -1n));
  });
}

// ---- producing --------------------------------------------------------------------------------------

/** A produced message: where it went and its value. */
export interface Produced {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

/**
 * Produces `perPartition` messages to each of `partitions` partitions (one batch each, acks=all)
 * with values `${prefix}-${partition}-${i}`; returns them with their offsets.
 */
export async function produceRound(port: number, topic: string, partitions: number, perPartition: number, prefix: string): Promise<Produced[]> {
  return withConnection(port, async (connection) => {
    const values = Array.from({ length: partitions }, (_, p) => Array.from({ length: perPartition }, (_, i) => `${prefix}-${p}-${i}`));
    const body = await connection.request(
      Produce,
      {
        transactionalId: null,
        acks: -1,
        timeoutMs: 10_000,
        topicData: [{ name: topic, partitionData: values.map((v, index) => ({ index, records: buildBatchSync({ records: v.map((value) => ({ value })) }) })) }],
      },
      8,
    );
    const out: Produced[] = [];
    for (const r of body.responses[0]?.partitionResponses ?? []) {
      assert.equal(r.errorCode, 0, `produce to ${topic}-${r.index}`);
      (values[r.index] ?? []).forEach((value, i) => out.push({ partition: r.index, offset: Number(r.baseOffset) + i, value }));
    }
    assert.equal(out.length, partitions * perPartition);
    return out;
  });
}

// ---- child processes --------------------------------------------------------------------------------

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A child process whose stdout lines are kept as they arrive; killed (SIGKILL) when the test ends. */
export interface LineChild {
  readonly proc: ChildProcess;
  readonly lines: string[];
  stderr(): string;
  readonly exited: Promise<Exit>;
  /** Sends `signal` (SIGKILL by default) if it still runs, and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

export function spawnLines(t: TestContext, command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): LineChild {
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    // Bounded: librdkafka's debug output can be large, and only the end is useful in a failure.
    stderr = (stderr + chunk).slice(-64 * 1024);
  });
  const exited = new Promise<Exit>((resolve) => {
    // 'close' fires after stdout is drained, so every line is in `lines` by then.
    proc.on('close', (code, signal) => {
      if (partial !== '') lines.push(partial);
      partial = '';
      resolve({ code, signal });
    });
  });
  const stop = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<Exit> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    return exited;
  };
  onCleanup(t, () => stop());
  return { proc, lines, stderr: () => stderr, exited, stop };
}

/** A Python script under /usr/bin/python3 (which has kafka-python and confluent-kafka), unbuffered. */
export function spawnPythonLines(t: TestContext, script: string, args: readonly string[]): LineChild {
  return spawnLines(t, PYTHON, ['-u', '-c', script, ...args]);
}

/** JSON lines of a child, skipping anything else it printed. */
export function jsonLines<T>(child: LineChild): T[] {
  return child.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as T);
}

// ---- kafka-python's admin client ----------------------------------------------------------------

const ADMIN = String.raw`
import json, sys
from kafka.admin import KafkaAdminClient
job = json.loads(sys.argv[1])
a = KafkaAdminClient(bootstrap_servers=job['bootstrap'], client_id='groups-admin')
out = {}
if 'list' in job:
    out['list'] = sorted([g, t] for g, t in a.list_consumer_groups())
if 'describe' in job:
    out['describe'] = [{
        'group': d.group, 'error': d.error_code, 'state': d.state, 'protocolType': d.protocol_type, 'protocol': d.protocol,
        'members': sorted(({
            'memberId': m.member_id, 'clientId': m.client_id,
            'subscription': list(m.member_metadata.subscription) if m.member_metadata else [],
            'assignment': {t: sorted(ps) for t, ps in m.member_assignment.assignment} if m.member_assignment else {},
        } for m in d.members), key=lambda m: m['clientId']),
    } for d in a.describe_consumer_groups(job['describe'])]
if 'offsets' in job:
    out['offsets'] = {'%s:%d' % (tp.topic, tp.partition): om.offset for tp, om in a.list_consumer_group_offsets(job['offsets']).items()}
if 'delete' in job:
    out['delete'] = [[g, e.__name__] for g, e in a.delete_consumer_groups(job['delete'])]
a.close()
print(json.dumps(out))
`;

export interface AdminDescription {
  readonly group: string;
  readonly error: number;
  readonly state: string;
  readonly protocolType: string;
  readonly protocol: string;
  readonly members: { memberId: string; clientId: string; subscription: string[]; assignment: Record<string, number[]> }[];
}

export interface AdminResult {
  /** [group, protocol type], sorted. */
  readonly list?: [string, string][];
  readonly describe?: AdminDescription[];
  /** "topic:partition" → committed offset. */
  readonly offsets?: Record<string, number>;
  /** [group, kafka-python error class name] ("NoError" when deleted). */
  readonly delete?: [string, string][];
}

/** One kafka-python KafkaAdminClient session doing what `job` asks (list, describe, offsets, delete). */
export async function pyAdmin(
  bootstrap: string,
  job: { list?: true; describe?: string[]; offsets?: string; delete?: string[] },
): Promise<AdminResult> {
  return JSON.parse(await runPython(ADMIN, [JSON.stringify({ bootstrap, ...job })])) as AdminResult;
}

// ---- the delivery check -------------------------------------------------------------------------

/** A message a member processed, at `at` (ms since the epoch, the member's clock: one machine). */
export interface ProcessedEvent {
  readonly member: string;
  readonly partition: number;
  readonly offset: number;
  readonly at: number;
}

/** A commit the broker acknowledged: `offset` is the next offset to read, acknowledged by `at`. */
export interface CommitEvent {
  readonly member: string;
  readonly partition: number;
  readonly offset: number;
  readonly at: number;
}

/**
 * The at-least-once contract of consumer groups, checked over a run:
 * - every produced message was processed by some member;
 * - no message was processed after a commit past it had been acknowledged (by any member): that
 *   would be a redelivery of committed work, i.e. a new owner started before the committed offset;
 * - the committed offset of each partition never went backwards, in acknowledgement order.
 * Processing a message twice before any commit covered it is allowed (a member killed or fenced
 * before committing); the tests that expect none also count `duplicates`.
 */
export function checkDelivery(produced: readonly Produced[], processed: readonly ProcessedEvent[], commits: readonly CommitEvent[]): { duplicates: number } {
  const key = (p: number, o: number) => `${p}:${o}`;
  const seen = new Map<string, number>();
  for (const e of processed) seen.set(key(e.partition, e.offset), (seen.get(key(e.partition, e.offset)) ?? 0) + 1);
  const missing = produced.filter((m) => !seen.has(key(m.partition, m.offset))).map((m) => key(m.partition, m.offset));
  assert.deepEqual(missing, [], 'every produced message was processed');

  const byPartition = new Map<number, CommitEvent[]>();
  for (const c of [...commits].sort((a, b) => a.at - b.at)) {
    const list = byPartition.get(c.partition) ?? [];
    list.push(c);
    byPartition.set(c.partition, list);
  }
  for (const [partition, list] of byPartition) {
    for (let i = 1; i < list.length; i++) {
      const [prev, cur] = [list[i - 1] as CommitEvent, list[i] as CommitEvent];
      assert.ok(cur.offset >= prev.offset, `partition ${partition}: commit ${cur.offset} by ${cur.member} after ${prev.offset} by ${prev.member}`);
    }
  }
  const afterCommit = processed.flatMap((e) => {
    const covering = (byPartition.get(e.partition) ?? []).find((c) => c.at < e.at && c.offset > e.offset);
    return covering === undefined ? [] : [`${key(e.partition, e.offset)} by ${e.member} at ${e.at}, committed ${covering.offset} by ${covering.member} at ${covering.at}`];
  });
  assert.deepEqual(afterCommit, [], 'no message processed after its offset was committed');
  return { duplicates: processed.length - seen.size };
}
