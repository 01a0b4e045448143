/**
 * Transactional produce next to idempotent produce, in one run (issue 21). One producer connection,
 * acks=-1, one request in flight, as a transactional producer is between its EndTxn calls:
 * - idempotent N: InitProducerId with no transactional id, then Produce requests of N records spread over
 *   every partition (N / partitions to each), sequences continuing per partition (KIP-98);
 * - transactional N: InitProducerId with a transactional id, then per transaction AddPartitionsToTxn
 *   (every partition), one such Produce of transactional batches, EndTxn(commit), which the broker
 *   answers once the commit markers are durable on every partition.
 * Then the topics of the transactional runs are read back with read_uncommitted and with read_committed.
 * Every response's error codes and throttle time are checked: a refusal or a throttle ends the run.
 * Figures compare within one run on one machine; they are not assertions.
 *
 *   npm run bench:transactions [-- --seconds 5 --partitions 4 --record-bytes 1024 --records 100,1000 --rounds 1 --cpu-prof DIR]
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import type { KafkaConnection } from '../src/client/kafka-connection.js';
import { AddPartitionsToTxn } from '../src/protocol/messages/add-partitions-to-txn.js';
import { EndTxn } from '../src/protocol/messages/end-txn.js';
import { InitProducerId } from '../src/protocol/messages/init-producer-id.js';
import { Produce } from '../src/protocol/messages/produce.js';
import { errorByCode } from '../src/protocol/error-codes.js';
import { BatchOffsets, writeBatchCrc } from '../src/records/batch.js';
import { buildBatchSync } from '../src/records/record.js';
import { connect, consume, createTopic, fmt, liftAnonymousQuotas, load1, median, percentile, plaintextClient, startBrokerProcess, tempDataDir, type LoadOptions } from './load.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    partitions: { type: 'string', default: '4' },
    'record-bytes': { type: 'string', default: '1024' },
    // Records per transaction (and per idempotent request), comma-separated.
    records: { type: 'string', default: '100,1000' },
    // Each pair runs this many times, idempotent first in every other round; the best run of each counts.
    rounds: { type: 'string', default: '1' },
    // A CPU profile of the broker's whole run (node --cpu-prof) written to this directory.
    'cpu-prof': { type: 'string' },
  },
});
const SECONDS = Number(args.seconds);
const PARTITIONS = Number(args.partitions);
const RECORD_BYTES = Number(args['record-bytes']);
const SIZES = args.records.split(',').map(Number);
const ROUNDS = Number(args.rounds);
if (!(SECONDS > 0 && Number.isFinite(SECONDS)) || ![PARTITIONS, RECORD_BYTES, ROUNDS, ...SIZES].every((n) => Number.isInteger(n) && n > 0) || SIZES.some((n) => n % PARTITIONS !== 0)) {
  console.error('bench:transactions: --seconds must be a positive number, --partitions, --record-bytes and --rounds positive integers, --records multiples of --partitions');
  process.exit(2);
}

/**
 * Throws on any error code but NONE (a bench that counts refusals as throughput measures nothing) and on a
 * throttled response (the quotas are lifted below for the bench's user: a throttle would measure a quota).
 */
function check(what: string, response: { readonly throttleTimeMs?: number }, codes: readonly number[]): void {
  const bad = codes.find((c) => c !== 0);
  if (bad !== undefined) throw new Error(`${what} failed: ${errorByCode(bad)?.name ?? 'unknown'} (${bad})`);
  if ((response.throttleTimeMs ?? 0) > 0) throw new Error(`${what} throttled for ${response.throttleTimeMs} ms: a quota is measured, not the broker`);
}

interface Run {
  readonly records: number;
  readonly units: number;
  readonly seconds: number;
  readonly p50: number;
  readonly p99: number;
  readonly phases: string;
  readonly brokerCpu: number;
}

