import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { decodeResponse, encodeRequest } from '../../src/protocol/frames.js';
import { ApiVersions } from '../../src/protocol/messages/api-versions.js';
import { Metadata } from '../../src/protocol/messages/metadata.js';
import { startBroker } from '../helpers/broker.js';
import { RawConnection } from '../helpers/raw-client.js';

const run = promisify(execFile);

function request(api: typeof Metadata | typeof ApiVersions, apiVersion: number, correlationId: number, body: object): Buffer {
  return Buffer.concat(encodeRequest(api, { apiVersion, correlationId, clientId: 'test' }, body));
}

describe('server', () => {
  it('kcat lists the broker at the address of the listener it connected to', async (t) => {
    const { bootstrap, port } = await startBroker(t);
    const { stdout } = await run('kcat', ['-b', bootstrap, '-L', '-m', '5']);
    assert.match(stdout, new RegExp(`broker 0 at 127\\.0\\.0\\.1:${port} \\(controller\\)`));
    // Only the broker's own audit topic, marked internal in Metadata.
    assert.match(stdout, /1 topics:\n {2}topic "__audit" with 1 partitions/);
  });

  it('kafka-python bootstraps (ApiVersions v0 + Metadata v0 probe) and sees no topics', async (t) => {
    const { bootstrap } = await startBroker(t);
    const script = `from kafka import KafkaConsumer\nc = KafkaConsumer(bootstrap_servers='${bootstrap}')\nprint(sorted(c.topics()))\nc.close()`;
    const { stdout } = await run('/usr/bin/python3', ['-c', script], { timeout: 30_000 });
    assert.equal(stdout.trim(), '[]');
  });

  it('answers pipelined requests in arrival order, even when split byte by byte', async (t) => {
    const { port } = await startBroker(t);
    const client = await RawConnection.connect(port);
    const frames: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      frames.push(i % 2 === 0 ? request(ApiVersions, 3, i, {}) : request(Metadata, 9, i, { topics: [{ name: `t${i}` }] }));
    }
    const all = Buffer.concat(frames);
    client.socket.write(all.subarray(0, all.length / 2));
    // The rest one byte at a time: frames spanning many TCP chunks must still be cut correctly.
    for (const byte of all.subarray(all.length / 2)) client.socket.write(Buffer.from([byte]));
    const responses = await client.waitFrames(40);
    const ids = responses.map((f) => f.readInt32BE(0));
    assert.deepEqual(ids, Array.from({ length: 40 }, (_, i) => i));
    const meta = decodeResponse(Metadata, 9, responses[1] as Buffer).body as { topics: { name: string; errorCode: number }[] };
    assert.deepEqual(meta.topics.map((x) => [x.name, x.errorCode]), [['t1', 3]]);
    client.close();
  });

  it('advertises only the APIs it serves', async (t) => {
    const { port } = await startBroker(t);
    const client = await RawConnection.connect(port);
    client.socket.write(request(ApiVersions, 3, 1, {}));
    const [frame] = await client.waitFrames(1);
    const body = decodeResponse(ApiVersions, 3, frame as Buffer).body as { apiKeys: { apiKey: number }[] };
    assert.deepEqual(body.apiKeys.map((k) => k.apiKey), [0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 22, 24, 25, 26, 28, 29, 30, 31, 32, 33, 36, 37, 42, 44, 48, 49, 50, 51, 60, 65, 66]);
    client.close();
  });

  it('closes a connection whose size prefix is over the limit, logs why, and keeps serving others', async (t) => {
    const { port, logger } = await startBroker(t, { maxFrameBytes: 1024 });
    const bad = await RawConnection.connect(port);
    bad.socket.write(Buffer.from('7fffffff', 'hex'));
    await bad.closed;
    const good = await RawConnection.connect(port);
    good.socket.write(request(ApiVersions, 0, 9, {}));
    const [frame] = await good.waitFrames(1);
    assert.equal(frame?.readInt32BE(0), 9);
    good.close();
    assert.ok(logger.entries.some((e) => e.level === 'warn' && (e.obj as { reason?: string }).reason === 'FRAME_TOO_LARGE'));
  });

  it('closes on an API it does not serve and on garbage, with typed reasons', async (t) => {
    const { port, logger } = await startBroker(t);
    const unserved = await RawConnection.connect(port);
    // A well-formed request header for API key 1000, which no Kafka version defines.
    unserved.socket.write(Buffer.from('0000000a03e8000000000001ffff', 'hex'));
    await unserved.closed;
    const garbage = await RawConnection.connect(port);
    garbage.socket.write(Buffer.from('000000060003000100000000', 'hex')); // truncated Metadata header
    await garbage.closed;
    const reasons = logger.entries.map((e) => (e.obj as { reason?: string }).reason);
    assert.ok(reasons.includes('UNSUPPORTED_API'), reasons.join());
    assert.ok(reasons.includes('DECODE_ERROR'), reasons.join());
  });

  it('shutdown answers requests already received, then closes', async (t) => {
    const { port, broker } = await startBroker(t);
    const client = await RawConnection.connect(port);
    client.socket.write(Buffer.concat([request(ApiVersions, 3, 1, {}), request(Metadata, 1, 2, { topics: null })]));
    await client.waitFrames(1);
    await broker.close();
    const frames = await client.waitFrames(2);
    assert.deepEqual(frames.map((f) => f.readInt32BE(0)), [1, 2]);
    await client.closed;
  });
});
