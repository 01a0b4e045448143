import { TEST_ADMIN_ENDPOINT, TEST_ADMIN_LISTEN } from './admin-endpoint.js';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { TEST_AUDIT, TEST_ENCRYPTION_AT_REST } from './test-keys.js';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { INSECURE_DEV_SECURITY } from '../../src/security/config.js';
import { Broker, DEFAULT_BROKER_CONFIG, type BrokerConfig, type BrokerDeps } from '../../src/broker/broker.js';
import type { KafkaConnection } from '../../src/client/kafka-connection.js';
import { Fetch, type FetchResponse } from '../../src/protocol/messages/fetch.js';
import { ListOffsets } from '../../src/protocol/messages/list-offsets.js';
import { Produce, type ProduceResponse } from '../../src/protocol/messages/produce.js';
import type { ApiSchema, RequestOf, ResponseOf } from '../../src/protocol/messages/schema.js';
import { BatchOffsets, LOG_OVERHEAD, splitBatches } from '../../src/records/batch.js';
import { buildBatchSync, readRecordsSync, type RecordInput } from '../../src/records/record.js';
import { recordingLogger } from './broker.js';
import { connect } from './client.js';

/**
 * Helpers for the durability suites (crash, corruption, retention, storage faults): a broker run as a
 * child process (so it can be SIGKILLed), in-process brokers reopened on the same data directory, real
 * clients through /usr/bin/python3 and kcat, and a client that knows batch boundaries.
 */

export const run = promisify(execFile);

/** The Python that has kafka-python and confluent-kafka (not the one on PATH). */
export const PYTHON = '/usr/bin/python3';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Polls `condition` every 10 ms until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const cleanupStacks = new WeakMap<TestContext, (() => unknown)[]>();

/**
 * Registers `fn` to run when the test ends, in reverse order of registration (node:test runs `t.after`
 * hooks first-in first-out, which would remove a data directory before the broker using it closed).
 */
export function onCleanup(t: TestContext, fn: () => unknown): void {
  let stack = cleanupStacks.get(t);
  if (stack === undefined) {
    const fns: (() => unknown)[] = [];
    stack = fns;
    cleanupStacks.set(t, fns);
    t.after(async () => {
      const failures: unknown[] = [];
      for (const f of fns.reverse()) {
        try {
          await f();
        } catch (err) {
          failures.push(err);
        }
      }
      if (failures.length > 0) throw new AggregateError(failures, 'test cleanup failed');
    });
  }
  stack.push(fn);
}

/** A fresh temp directory removed when the test ends (after everything registered later is cleaned up). */
export function tempDataDir(t: TestContext, prefix = 'parapet-durability-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(t, () => {
    rmSync(dir, { recursive: true, force: true });
    // A broker process started on it without a config puts its master key beside it (encryption at rest).
    rmSync(`${dir}-keys`, { recursive: true, force: true });
  });
  return dir;
}

// ---- child processes ------------------------------------------------------------------------------

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A child process whose stdout is kept line by line. */
export interface Child {
  readonly proc: ChildProcess;
  /** Complete stdout lines so far. */
  readonly lines: string[];
  stderr(): string;
  readonly exited: Promise<Exit>;
  /** SIGKILL (or `signal`) and wait for the exit; a no-op when it already exited. */
  kill(signal?: NodeJS.Signals): Promise<Exit>;
}

function track(t: TestContext, proc: ChildProcess): Child {
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  proc.stdout?.setEncoding('utf8');
  proc.stderr?.setEncoding('utf8');
  proc.stdout?.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  proc.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  // 'close' (not 'exit') fires after stdout is drained, so every line the child wrote is in `lines`.
  const exited = new Promise<Exit>((resolve) => {
    proc.on('close', (code, signal) => {
      if (partial !== '') lines.push(partial);
      partial = '';
      resolve({ code, signal });
    });
  });
  const running = () => proc.exitCode === null && proc.signalCode === null;
  const child: Child = {
    proc,
    lines,
    stderr: () => stderr,
    exited,
    kill: async (signal = 'SIGKILL') => {
      if (running()) proc.kill(signal);
      return exited;
    },
  };
  onCleanup(t, () => child.kill());
  return child;
}

