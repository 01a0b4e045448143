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
import { parseArgs } from 'node:util';
import { diskBaseline, loopbackBaseline } from './baseline.js';
import { consume, createTopic, fmt, plaintextClient, produce, SHAPES, startBrokerProcess, tempDataDir, type LoadOptions } from './load.js';

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

const { dataDir, remove: removeDataDir } = tempDataDir('parapet-bench-');
const broker = args.port === undefined ? await startBrokerProcess(['--insecure', '--data-dir', dataDir]) : { port: Number(args.port), stop: () => Promise.resolve() };
const load: LoadOptions = { seconds: SECONDS, connections: CONNECTIONS, partitions: PARTITIONS, inFlight: IN_FLIGHT, client: plaintextClient(broker.port) };
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
      await createTopic(load.client, topic, PARTITIONS);
      const max = await produce(load, topic, shape, acks);
      console.log(`${`${shape.name}, acks=${acks}`.padEnd(46)} ${fmt(max.mbPerSec)} ${fmt(max.recordsPerSec)} ${fmt(max.p50, 2)} ${fmt(max.p99, 2)}`);
      const half = await produce(load, topic, shape, acks, max.requestsPerSec / 2);
      console.log(`${`  at half that rate`.padEnd(46)} ${fmt(half.mbPerSec)} ${fmt(half.recordsPerSec)} ${fmt(half.p50, 2)} ${fmt(half.p99, 2)}`);
      const read = await consume(load, topic);
      console.log(`${`  consume everything (${(read.bytes / 1e6).toFixed(0)} MB)`.padEnd(46)} ${fmt(read.mbPerSec)}`);
    }
  }
} finally {
  await broker.stop();
  removeDataDir();
}
