/**
 * A small recording server: it answers just enough of the Kafka protocol (ApiVersions, Metadata,
 * Produce) for a real client to send a few messages, and saves every request frame it receives, as
 * the client wrote it, to `<out>/<seq>-<Api>-v<version>.bin`. The frames become test fixtures that
 * prove the codec reads what real clients write (test/unit/protocol/captured-frames.test.ts).
 *
 *   node dist/test/tools/record-frames.js --out test/fixtures/frames/kcat --port 19092
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeRequest, encodeApiVersionsFallback, encodeResponse } from '../../src/protocol/frames.js';
import { ALL_APIS } from '../../src/protocol/messages/index.js';

const { values } = parseArgs({ options: { out: { type: 'string' }, port: { type: 'string', default: '19092' } } });
if (values.out === undefined) throw new Error('--out DIR is required');
const out = values.out;
const port = Number(values.port);
mkdirSync(out, { recursive: true });
let seq = 0;
let nextOffset = 0n;

function answer(socket: Socket, frame: Buffer): void {
  const decoded = decodeRequest(frame);
  const { header } = decoded;
  seq += 1;
  const name = decoded.kind === 'request' ? decoded.api.name : 'ApiVersions';
  writeFileSync(join(out, `${String(seq).padStart(3, '0')}-${name}-v${header.apiVersion}.bin`), frame);
  if (decoded.kind === 'api-versions-fallback') {
    socket.write(Buffer.concat(encodeApiVersionsFallback(header.correlationId)));
    return;
  }
  const { api, body } = decoded;
  const v = header.apiVersion;
  let response: object | null;
  switch (api.name) {
    case 'ApiVersions':
      response = { errorCode: 0, apiKeys: ALL_APIS.map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion })) };
      break;
    case 'Metadata': {
      const requested = (body.topics as { name: string }[] | null) ?? [];
      const names = requested.length > 0 ? requested.map((t) => t.name) : ['fixtures'];
      response = {
        brokers: [{ nodeId: 0, host: '127.0.0.1', port, rack: null }],
        clusterId: 'recording',
        controllerId: 0,
        topics: names.map((name) => ({
          errorCode: 0,
          name,
          partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 0, leaderEpoch: 0, replicaNodes: [0], isrNodes: [0], offlineReplicas: [] }],
        })),
      };
      break;
    }
    case 'Produce': {
      if (body.acks === 0) return; // acks=0 gets no response at all.
      const topics = body.topicData as { name: string; partitionData: { index: number }[] }[];
      response = {
        responses: topics.map((t) => ({
          name: t.name,
          partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode: 0, baseOffset: nextOffset++ })),
        })),
      };
      break;
    }
    default:
      socket.destroy();
      return;
  }
  socket.write(Buffer.concat(encodeResponse(api, v, header.correlationId, response)));
}

const server = createServer((socket) => {
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const size = pending.readInt32BE(0);
      if (pending.length < 4 + size) break;
      const frame = Buffer.from(pending.subarray(4, 4 + size));
      pending = pending.subarray(4 + size);
      try {
        answer(socket, frame);
      } catch (err) {
        console.error(String(err));
        socket.destroy();
        return;
      }
    }
  });
  socket.on('error', () => socket.destroy());
});
server.listen(port, '127.0.0.1', () => {
  console.log(`recording on 127.0.0.1:${port} into ${out}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
