/**
 * The load of the produce/consume benchmarks: producers pipelining batches from several connections,
 * and consumers reading partitions to their end, through the project's client (KafkaConnection,
 * whose pipelined requests cost the load generator little CPU: the broker is measured, not the
 * client). The client settings say how to connect, so the same load runs over plaintext or over the
 * full secure path (TLS, SCRAM, ACLs).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminClient } from '../src/client/admin.js';
import { readClientConfig, Secret, type ClientConfig } from '../src/client/client-config.js';
import { connectToCluster, type KafkaConnection } from '../src/client/kafka-connection.js';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../src/protocol/acl.js';
import { Fetch } from '../src/protocol/messages/fetch.js';
import { Produce } from '../src/protocol/messages/produce.js';
import { readBatchHeader, splitBatches } from '../src/records/batch.js';
import { buildBatchSync } from '../src/records/record.js';

export interface LoadOptions {
  readonly seconds: number;
  readonly connections: number;
  readonly partitions: number;
  readonly inFlight: number;
  /** Most bytes one fetch asks for per partition (Kafka clients' max.partition.fetch.bytes). */
  readonly fetchBytes?: number;
  /** How the load connects: plaintext, or TLS + SASL as a user the ACLs allow. */
  readonly client: ClientConfig;
  /**
   * Records with keys, this many distinct ones (a compacted topic refuses records without a key):
   * ⌈keys / records per batch⌉ batches of distinct keys, one after another from request to request.
   * Without it every record is keyless and every request carries the same batch.
   */
  readonly keys?: number;
  /** The consumers' Fetch isolation level: 0 read_uncommitted (default), 1 read_committed (KIP-98: up to the last stable offset). */
  readonly isolationLevel?: 0 | 1;
}

/** One load connection (the consumers' fetches ask for at most 50 MB, within its response limit). */
export function connect(client: ClientConfig): Promise<KafkaConnection> {
  return connectToCluster(client, { clientId: 'bench' });
}

/** Plaintext client settings for a broker on this machine. */
export function plaintextClient(port: number): ClientConfig {
  return { bootstrapServers: [{ host: '127.0.0.1', port }], securityProtocol: 'PLAINTEXT', tls: {} };
}

export interface Shape {
  readonly name: string;
  readonly recordBytes: number;
  readonly recordsPerBatch: number;
}
export const SHAPES: Shape[] = [
  { name: '1 KiB records, 16 KiB batches', recordBytes: 1024, recordsPerBatch: 16 },
  { name: '64 KiB records, 64 KiB batches', recordBytes: 64 * 1024, recordsPerBatch: 1 },
];

/**
 * A data directory for a benchmark's broker, `<new temporary directory>/data`: `parapet start` writes the
 * CA and the master key of encryption at rest beside it (`data-ca`, `data-keys`), and `remove` deletes
 * the temporary directory with all of them.
 */
