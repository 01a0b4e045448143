/**
 * Codec benchmark: prints MB/s and µs per message for the two shapes that matter most.
 * - Produce request carrying one 1 MiB record batch: decode and re-encode. Record bytes are sliced on
 *   decode and referenced on encode, so this should run far above memory-copy speed (target ≥ 2 GB/s).
 * - Metadata response for 1,000 topics × 10 partitions: encode (target ≤ 2 ms) and decode.
 * Figures are for comparing runs on one machine, not assertions.
 *
 *   npm run bench:codec
 */
import { randomBytes } from 'node:crypto';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../src/protocol/frames.js';
import { Metadata } from '../src/protocol/messages/metadata.js';
import { Produce } from '../src/protocol/messages/produce.js';

function measure(label: string, bytesPerOp: number, fn: () => void): void {
  for (let i = 0; i < 200; i++) fn(); // warm up the JIT
  const samples: number[] = [];
  for (let round = 0; round < 15; round++) {
    const ops = 200;
    const start = process.hrtime.bigint();
    for (let i = 0; i < ops; i++) fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1000 / ops);
  }
  samples.sort((a, b) => a - b);
  const us = samples[Math.floor(samples.length / 2)] as number;
  const mbs = bytesPerOp / (us / 1e6) / 1e6;
  console.log(`${label.padEnd(48)} ${us.toFixed(2).padStart(10)} µs/msg ${mbs.toFixed(0).padStart(10)} MB/s`);
}

const joined = (chunks: Buffer[]) => Buffer.concat(chunks);

// Produce with a 1 MiB batch (the codec never looks inside records, so random bytes are fine here).
const batch = randomBytes(1024 * 1024);
for (const version of [7, 9]) {
  const body = { transactionalId: null, acks: -1, timeoutMs: 30000, topicData: [{ name: 'bench', partitionData: [{ index: 0, records: batch }] }] };
  const frame = joined(encodeRequest(Produce, { apiVersion: version, correlationId: 1, clientId: 'bench' }, body)).subarray(4);
  const decoded = decodeRequest(frame);
  if (decoded.kind !== 'request') throw new Error('unexpected fallback');
  measure(`Produce v${version} request decode (1 MiB batch)`, frame.length, () => decodeRequest(frame));
  measure(`Produce v${version} request encode (1 MiB batch)`, frame.length, () =>
    encodeRequest(Produce, { apiVersion: version, correlationId: 1, clientId: 'bench' }, decoded.body),
  );
}

// Metadata response: 1,000 topics × 10 partitions.
const metadata = {
  throttleTimeMs: 0,
  brokers: [{ nodeId: 0, host: 'localhost', port: 9092, rack: null }],
  clusterId: 'parapet-bench',
  controllerId: 0,
  topics: Array.from({ length: 1000 }, (_, t) => ({
    errorCode: 0,
    name: `topic-${t}`,
    isInternal: false,
    partitions: Array.from({ length: 10 }, (_, p) => ({
      errorCode: 0,
      partitionIndex: p,
      leaderId: 0,
      leaderEpoch: 0,
      replicaNodes: [0],
      isrNodes: [0],
      offlineReplicas: [],
    })),
  })),
};
for (const version of [1, 9]) {
  const frame = joined(encodeResponse(Metadata, version, 1, metadata));
  measure(`Metadata v${version} response encode (1,000 × 10)`, frame.length, () => encodeResponse(Metadata, version, 1, metadata));
  measure(`Metadata v${version} response decode (1,000 × 10)`, frame.length, () => decodeResponse(Metadata, version, frame.subarray(4)));
}