/** One producer for SECONDS: idempotent requests of `n` records, or transactions of `n` records. */
async function producer(conn: KafkaConnection, topic: string, n: number, transactionalId: string | null, broker: { cpuSeconds(): number }): Promise<Run> {
  const init = await conn.request(InitProducerId, { transactionalId, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
  check('InitProducerId', init, [init.errorCode]);
  const { producerEpoch } = init;
  const producerId = init.producerId ?? -1n;
  if (producerId < 0n) throw new Error('InitProducerId gave no producer id');
  const perPartition = n / PARTITIONS;
  const value = Buffer.alloc(RECORD_BYTES, 0x61);
  // Every request writes perPartition records to every partition, so each partition's next sequence is
  // the same number: one batch serves them all, its baseSequence (inside the CRC) rewritten per request.
  const batch = buildBatchSync({ records: Array.from({ length: perPartition }, () => ({ value })), producerId, producerEpoch, baseSequence: 0, transactional: transactionalId !== null });
  const partitions = Array.from({ length: PARTITIONS }, (_, i) => i);
  const produceBody = { transactionalId, acks: -1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: partitions.map((index) => ({ index, records: batch })) }] };
  const txn = { transactionalId: transactionalId ?? '', producerId, producerEpoch };
  // Per unit (a request, or a transaction) and per API: where a transaction's time goes.
  const times = { unit: [] as number[], add: [] as number[], produce: [] as number[], end: [] as number[] };
  const timed = async <T>(phase: 'add' | 'produce' | 'end', request: Promise<T>): Promise<T> => {
    const sent = performance.now();
    const response = await request;
    times[phase].push(performance.now() - sent);
    return response;
  };
  const cpuBefore = broker.cpuSeconds();
  const start = performance.now();
  const end = start + SECONDS * 1000;
  let units = 0;
  while (performance.now() < end) {
    const sent = performance.now();
    if (transactionalId !== null) {
      const added = await timed('add', conn.request(AddPartitionsToTxn, { v3AndBelowTransactionalId: transactionalId, v3AndBelowProducerId: producerId, v3AndBelowProducerEpoch: producerEpoch, v3AndBelowTopics: [{ name: topic, partitions }] }));
      check('AddPartitionsToTxn', added, (added.resultsByTopicV3AndBelow ?? []).flatMap((t) => t.resultsByPartition.map((p) => p.partitionErrorCode)));
    }
    const produced = await timed('produce', conn.request(Produce, produceBody));
    check('Produce', produced, produced.responses.flatMap((t) => t.partitionResponses.map((p) => p.errorCode)));
    if (transactionalId !== null) {
      const ended = await timed('end', conn.request(EndTxn, { ...txn, committed: true }));
      check('EndTxn', ended, [ended.errorCode]);
    }
    times.unit.push(performance.now() - sent);
    units++;
    batch.writeInt32BE(units * perPartition, BatchOffsets.baseSequence);
    writeBatchCrc(batch);
  }
  const seconds = (performance.now() - start) / 1000;
  const sorted = Float64Array.from(times.unit).sort();
  return {
    records: units * perPartition * PARTITIONS,
    units,
    seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    phases: `AddPartitionsToTxn ${median(times.add).toFixed(2)}, Produce ${median(times.produce).toFixed(2)}, EndTxn ${median(times.end).toFixed(2)} ms (medians)`,
    brokerCpu: broker.cpuSeconds() - cpuBefore,
  };
}