export function tempDataDir(prefix: string): { dataDir: string; remove: () => void } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  return {
    dataDir: join(root, 'data'),
    remove: () => {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * Starts `parapet start <args>` as a child process (with `nodeArgs` for node itself, e.g. `--cpu-prof`),
 * logging at `logLevel` (its log lines are in `output()`); resolves once it prints where it listens.
 */
export async function startBrokerProcess(
  args: readonly string[],
  nodeArgs: readonly string[] = [],
  logLevel = 'warn',
): Promise<{ port: number; output: () => string; cpuSeconds: () => number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [...nodeArgs, 'dist/src/cli/main.js', 'start', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', ...args], {
    env: { ...process.env, PARAPET_LOG_LEVEL: logLevel },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on [^:]+:(\d+)/.exec(out);
      if (m?.[1] !== undefined) resolve(Number(m[1]));
    });
    child.once('exit', (code) => {
      reject(new Error(`broker exited with ${String(code)}`));
    });
  });
  const pid = child.pid;
  return {
    port,
    output: () => out,
    cpuSeconds: () => (pid === undefined ? NaN : processCpuSeconds(pid)),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => {
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat (Linux); NaN elsewhere.
 * CPU per byte moves much less than throughput when other processes take turns on the machine.
 */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count from the `)` that ends it. Field 3 comes first
    // after it; utime and stime are fields 14 and 15, in clock ticks (USER_HZ, 100 on Linux).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

export function percentile(sorted: Float64Array, p: number): number {
  return sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0);
}

export interface ProduceResult {
  readonly mbPerSec: number;
  /** Record data produced (values only). */
  readonly bytes: number;
  readonly recordsPerSec: number;
  readonly requestsPerSec: number;
  readonly p50: number;
  readonly p99: number;
}

/**
 * Produces from CONNECTIONS connections with IN_FLIGHT pipelined requests each, every request carrying
 * one batch for each partition. With `ratePerSec`, requests are paced to that total rate instead.
 */
export async function produce(o: LoadOptions, topic: string, shape: Shape, acks: number, ratePerSec?: number): Promise<ProduceResult> {
  const { seconds: SECONDS, connections: CONNECTIONS, partitions: PARTITIONS, inFlight: IN_FLIGHT } = o;
  const value = Buffer.alloc(shape.recordBytes, 0x61);
  const batches =
    o.keys === undefined
      ? [buildBatchSync({ records: Array.from({ length: shape.recordsPerBatch }, () => ({ value })) })]
      : Array.from({ length: Math.ceil(o.keys / shape.recordsPerBatch) }, (_, b) =>
          buildBatchSync({ records: Array.from({ length: shape.recordsPerBatch }, (_, r) => ({ key: Buffer.from(`key-${b * shape.recordsPerBatch + r}`), value })) }),
        );
  const bodies = batches.map((batch) => ({
    transactionalId: null,
    acks,
    timeoutMs: 30000,
    topicData: [{ name: topic, partitionData: Array.from({ length: PARTITIONS }, (_, index) => ({ index, records: batch })) }],
  }));
  const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => connect(o.client)));
  const latencies: number[] = [];
  let requests = 0;
  let nextBody = 0;
  const start = performance.now();
  const end = start + SECONDS * 1000;
  const interval = ratePerSec === undefined ? 0 : (1000 * CONNECTIONS) / ratePerSec;
  const worker = async (client: KafkaConnection, slot: number) => {
    let next = start + (slot * interval) / IN_FLIGHT;
    while (performance.now() < end) {
      if (interval > 0) {
        const wait = next - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        next += interval * IN_FLIGHT;
      }
      const body = bodies[nextBody++ % bodies.length] as (typeof bodies)[number];
      const sent = performance.now();
      const response = await client.request(Produce, body);
      latencies.push(performance.now() - sent);
      requests++;
      const errors = response.responses.flatMap((t) => t.partitionResponses).filter((p) => p.errorCode !== 0);
      if (errors.length > 0) throw new Error(`produce failed with error ${errors[0]?.errorCode}`);
    }
  };
  await Promise.all(clients.flatMap((c) => Array.from({ length: IN_FLIGHT }, (_, slot) => worker(c, slot))));
  const seconds = (performance.now() - start) / 1000;
  for (const c of clients) c.close();
  const sorted = Float64Array.from(latencies).sort();
  const records = requests * PARTITIONS * shape.recordsPerBatch;
  return {
    mbPerSec: (records * shape.recordBytes) / seconds / 1e6,
    bytes: records * shape.recordBytes,
    recordsPerSec: records / seconds,
    requestsPerSec: requests / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
  };
}

/**
 * Reads every partition from offset 0 to its end with one connection per partition. With read_committed
 * it stops at the last stable offset, below the end while a transaction is open.
 */
export async function consume(o: LoadOptions, topic: string): Promise<{ mbPerSec: number; bytes: number }> {
  const PARTITIONS = o.partitions;
  // Connections (TLS handshake, SASL) are set up before the clock starts, as for produce.
  const clients = await Promise.all(Array.from({ length: PARTITIONS }, () => connect(o.client)));
  const start = performance.now();
  let bytes = 0;
  await Promise.all(
    clients.map(async (client, partition) => {
      let offset = 0n;
      for (;;) {
        const body = await client.request(Fetch, {
          replicaId: -1,
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 52428800,
          isolationLevel: o.isolationLevel ?? 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: o.fetchBytes ?? 8388608 }] }],
          forgottenTopicsData: [],
          rackId: '',
        });
        const p = body.responses[0]?.partitions[0];
        if (p === undefined || p.errorCode !== 0) throw new Error(`fetch failed: ${String(p?.errorCode)}`);
        const records = p.records ?? Buffer.alloc(0);
        if (records.length === 0) break;
        bytes += records.length;
        // Next offset: after the last whole batch (baseOffset + lastOffsetDelta + 1).
        const last = splitBatches(records, { allowPartialTail: true }).at(-1);
        if (last === undefined) break;
        const header = readBatchHeader(last);
        offset = header.baseOffset + BigInt(header.lastOffsetDelta) + 1n;
        if (offset >= p.highWatermark) break;
      }
      client.close();
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return { mbPerSec: bytes / seconds / 1e6, bytes };
}

/**
 * Lifts the default quotas (64 MiB/s produced, 128 MiB/s fetched, 70% of the event loop per user) for
 * the --insecure connections' user, ANONYMOUS, as an operator would for a heavy producer
 * (docs/security/network.md#quotas): a throttle would measure a quota, not the broker.
 */
export async function liftAnonymousQuotas(client: ClientConfig): Promise<void> {
  const admin = await AdminClient.connect(client, { clientId: 'bench' });
  try {
    await admin.quotas.alter({ user: 'ANONYMOUS' }, { producer_byte_rate: 2 ** 40, consumer_byte_rate: 2 ** 40, request_percentage: 1000 });
  } finally {
    admin.close();
  }
}

