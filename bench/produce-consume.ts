/**
 * Produce/consume benchmark through the real protocol: a broker child process (`parapet start` on a
 * temp data dir) and a load generator in this process, on the same machine, over loopback TCP.
 *
 * Scenarios: 1 KiB records in 16 KiB batches (the Java producer's batch.size) and 64 KiB records (one per
 * 64 KiB batch), each with acks=1 and acks=-1 (fsync group commit included). Then a produce at half the
 * measured maximum rate for latency, and a consume of everything written. Prints MB/s, records/s and
 * p50/p99 produce latency. Figures compare runs on one machine; they are not assertions.
 *
 *   npm run bench:produce [-- --seconds 5 --connections 4 --partitions 4 --in-flight 4]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CreateTopics } from '../src/protocol/messages/create-topics.js';
import { Fetch } from '../src/protocol/messages/fetch.js';
import { Produce } from '../src/protocol/messages/produce.js';
import { readBatchHeader, splitBatches } from '../src/protocol/records/batch.js';
import { buildBatchSync } from '../src/protocol/records/record.js';
import { diskBaseline, loopbackBaseline } from './baseline.js';
import { BenchClient } from './kafka-client.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '4' },
    partitions: { type: 'string', default: '4' },
    'in-flight': { type: 'string', default: '4' },
    // Measure an already running broker instead of starting one (e.g. one started with --cpu-prof).
    port: { type: 'string' },
    only: { type: 'string' },
  },
});
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const PARTITIONS = Number(args.partitions);
const IN_FLIGHT = Number(args['in-flight']);

interface Shape {
  readonly name: string;
  readonly recordBytes: number;
  readonly recordsPerBatch: number;
}
const SHAPES: Shape[] = [
  { name: '1 KiB records, 16 KiB batches', recordBytes: 1024, recordsPerBatch: 16 },
  { name: '64 KiB records, 64 KiB batches', recordBytes: 64 * 1024, recordsPerBatch: 1 },
];

async function startBroker(dataDir: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['dist/src/cli/main.js', 'start', '--listen', '127.0.0.1:0', '--data-dir', dataDir], {
    env: { ...process.env, PARAPET_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on [^:]+:(\d+)/.exec(out);
      if (m?.[1] !== undefined) resolve(Number(m[1]));
    });
    child.once('exit', (code) => {
      reject(new Error(`broker exited with ${String(code)}`));
    });
  });
  child.stdout.resume();
  return {
    port,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => {
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0);
}

interface ProduceResult {
  readonly mbPerSec: number;
  readonly recordsPerSec: number;
  readonly requestsPerSec: number;
  readonly p50: number;
  readonly p99: number;
}

/**
 * Produces from CONNECTIONS connections with IN_FLIGHT pipelined requests each, every request carrying
 * one batch for each partition. With `ratePerSec`, requests are paced to that total rate instead.
 */
async function produce(port: number, topic: string, shape: Shape, acks: number, ratePerSec?: number): Promise<ProduceResult> {
  const value = Buffer.alloc(shape.recordBytes, 0x61);
  const batch = buildBatchSync({ records: Array.from({ length: shape.recordsPerBatch }, () => ({ value })) });
  const body = {
    transactionalId: null,
    acks,
    timeoutMs: 30000,
    topicData: [{ name: topic, partitionData: Array.from({ length: PARTITIONS }, (_, index) => ({ index, records: batch })) }],
  };
  const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => BenchClient.connect('127.0.0.1', port)));
  const latencies: number[] = [];
  let requests = 0;
  const start = performance.now();
  const end = start + SECONDS * 1000;
  const interval = ratePerSec === undefined ? 0 : (1000 * CONNECTIONS) / ratePerSec;
  const worker = async (client: BenchClient, slot: number) => {
    let next = start + (slot * interval) / IN_FLIGHT;
    while (performance.now() < end) {
      if (interval > 0) {
        const wait = next - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        next += interval * IN_FLIGHT;
      }
      const sent = performance.now();
      const { body: response } = await client.request(Produce, 9, body);
      latencies.push(performance.now() - sent);
      requests++;
      const errors = (response as { responses: { partitionResponses: { errorCode: number }[] }[] }).responses
        .flatMap((t) => t.partitionResponses)
        .filter((p) => p.errorCode !== 0);
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
    recordsPerSec: records / seconds,
    requestsPerSec: requests / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
  };
}

/** Reads every partition from offset 0 to its end with one connection per partition. */
async function consume(port: number, topic: string): Promise<{ mbPerSec: number; bytes: number }> {
  const start = performance.now();
  let bytes = 0;
  await Promise.all(
    Array.from({ length: PARTITIONS }, async (_, partition) => {
      const client = await BenchClient.connect('127.0.0.1', port);
      let offset = 0n;
      for (;;) {
        const { body } = await client.request(Fetch, 12, {
          replicaId: -1,
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 52428800,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 8388608 }] }],
          forgottenTopicsData: [],
          rackId: '',
        });
        const p = (body as { responses: { partitions: { records: Buffer | null; highWatermark: bigint; errorCode: number }[] }[] }).responses[0]?.partitions[0];
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

async function createTopic(port: number, name: string): Promise<void> {
  const admin = await BenchClient.connect('127.0.0.1', port);
  await admin.request(CreateTopics, 4, {
    topics: [{ name, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 10000,
    validateOnly: false,
  });
  admin.close();
}

const fmt = (n: number, digits = 0) => n.toFixed(digits).padStart(10);

const dataDir = mkdtempSync(join(tmpdir(), 'parapet-bench-'));
const broker = args.port === undefined ? await startBroker(dataDir) : { port: Number(args.port), stop: () => Promise.resolve() };
try {
  const disk = await diskBaseline(dataDir, PARTITIONS, 256 * 1024, 2);
  const loopback = await loopbackBaseline(2);
  console.log(`machine baseline: write+fdatasync ${PARTITIONS} files × 256 KiB rounds ${disk.toFixed(0)} MB/s; loopback TCP ${loopback.toFixed(0)} MB/s`);
  console.log(`produce/consume through the protocol: ${CONNECTIONS} connections × ${IN_FLIGHT} in flight, ${PARTITIONS} partitions, ${SECONDS} s per run`);
  console.log(`${'scenario'.padEnd(46)} ${'MB/s'.padStart(10)} ${'records/s'.padStart(10)} ${'p50 ms'.padStart(10)} ${'p99 ms'.padStart(10)}`);
  let topicNo = 0;
  for (const shape of SHAPES) {
    for (const acks of [1, -1]) {
      if (args.only !== undefined && !`${shape.name}, acks=${acks}`.includes(args.only)) continue;
      const topic = `bench-${topicNo++}`;
      await createTopic(broker.port, topic);
      const max = await produce(broker.port, topic, shape, acks);
      console.log(`${`${shape.name}, acks=${acks}`.padEnd(46)} ${fmt(max.mbPerSec)} ${fmt(max.recordsPerSec)} ${fmt(max.p50, 2)} ${fmt(max.p99, 2)}`);
      const half = await produce(broker.port, topic, shape, acks, max.requestsPerSec / 2);
      console.log(`${`  at half that rate`.padEnd(46)} ${fmt(half.mbPerSec)} ${fmt(half.recordsPerSec)} ${fmt(half.p50, 2)} ${fmt(half.p99, 2)}`);
      const read = await consume(broker.port, topic);
      console.log(`${`  consume everything (${(read.bytes / 1e6).toFixed(0)} MB)`.padEnd(46)} ${fmt(read.mbPerSec)}`);
    }
  }
} finally {
  await broker.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