const { dataDir, remove: removeDataDir } = tempDataDir('parapet-bench-txn-');
const broker = await startBrokerProcess(['--insecure', '--data-dir', dataDir], args['cpu-prof'] === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', args['cpu-prof']]);
const client = plaintextClient(broker.port);
const load: LoadOptions = { seconds: SECONDS, connections: 1, partitions: PARTITIONS, inFlight: 1, client };
try {
  // The default quotas would cap the one producer below the broker's speed and make runs of N = 1000
  // pause a second at a time (the throttle).
  await liftAnonymousQuotas(client);
  console.log(`transactional vs idempotent produce: 1 connection, 1 request in flight, acks=-1, ${PARTITIONS} partitions, ${RECORD_BYTES}-byte values, ${SECONDS} s per run, best of ${ROUNDS}; load average ${load1().toFixed(1)}`);
  console.log(`${'scenario'.padEnd(26)} ${'records/s'.padStart(10)} ${'MB/s'.padStart(10)} ${'txn/s'.padStart(10)} ${'p50 ms'.padStart(10)} ${'p99 ms'.padStart(10)} ${'CPU s/GB'.padStart(10)}  vs idempotent (same N)`);
  // The topic of each N's last transactional run, read back below.
  const txnTopics = new Map<number, string>();
  let topicNo = 0;
  for (const n of SIZES) {
    const best: Record<'idempotent' | 'transactional', Run | undefined> = { idempotent: undefined, transactional: undefined };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? (['idempotent', 'transactional'] as const) : (['transactional', 'idempotent'] as const);
      for (const kind of order) {
        // Each run starts with the page cache's dirty pages written out, so none pays for another's writeback.
        execFileSync('sync');
        const topic = `bench-${kind}-${n}-${topicNo++}`;
        await createTopic(client, topic, PARTITIONS);
        const conn = await connect(client);
        try {
          const run = await producer(conn, topic, n, kind === 'transactional' ? `bench-txn-${topic}` : null, broker);
          const previous = best[kind];
          if (previous === undefined || run.records / run.seconds > previous.records / previous.seconds) best[kind] = run;
        } finally {
          conn.close();
        }
        if (kind === 'transactional') txnTopics.set(n, topic);
      }
    }
    const base = best.idempotent;
    for (const [kind, run] of Object.entries(best)) {
      if (run === undefined || base === undefined) continue;
      const perSec = run.records / run.seconds;
      const bytes = run.records * RECORD_BYTES;
      const ratio = kind === 'idempotent' ? '' : `${((100 * perSec) / (base.records / base.seconds)).toFixed(0)}%`;
      console.log(`${`${kind}, N = ${n}`.padEnd(26)} ${fmt(perSec)} ${fmt(bytes / run.seconds / 1e6, 1)} ${fmt(run.units / run.seconds)} ${fmt(run.p50, 2)} ${fmt(run.p99, 2)} ${fmt(run.brokerCpu / (bytes / 1e9), 1)}  ${ratio}`);
      if (kind === 'transactional') console.log(`  ${run.phases}`);
    }
  }
  console.log('(txn/s of an idempotent run: its produce requests of N records a second; p50/p99: one request, or one transaction from AddPartitionsToTxn to EndTxn)');

  console.log(`\nconsume everything a transactional run wrote, one connection per partition (best of 2 each, alternating)`);
  console.log(`${'topic'.padEnd(26)} ${'MB read'.padStart(10)} ${'uncommitted'.padStart(12)} ${'committed'.padStart(10)}  ratio`);
  for (const [n, topic] of txnTopics) {
    const mbPerSec = { 0: 0, 1: 0 };
    const bytes = new Set<number>();
    for (const level of [0, 1, 1, 0] as const) {
      const read = await consume({ ...load, isolationLevel: level }, topic);
      mbPerSec[level] = Math.max(mbPerSec[level], read.mbPerSec);
      bytes.add(read.bytes);
    }
    // Every transaction committed, so both levels must read every byte: read_committed stopping short is a fault.
    if (bytes.size !== 1) throw new Error(`${topic}: read_committed and read_uncommitted read different amounts: ${[...bytes].join(', ')}`);
    console.log(`${`transactions of ${n}`.padEnd(26)} ${fmt(([...bytes][0] ?? 0) / 1e6)} ${fmt(mbPerSec[0]).padStart(12)} ${fmt(mbPerSec[1])}  ${((100 * mbPerSec[1]) / mbPerSec[0]).toFixed(0)}%`);
  }
  console.log(`load average ${load1().toFixed(1)}`);
} finally {
  await broker.stop();
  removeDataDir();
}