/** Creates a topic as the user of `admin` (the super user on a secure broker), with topic `configs`. */
export async function createTopic(admin: ClientConfig, name: string, partitions: number, configs: Readonly<Record<string, string>> = {}): Promise<void> {
  const client = await AdminClient.connect(admin, { clientId: 'bench' });
  try {
    await client.createTopic(name, partitions, configs, 1);
  } finally {
    client.close();
  }
}

/** The settings of the secure path on a broker that `parapet start` initialised in `dataDir`. */
export interface SecurePath {
  /** The admin `parapet start` created (a super user): creates the topics. */
  readonly admin: ClientConfig;
  /** An ordinary user, `bench`, whose every produce and fetch of a `bench-…` topic passes the ACL authorizer. */
  readonly user: ClientConfig;
}

/**
 * Sets up the load's user on a secure broker: a SCRAM-SHA-512 credential for `bench` and prefixed ACLs
 * allowing it WRITE and READ on topics named `bench-…`. It connects as librdkafka and the Java client
 * do to a SASL_SSL listener: TLS verified against the broker's CA, then SCRAM-SHA-512.
 */
export async function secureBenchUser(dataDir: string, port: number): Promise<SecurePath> {
  const admin: ClientConfig = { ...readClientConfig(join(dataDir, 'client', 'admin.properties')), bootstrapServers: [{ host: '127.0.0.1', port }] };
  const client = await AdminClient.connect(admin);
  const password = randomBytes(18).toString('base64url');
  try {
    await client.upsertScramCredential('bench', 'SCRAM-SHA-512', password, 4096);
    for (const operation of ['WRITE', 'READ'] as const) {
      await client.createAcl({ resourceType: ResourceType.TOPIC, resourceName: 'bench-', patternType: PatternType.PREFIXED, principal: 'User:bench', host: '*', operation: AclOperation[operation], permission: AclPermissionType.ALLOW });
    }
  } finally {
    client.close();
  }
  return {
    admin,
    user: {
      bootstrapServers: [{ host: '127.0.0.1', port }],
      securityProtocol: 'SASL_SSL',
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'bench', password: new Secret(password) },
      tls: { caLocation: join(dataDir, 'tls', 'ca.crt') },
    },
  };
}

export const fmt = (n: number, digits = 0): string => n.toFixed(digits).padStart(10);

/**
 * The produce load in one-second runs of `shape`, until `done()` once at least `minSeconds` passed:
 * MB/s of record data over the runs, and `broker`'s CPU seconds over them. `maxSeconds` gives up.
 */
export async function produceWhile(
  o: LoadOptions,
  topic: string,
  shape: Shape,
  acks: number,
  broker: { cpuSeconds(): number },
  minSeconds: number,
  done: () => boolean,
  maxSeconds = Infinity,
): Promise<{ mbPerSec: number; seconds: number; brokerCpu: number }> {
  const cpuBefore = broker.cpuSeconds();
  const started = performance.now();
  let bytes = 0;
  let seconds = 0;
  while (seconds < minSeconds || !done()) {
    if (seconds > maxSeconds) throw new Error(`gave up after ${maxSeconds} s`);
    bytes += (await produce({ ...o, seconds: 1 }, topic, shape, acks)).bytes;
    seconds = (performance.now() - started) / 1000;
  }
  return { mbPerSec: bytes / 1e6 / seconds, seconds, brokerCpu: broker.cpuSeconds() - cpuBefore };
}

/** The median of `values` (NaN when empty). */
export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
};
export const mb = (bytes: number): number => bytes / 1e6;
/** The machine's one-minute load average. */
export const load1 = (): number => loadavg()[0] ?? NaN;



/**
 * The command-line flags of the benchmarks that run the standard load (`bench:secure`, `bench:at-rest`),
 * with `rounds` as each one's default: give to `parseArgs` with a bench's own flags added.
 */
export function loadFlags(rounds: number) {
  return {
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '4' },
    partitions: { type: 'string', default: '4' },
    'in-flight': { type: 'string', default: '4' },
    // Each scenario runs this many times on each side; the best run of each counts (less noise).
    rounds: { type: 'string', default: String(rounds) },
    // Per-partition fetch size; 1 MiB is the Java client's and librdkafka's default.
    'fetch-bytes': { type: 'string', default: '1048576' },
  } as const;
}

/** The load options the flags of {@link loadFlags} give. */
export function loadOptionsOf(args: { seconds: string; connections: string; partitions: string; 'in-flight': string; 'fetch-bytes': string }) {
  return {
    seconds: Number(args.seconds),
    connections: Number(args.connections),
    partitions: Number(args.partitions),
    inFlight: Number(args['in-flight']),
    fetchBytes: Number(args['fetch-bytes']),
  };
}