export interface ChildBroker extends Child {
  readonly port: number;
  readonly bootstrap: string;
  /** The pino JSON lines logged so far. */
  logs(): { level: number; msg: string; [key: string]: unknown }[];
}

/**
 * `parapet start --listen 127.0.0.1:<port> --data-dir <dataDir>` as a child process, once it listens.
 * Port 0 picks a free one; a fixed port lets clients reconnect to a restarted broker.
 */
export async function spawnBroker(t: TestContext, dataDir: string, logLevel = 'info', port = 0): Promise<ChildBroker> {
  const proc = spawn(process.execPath, [CLI, 'start', ...TEST_ADMIN_LISTEN, '--insecure', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir], {
    env: { ...process.env, PARAPET_LOG_LEVEL: logLevel },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const child = track(t, proc);
  let listening = 0;
  let exited = false;
  void child.exited.then(() => (exited = true));
  await waitFor(
    () => {
      if (exited) throw new Error(`the broker exited before listening: ${child.stderr()}\n${child.lines.join('\n')}`);
      const m = child.lines.map((l) => /^parapet listening on 127\.0\.0\.1:(\d+)/.exec(l)).find((x) => x !== null);
      if (m?.[1] !== undefined) listening = Number(m[1]);
      return listening !== 0;
    },
    'the broker to listen',
    15_000,
  );
  return {
    ...child,
    port: listening,
    bootstrap: `127.0.0.1:${listening}`,
    logs: () =>
      child.lines.filter((l) => l.startsWith('{')).map(parseLogLine),
  };
}

const LEVELS: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** A JSON log line of a broker process, its level name (`"warn"`) as pino's number (40), for comparisons. */
export function parseLogLine(line: string): { level: number; msg: string; [key: string]: unknown } {
  const parsed = JSON.parse(line) as { level: string | number; msg: string; [key: string]: unknown };
  return { ...parsed, level: typeof parsed.level === 'number' ? parsed.level : (LEVELS[parsed.level] ?? 0) };
}

/** A long-running Python script (a producer) whose stdout lines are collected as they come. */
export function spawnPython(t: TestContext, script: string, args: readonly string[]): Child {
  return track(t, spawn(PYTHON, ['-c', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Runs a Python script to completion; returns its stdout. */
export async function runPython(script: string, args: readonly string[] = [], timeoutMs = 30_000): Promise<string> {
  const { stdout } = await run(PYTHON, ['-c', script, ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** One message as a consumer saw it. */
export interface Consumed {
  readonly offset: bigint;
  readonly value: string;
}

/** Reads a whole partition from the beginning with kcat (`-o beginning -e`). */
export async function kcatRead(bootstrap: string, topic: string, partition: number): Promise<Consumed[]> {
  const { stdout } = await run('kcat', ['-b', bootstrap, '-C', '-t', topic, '-p', String(partition), '-o', 'beginning', '-e', '-q', '-f', '%o %s\\n'], {
    timeout: 30_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const space = l.indexOf(' ');
      return { offset: BigInt(l.slice(0, space)), value: l.slice(space + 1) };
    });
}

// ---- on-disk inspection ---------------------------------------------------------------------------

export function partitionDir(dataDir: string, topic: string, partition: number): string {
  return join(dataDir, 'logs', `${topic}-${partition}`);
}

/** Base offsets of the `.log` segment files of a partition, ascending. */
export function segmentBases(dataDir: string, topic: string, partition: number): bigint[] {
  return readdirSync(partitionDir(dataDir, topic, partition))
    .flatMap((n) => {
      const m = /^(\d{20})\.log$/.exec(n);
      return m?.[1] === undefined ? [] : [BigInt(m[1])];
    })
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function segmentPath(dataDir: string, topic: string, partition: number, base: bigint, suffix = '.log'): string {
  return join(partitionDir(dataDir, topic, partition), `${base.toString().padStart(20, '0')}${suffix}`);
}

export function segmentSize(dataDir: string, topic: string, partition: number, base: bigint): number {
  return statSync(segmentPath(dataDir, topic, partition, base)).size;
}

/** A batch as laid out in a segment file. */
export interface StoredBatch {
  readonly position: number;
  readonly size: number;
  readonly baseOffset: bigint;
  readonly lastOffset: bigint;
}

/** Walks a segment file by batch lengths; throws when it ends inside a batch. */
export function batchesInFile(path: string): StoredBatch[] {
  const data = readFileSync(path);
  const out: StoredBatch[] = [];
  let at = 0;
  while (at < data.length) {
    if (data.length - at < LOG_OVERHEAD) throw new Error(`${path}: ${data.length - at} stray bytes at ${at}`);
    const size = LOG_OVERHEAD + data.readInt32BE(at + BatchOffsets.batchLength);
    if (at + size > data.length) throw new Error(`${path}: partial batch at ${at} (${data.length - at} of ${size} bytes)`);
    const baseOffset = data.readBigInt64BE(at + BatchOffsets.baseOffset);
    out.push({ position: at, size, baseOffset, lastOffset: baseOffset + BigInt(data.readInt32BE(at + BatchOffsets.lastOffsetDelta)) });
    at += size;
  }
  return out;
}

// ---- in-process brokers ---------------------------------------------------------------------------

export type RecordingLogger = ReturnType<typeof recordingLogger>;

/**
 * An in-process broker on `dataDir` (which outlives it, unlike startBroker's), closed when the test
 * ends unless closed before with `close()`.
 */
export async function openBroker(
  t: TestContext,
  dataDir: string,
  deps: BrokerDeps = {},
  overrides: Partial<BrokerConfig> = {},
): Promise<{ broker: Broker; port: number; logger: RecordingLogger; close: () => Promise<void> }> {
  const logger = recordingLogger();
  const config: BrokerConfig = { ...DEFAULT_BROKER_CONFIG, listener: { host: '127.0.0.1', port: 0, protocol: 'PLAINTEXT' }, security: INSECURE_DEV_SECURITY, encryptionAtRest: TEST_ENCRYPTION_AT_REST, audit: TEST_AUDIT, dataDir, adminEndpoint: TEST_ADMIN_ENDPOINT, ...overrides };
  // The insecure-setting warnings of this plaintext broker are not what these tests look at in the log.
  const broker = new Broker(config, logger, { events: { emit: () => undefined }, ...deps });
  const { port } = await broker.start();
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= broker.close());
  onCleanup(t, close);
  return { broker, port, logger, close };
}

// ---- the project's client, batch by batch ---------------------------------------------------------

export const Acks = { none: 0, leader: 1, all: -1 } as const;
export const EARLIEST = -2n;
export const LATEST = -1n;

type ProducePartition = ProduceResponse['responses'][number]['partitionResponses'][number];
type FetchPartition = FetchResponse['responses'][number]['partitions'][number];

export interface FetchResult {
  readonly errorCode: number;
  readonly highWatermark: bigint;
  readonly logStartOffset: bigint;
  /** Base offsets of the batches returned. */
  readonly batches: bigint[];
  readonly records: Consumed[];
}

/**
 * The durability suites' client: the project's KafkaConnection with each request at a pinned version,
 * and one batch per partition in each produce, built here, so that tests know exactly which batches
 * exist.
 */
export class BatchClient {
  readonly #connection: KafkaConnection;
  #answered = 0;

  private constructor(connection: KafkaConnection) {
    this.#connection = connection;
  }

  static async open(t: TestContext, port: number): Promise<BatchClient> {
    const connection = await connect(port, { clientId: 'durability-test' });
    onCleanup(t, () => {
      connection.close();
    });
    return new BatchClient(connection);
  }

  async request<A extends ApiSchema>(api: A, version: number, body: RequestOf<A>): Promise<ResponseOf<A>> {
    const response = await this.#connection.request(api, body, version);
    this.#answered++;
    return response;
  }

  /** Produces one batch (built here, so its boundaries are known) to one partition. */
  async produce(topic: string, partition: number, records: readonly RecordInput[], acks: number = Acks.all): Promise<ProducePartition> {
    return this.produceBatch(topic, partition, buildBatchSync({ records }), acks);
  }

  async produceBatch(topic: string, partition: number, batch: Buffer, acks: number = Acks.all): Promise<ProducePartition> {
    const body = await this.request(Produce, 8, {
      transactionalId: null,
      acks,
      timeoutMs: 10_000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
    });
    const p = body.responses[0]?.partitionResponses[0];
    if (p === undefined) throw new Error('empty produce response');
    return p;
  }

  /** Produce to several topic-partitions in one request; answers in request order. */
  async produceMany(acks: number, parts: readonly { topic: string; partition: number; records: readonly RecordInput[] }[]): Promise<(ProducePartition & { topic: string })[]> {
    const body = await this.request(Produce, 8, {
      transactionalId: null,
      acks,
      timeoutMs: 10_000,
      topicData: parts.map((p) => ({ name: p.topic, partitionData: [{ index: p.partition, records: buildBatchSync({ records: p.records }) }] })),
    });
    return body.responses.flatMap((t) => t.partitionResponses.map((p) => ({ ...p, topic: t.name })));
  }

  /** A non-waiting fetch of one partition from `offset`. */
  async fetch(topic: string, partition: number, offset: bigint, maxBytes = 16 * 1024 * 1024): Promise<FetchResult> {
    const body = await this.request(Fetch, 11, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: offset, logStartOffset: -1n, partitionMaxBytes: maxBytes }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
    const p: FetchPartition | undefined = body.responses[0]?.partitions[0];
    if (p === undefined) throw new Error('empty fetch response');
    const batches = p.records === null || p.records.length === 0 ? [] : splitBatches(p.records);
    return {
      errorCode: p.errorCode,
      highWatermark: p.highWatermark,
      logStartOffset: p.logStartOffset ?? -1n,
      batches: batches.map((b) => b.readBigInt64BE(BatchOffsets.baseOffset)),
      records: batches.flatMap((b) => readRecordsSync(b).map((r) => ({ offset: r.offset, value: r.value?.toString('utf8') ?? '' }))),
    };
  }

  /** Reads a partition from `from` to its end, batch after batch. */
  async fetchAll(topic: string, partition: number, from: bigint): Promise<Consumed[]> {
    const out: Consumed[] = [];
    let offset = from;
    for (;;) {
      const r = await this.fetch(topic, partition, offset);
      if (r.errorCode !== 0) throw new Error(`fetch ${topic}-${partition} at ${offset}: error ${r.errorCode}`);
      const fresh = r.records.filter((x) => x.offset >= offset);
      if (fresh.length === 0) return out;
      out.push(...fresh);
      offset = (fresh.at(-1) as Consumed).offset + 1n;
    }
  }

  /** ListOffsets for one partition: LATEST (−1), EARLIEST (−2) or a timestamp; read_committed (1) answers LATEST with the last stable offset. */
  async listOffset(topic: string, partition: number, timestamp: bigint, isolationLevel = 0): Promise<{ errorCode: number; offset: bigint }> {
    const body = await this.request(ListOffsets, 5, {
      replicaId: -1,
      isolationLevel,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp }] }],
    });
    const p = body.topics[0]?.partitions[0];
    if (p === undefined) throw new Error('empty list offsets response');
    return { errorCode: p.errorCode, offset: p.offset ?? -1n };
  }

  /** Requests of this client answered so far. */
  get received(): number {
    return this.#answered;
  }

  close(): void {
    this.#connection.close();
  }
}

/** Records with values `${prefix}-0` … `${prefix}-${n-1}`, each padded to `valueBytes`. */
export function records(prefix: string, n: number, valueBytes = 0, timestamp?: number): RecordInput[] {
  return Array.from({ length: n }, (_, i) => {
    const value = `${prefix}-${i}`.padEnd(valueBytes, '.');
    return timestamp === undefined ? { value } : { value, timestamp };
  });
}
