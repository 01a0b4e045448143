import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import pkcs11js from 'pkcs11js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { InitProducerId } from '../../src/protocol/messages/init-producer-id.js';
import { CompressionCodec } from '../../src/records/compression.js';
import { buildBatchSync } from '../../src/records/record.js';
import { TokenSession } from '../../src/storage/crypto/pkcs11-session.js';
import { createTopic } from '../helpers/client.js';
import {
  BatchClient,
  kcatRead,
  LATEST,
  openBroker,
  spawnBroker,
  spawnPython,
  tempDataDir,
  waitFor,
  type Child,
  type ChildBroker,
} from '../helpers/durability.js';
import { filesUnder, filesWithMarker, SEALED_MAGIC, segmentFiles, storedEntries, topicIdOf } from '../helpers/sealed-storage.js';
import { TEST_MASTER_KEY_ENV } from '../helpers/test-keys.js';
import { kcat } from './security-support.js';
import { python, recordsByCodec } from './support.js';

/**
 * Encryption at rest seen from outside: real clients (kcat/librdkafka with every codec, KafkaJS,
 * kafka-python, confluent-kafka) produce records carrying a marker, read them back exactly, and then
 * no file of the stopped broker's data directory holds the marker, while every stored entry of the
 * encrypted topics is sealed (magic 0x50). A broker process killed during acks=all produce restarts
 * with every acknowledged record and deduplicates an idempotent retry from its sealed producer state.
 * A broker whose KEKs live in a SoftHSM2 token works the same and leaves no local keyring.
 * Tampering with the files is in test/security/encryption-at-rest-tamper.test.ts.
 */

const RECORDS = 40;

interface Expected {
  readonly key: string;
  readonly value: string;
  readonly headers: readonly (readonly [string, string])[];
}

/**
 * Records of one source whose key, value and header (name and value) carry `marker`. The values repeat
 * a pattern so that every codec makes the batches smaller (librdkafka sends a batch uncompressed when
 * compressing does not). kcat gives every message the same header (`-H`), the others one per record.
 */
function markedRecords(marker: string, source: string, sharedHeader: boolean): Expected[] {
  return Array.from({ length: RECORDS }, (_, i) => ({
    key: `${marker}-key-${source}-${i}`,
    value: `${marker}-value-${source}-${i}-${'abcdefgh'.repeat(24)}`,
    headers: [[`${marker}-header`, sharedHeader ? `${marker}-hv-${source}` : `${marker}-hv-${source}-${i}`]],
  }));
}

/** `kcat -P -K :` input for `records` (no key or value holds `:` or a newline). */
function kcatInput(records: readonly Expected[]): Buffer {
  return Buffer.from(records.map((r) => `${r.key}:${r.value}\n`).join(''));
}

async function kcatProduce(bootstrap: string, topic: string, codec: string, records: readonly Expected[]): Promise<void> {
  const [header] = records[0]?.headers ?? [];
  assert.ok(header !== undefined);
  const produced = await kcat(['-P', '-b', bootstrap, '-t', topic, '-p', '0', '-z', codec, '-K', ':', '-H', `${header[0]}=${header[1]}`, '-X', 'acks=all'], {
    input: kcatInput(records),
  });
  assert.equal(produced.code, 0, produced.stderr);
  assert.doesNotMatch(produced.stderr, /fail|error/i);
}

/** Every record of partition 0 of `topic`, read with kcat's JSON envelope: offset, key, value, headers. */
async function kcatConsume(bootstrap: string, topic: string): Promise<(Expected & { offset: number })[]> {
  const consumed = await kcat(['-C', '-b', bootstrap, '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q', '-J']);
  assert.equal(consumed.code, 0, consumed.stderr);
  return consumed.stdout
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const m = JSON.parse(l) as { offset: number; key: string | null; payload: string | null; headers?: string[] };
      const flat = m.headers ?? [];
      const headers: [string, string][] = [];
      for (let i = 0; i < flat.length; i += 2) headers.push([flat[i] ?? '', flat[i + 1] ?? '']);
      return { offset: m.offset, key: m.key ?? '<null>', value: m.payload ?? '<null>', headers };
    });
}

/** kafka-python 2.0.2 and confluent-kafka 1.7.0 producers with their default codec (none), acks=all. */
const PYTHON_PRODUCERS = String.raw`
import json, sys
from kafka import KafkaProducer
from confluent_kafka import Producer
job = json.load(sys.stdin)
bootstrap = job['bootstrap']
hdrs = lambda r: [(k, v.encode()) for k, v in r['headers']]

kp = job['kafkaPython']
p = KafkaProducer(bootstrap_servers=bootstrap, acks='all')
futures = [p.send(kp['topic'], key=r['key'].encode(), value=r['value'].encode(), headers=hdrs(r), partition=0) for r in kp['records']]
p.flush()
kp_offsets = [f.get(timeout=10).offset for f in futures]
p.close()

ck = job['confluent']
c = Producer({'bootstrap.servers': bootstrap, 'acks': 'all'})
reports = []
def report(err, msg):
    reports.append(str(err) if err is not None else msg.offset())
for r in ck['records']:
    c.produce(ck['topic'], key=r['key'].encode(), value=r['value'].encode(), headers=hdrs(r), partition=0, on_delivery=report)
    c.poll(0)
assert c.flush(15) == 0, 'undelivered messages'
print(json.dumps({'kafkaPython': kp_offsets, 'confluent': reports}))
`;

const KCAT_CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

describe('encryption at rest with real clients', () => {
  it('no file of the data directory holds a marker any client sent, with any codec; every stored entry is sealed; a topic with encryption=none shows it', async (t) => {
    const marker = `PARAPET-MARKER-${randomBytes(12).toString('hex')}`;
    // Another marker for the clear topic, so that finding it does not hide a leak of the first.
    const clearMarker = `PARAPET-CLEAR-${randomBytes(12).toString('hex')}`;
    const dataDir = tempDataDir(t, 'parapet-eat-');
    const broker = await openBroker(t, dataDir);
    const bootstrap = `127.0.0.1:${broker.port}`;

    const sources = [
      ...KCAT_CODECS.map((codec) => ({ topic: `enc-kcat-${codec}`, source: `kcat-${codec}`, shared: true })),
      { topic: 'enc-kafkajs', source: 'kafkajs', shared: false },
      { topic: 'enc-kafka-python', source: 'kafka-python', shared: false },
      { topic: 'enc-confluent-kafka', source: 'confluent-kafka', shared: false },
    ].map((s) => ({ ...s, records: markedRecords(marker, s.source, s.shared) }));
    const clear = { topic: 'clear', records: markedRecords(clearMarker, 'clear', true) };
    await createTopic(broker.port, sources.map((s) => s.topic));
    await createTopic(broker.port, clear.topic, 1, { encryption: 'none' });
    const bySource = (source: string) => {
      const found = sources.find((s) => s.source === source);
      assert.ok(found !== undefined);
      return found;
    };

    for (const codec of KCAT_CODECS) {
      const s = bySource(`kcat-${codec}`);
      await kcatProduce(bootstrap, s.topic, codec, s.records);
    }
    await kcatProduce(bootstrap, clear.topic, 'none', clear.records);

    const js = bySource('kafkajs');
    const kafka = new Kafka({ clientId: 'eat-interop', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const sent = await producer.send({
        topic: js.topic,
        acks: -1,
        messages: js.records.map((r) => ({ key: r.key, value: r.value, headers: Object.fromEntries(r.headers), partition: 0 })),
      });
      assert.deepEqual(
        sent.map((m) => [m.errorCode, m.baseOffset]),
        [[0, '0']],
      );
    } finally {
      await producer.disconnect();
    }

    const kp = bySource('kafka-python');
    const ck = bySource('confluent-kafka');
    const out = JSON.parse(
      await python(PYTHON_PRODUCERS, {
        input: JSON.stringify({ bootstrap, kafkaPython: { topic: kp.topic, records: kp.records }, confluent: { topic: ck.topic, records: ck.records } }),
      }),
    ) as { kafkaPython: number[]; confluent: (number | string)[] };
    const offsets = Array.from({ length: RECORDS }, (_, i) => i);
    assert.deepEqual(out.kafkaPython, offsets);
    assert.deepEqual(out.confluent, offsets);

    // Every record back exactly, through the broker's decryption, by librdkafka.
    for (const s of [...sources, clear]) {
      const got = await kcatConsume(bootstrap, s.topic);
      assert.deepEqual(
        got,
        s.records.map((r, offset) => ({ offset, ...r })),
        `${s.topic}: key, value and header of every record, in order`,
      );
    }
    // The codecs really went over the wire (and were stored, then sealed).
    for (const codec of KCAT_CODECS) {
      const counts = await recordsByCodec(broker.port, `enc-kcat-${codec}`, 0, RECORDS);
      const id = CompressionCodec[codec];
      assert.ok((counts.get(id) ?? 0) > 0, `kcat -z ${codec}: records stored with ${codec}: ${JSON.stringify([...counts])}`);
    }

    await broker.close();

    const files = filesUnder(dataDir);
    t.diagnostic(`scanned ${files.length} files`);
    assert.deepEqual(filesWithMarker(dataDir, marker), [], 'no file holds the marker in any form');

    // A compressed batch stored unsealed would hide its marker in the compressed stream (gzip and zstd
    // do: with those two topics unencrypted the scan above passes): every entry of every segment of
    // the encrypted topics has the sealed magic.
    for (const s of sources) {
      const entries = segmentFiles(dataDir, s.topic, 0).flatMap((path) => storedEntries(path).map((e) => ({ path, ...e })));
      assert.ok(entries.length > 0, `${s.topic} has stored entries`);
      assert.deepEqual(
        entries.filter((e) => e.magic !== SEALED_MAGIC).map((e) => `${e.path}@${e.position}: magic ${e.magic}`),
        [],
        `${s.topic}: every entry is sealed`,
      );
    }
    // The scan covers every kind of file the broker writes (the -wal only while SQLite keeps one).
    for (const expected of [
      'metadata.db',
      'keyring.json',
      'logs/enc-kcat-gzip-0/data-keys.json',
      'logs/enc-kcat-gzip-0/partition.json',
      'logs/enc-kcat-gzip-0/00000000000000000000.log',
      'logs/enc-kcat-gzip-0/00000000000000000000.index',
      'logs/enc-kcat-gzip-0/00000000000000000000.timeindex',
      `logs/enc-kcat-gzip-0/${String(RECORDS).padStart(20, '0')}.snapshot`,
    ]) {
      assert.ok(files.includes(expected), `${expected} is among the scanned files: ${files.join(', ')}`);
    }
    // The scan can fail: the topic created with encryption=none holds its marker in clear, in its segment.
    const clearFiles = filesWithMarker(dataDir, clearMarker);
    assert.ok(clearFiles.includes('logs/clear-0/00000000000000000000.log (plain)'), `the clear marker found: ${clearFiles.join(', ')}`);
    assert.deepEqual(
      storedEntries(join(dataDir, 'logs/clear-0/00000000000000000000.log')).map((e) => e.magic),
      storedEntries(join(dataDir, 'logs/clear-0/00000000000000000000.log')).map(() => 2),
      'the clear topic stores Kafka batches (magic 2)',
    );
  });

  it('SIGKILL during acks=all produce: every acknowledged record is back byte for byte, and an idempotent retry is deduplicated from the sealed producer state', async (t) => {
    const dataDir = tempDataDir(t, 'parapet-eat-crash-');
    // Small segments: rolls write (sealed) producer state snapshots, and the state after the crash is
    // such a snapshot plus a scan of the sealed active segment.
    writeFileSync(join(dataDir, 'parapet.yaml'), `encryptionAtRest:\n  masterKey: \${env:${TEST_MASTER_KEY_ENV}}\nminSegmentBytes: 4096\n`, { mode: 0o600 });
    const topic = 'crash-sealed';
    const first = await spawnBroker(t, dataDir);
    await createTopic(first.port, topic, 3, { 'segment.bytes': '8192' });

    // Partitions 0 and 1: confluent-kafka producers, acks=all, no retries, printing what was acknowledged.
    const producers = [0, 1].map((p) => spawnPython(t, ACKING_PRODUCER, [first.bootstrap, topic, String(p), `p${p}`]));
    // Partition 2: an idempotent producer of the project's client, batch by batch.
    const idem = await BatchClient.open(t, first.port);
    const init = await idem.request(InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
    assert.equal(init.errorCode, ErrorCode.NONE);
    const pid = init.producerId ?? -1n;
    const acked: { seq: number; bytes: Buffer; baseOffset: bigint }[] = [];
    let inFlight: { seq: number; bytes: Buffer } | undefined;
    // Runs until the kill breaks its connection: a batch is usually in flight then.
    const run = { killing: false };
    const idempotentLoop = (async () => {
      for (let seq = 0; ; seq += IDEMPOTENT_BATCH) {
        const bytes = idempotentBatch(pid, seq);
        inFlight = { seq, bytes };
        try {
          const r = await idem.produceBatch(topic, 2, Buffer.from(bytes));
          if (r.errorCode !== ErrorCode.NONE) throw new Error(`idempotent produce: error ${r.errorCode}`);
          acked.push({ seq, bytes, baseOffset: r.baseOffset });
          inFlight = undefined;
        } catch (err) {
          if (!run.killing) throw err;
          return;
        }
      }
    })();
    let loopFailure: Error | undefined;
    idempotentLoop.catch((err: unknown) => {
      loopFailure = err instanceof Error ? err : new Error(String(err));
    });

    await waitFor(
      () => {
        if (loopFailure !== undefined) throw loopFailure;
        for (const p of producers) if (p.proc.exitCode !== null) throw new Error(`a producer exited: ${p.stderr()}`);
        return producers.every((p) => acksOf(p).length >= 300) && acked.length >= 30;
      },
      'acknowledgements on every partition',
      30_000,
    );
    run.killing = true;
    assert.equal((await first.kill('SIGKILL')).signal, 'SIGKILL');
    await Promise.all(producers.map((p) => p.kill('SIGKILL')));
    await Promise.race([idempotentLoop, new Promise((r) => setTimeout(r, 5000))]);
    idem.close();
    const acks = producers.flatMap(acksOf);
    t.diagnostic(`acknowledged before the kill: ${acks.length} records, ${acked.length} idempotent batches; one in flight: ${inFlight !== undefined}`);

    // At debug level, the broker logs each duplicate it answers.
    const second = await spawnBroker(t, dataDir, 'debug');
    assert.deepEqual(
      second.logs().filter((l) => l.level >= 50).map((l) => l.msg),
      [],
      'a process crash corrupts nothing',
    );
    for (const p of [0, 1]) {
      const log = await kcatRead(second.bootstrap, topic, p);
      log.forEach((r, i) => {
        assert.equal(r.offset, BigInt(i), `partition ${p}: contiguous offsets`);
      });
      const byOffset = new Map(log.map((r) => [r.offset, r.value]));
      const mine = acks.filter((a) => a.partition === p);
      for (const a of mine) assert.equal(byOffset.get(a.offset), a.value, `acknowledged ${a.value} at ${p}/${a.offset}`);
      const values = log.map((r) => r.value);
      assert.equal(new Set(values).size, values.length, `partition ${p}: no record twice`);
    }

    // The idempotent producer retries: its last acknowledged batch, then the one in flight at the kill.
    const client = await BatchClient.open(t, second.port);
    const last = acked.at(-1);
    assert.ok(last !== undefined);
    const retry = await client.produceBatch(topic, 2, Buffer.from(last.bytes));
    assert.deepEqual([retry.errorCode, retry.baseOffset], [ErrorCode.NONE, last.baseOffset], 'the retry is answered with the original offset');
    let nextSeq = last.seq + IDEMPOTENT_BATCH;
    if (inFlight !== undefined) {
      const r = await client.produceBatch(topic, 2, Buffer.from(inFlight.bytes));
      assert.equal(r.errorCode, ErrorCode.NONE, 'the batch in flight at the kill: stored once, whether it was written or not');
      nextSeq = inFlight.seq + IDEMPOTENT_BATCH;
    }
    const end = (await client.listOffset(topic, 2, LATEST)).offset;
    assert.equal(end, BigInt(nextSeq), 'partition 2 holds each idempotent batch once');
    const fresh = await client.produceBatch(topic, 2, idempotentBatch(pid, nextSeq));
    assert.deepEqual([fresh.errorCode, fresh.baseOffset], [ErrorCode.NONE, end], 'the next sequence is appended at the end');
    const stored = await kcatRead(second.bootstrap, topic, 2);
    assert.deepEqual(
      stored.map((r) => [r.offset, r.value]),
      Array.from({ length: nextSeq + IDEMPOTENT_BATCH }, (_, i) => [BigInt(i), idempotentValue(i)]),
      'the idempotent records, each once, in order, byte for byte',
    );
    const duplicates = second.logs().filter((l) => l.msg.startsWith('duplicate batch')).length;
    assert.ok(duplicates >= 1, 'the restarted broker answered a duplicate');

    second.proc.kill('SIGTERM');
    assert.deepEqual(await second.exited, { code: 0, signal: null });
    // The producer state the restart loaded, and the one the stop wrote, are sealed snapshots.
    for (const p of [0, 1, 2]) {
      const dir = join(dataDir, 'logs', `${topic}-${p}`);
      const snapshots = filesUnder(dir).filter((f) => f.endsWith('.snapshot'));
      assert.ok(snapshots.length > 0, `${topic}-${p} has producer state snapshots`);
      for (const s of snapshots) assert.ok(readFileSync(join(dir, s)).subarray(0, 27).equals(Buffer.from('parapet-sealed-snapshot v1\n')), `${s} is sealed`);
      assert.ok(segmentFiles(dataDir, topic, p).length >= 2, `${topic}-${p} rolled`);
      for (const path of segmentFiles(dataDir, topic, p)) {
        for (const e of storedEntries(path)) assert.equal(e.magic, SEALED_MAGIC, `${path}@${e.position}`);
      }
    }
  });
});

/**
 * A confluent-kafka producer to one partition, acks=all, no retries and no idempotence (a retried
 * request could store a record twice, the client's doing), until killed; prints `ACK <p> <offset>
 * <value>` for each record acknowledged.
 */
const ACKING_PRODUCER = String.raw`
import sys, time
from confluent_kafka import Producer
bootstrap, topic, part, name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
p = Producer({'bootstrap.servers': bootstrap, 'acks': 'all', 'linger.ms': 2, 'message.send.max.retries': 0,
              'enable.idempotence': False, 'queue.buffering.max.messages': 5000, 'batch.num.messages': 50, 'log_level': 2})
def report(err, msg):
    if err is None:
        sys.stdout.write('ACK %d %d %s\n' % (msg.partition(), msg.offset(), msg.value().decode()))
        sys.stdout.flush()
i = 0
while True:
    try:
        p.produce(topic, value=('%s-%08d-' % (name, i) + 'x' * (i % 97)).encode(), partition=part, on_delivery=report)
        i += 1
        p.poll(0)
        if i % 50 == 0:
            time.sleep(0.02)  # paced: the broker and the other producers share two cores
    except BufferError:
        p.poll(0.005)
`;

const ACK_LINE = /^ACK (\d+) (\d+) (p\d+-\d{8}-x*)$/;

function acksOf(child: Child): { partition: number; offset: bigint; value: string }[] {
  return child.lines.flatMap((line) => {
    const m = ACK_LINE.exec(line);
    return m === null ? [] : [{ partition: Number(m[1]), offset: BigInt(m[2] as string), value: m[3] as string }];
  });
}

const IDEMPOTENT_BATCH = 3;
const idempotentValue = (seq: number) => `idempotent-${String(seq).padStart(6, '0')}-${'y'.repeat(200)}`;

function idempotentBatch(producerId: bigint, baseSequence: number): Buffer {
  return buildBatchSync({
    records: Array.from({ length: IDEMPOTENT_BATCH }, (_, i) => ({ value: idempotentValue(baseSequence + i) })),
    producerId,
    producerEpoch: 0,
    baseSequence,
  });
}

// ---- SoftHSM2 ----------------------------------------------------------------------------------

const MODULE_PATHS = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so'];
const softhsmModule = MODULE_PATHS.find((p) => existsSync(p));
const softhsmUtil = spawnSync('softhsm2-util', ['--version'], { encoding: 'utf8' }).status === 0;
const skipHsm: string | false =
  (softhsmModule !== undefined && softhsmUtil) || process.env.PARAPET_FULL_SUITE === '1'
    ? false
    : `SoftHSM2 not installed (no ${MODULE_PATHS.join(' nor ')}, or no softhsm2-util): apt-get install softhsm2`;

const HSM_TOKEN = 'parapet-eat';
const HSM_PIN = '4321';
const HSM_PIN_ENV = 'PARAPET_TEST_HSM_PIN';

describe('encryption at rest with KEKs in a SoftHSM2 token', { skip: skipHsm }, () => {
  it('a broker process with provider pkcs11: kcat produces and consumes an encrypted topic, again after a restart; no local keyring', async (t) => {
    if (softhsmModule === undefined || !softhsmUtil) {
      throw new Error(`PARAPET_FULL_SUITE=1 but SoftHSM2 is not installed (looked for ${MODULE_PATHS.join(', ')} and softhsm2-util): apt-get install softhsm2`);
    }
    const hsmDir = tempDataDir(t, 'parapet-eat-softhsm-');
    mkdirSync(join(hsmDir, 'tokens'));
    const conf = join(hsmDir, 'softhsm2.conf');
    writeFileSync(conf, `directories.tokendir = ${join(hsmDir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    // Inherited by the broker processes, read by the module (here too, for the token check at the end).
    const saved = { conf: process.env.SOFTHSM2_CONF, pin: process.env[HSM_PIN_ENV] };
    process.env.SOFTHSM2_CONF = conf;
    process.env[HSM_PIN_ENV] = HSM_PIN;
    t.after(() => {
      for (const [name, value] of [['SOFTHSM2_CONF', saved.conf], [HSM_PIN_ENV, saved.pin]] as const) {
        if (value === undefined) Reflect.deleteProperty(process.env, name);
        else process.env[name] = value;
      }
    });
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', HSM_TOKEN, '--pin', HSM_PIN, '--so-pin', '8765'], { stdio: 'pipe' });

    const dataDir = tempDataDir(t, 'parapet-eat-hsm-');
    writeFileSync(
      join(dataDir, 'parapet.yaml'),
      ['encryptionAtRest:', '  provider: pkcs11', '  pkcs11:', `    module: ${softhsmModule}`, `    tokenLabel: ${HSM_TOKEN}`, `    pin: \${env:${HSM_PIN_ENV}}`, ''].join('\n'),
      { mode: 0o600 },
    );
    const marker = `PARAPET-MARKER-${randomBytes(12).toString('hex')}`;
    const records = markedRecords(marker, 'hsm', true);
    const topic = 'hsm-sealed';

    const first = await spawnBroker(t, dataDir);
    assert.ok(
      first.logs().some((l) => l.msg.startsWith('encryption at rest') && String(l.keys).startsWith(`pkcs11 token "${HSM_TOKEN}"`)),
      'the broker says its keys are in the token',
    );
    await createTopic(first.port, topic);
    await kcatProduce(first.bootstrap, topic, 'none', records.slice(0, 20));
    const expected = (n: number) => records.slice(0, n).map((r, offset) => ({ offset, ...r }));
    assert.deepEqual(await kcatConsume(first.bootstrap, topic), expected(20));
    await stop(first);

    const second = await spawnBroker(t, dataDir);
    assert.deepEqual(await kcatConsume(second.bootstrap, topic), expected(20), 'read after a restart');
    await kcatProduce(second.bootstrap, topic, 'gzip', records.slice(20));
    assert.deepEqual(await kcatConsume(second.bootstrap, topic), expected(RECORDS));
    await stop(second);

    assert.equal(existsSync(join(dataDir, 'keyring.json')), false, 'no local keyring in the data directory');
    // (The audit trail's signing key is there: it is not a key of encryption at rest.)
    assert.equal(existsSync(`${dataDir}-keys/master.key`), false, 'no master key beside it');
    assert.deepEqual(filesWithMarker(dataDir, marker), []);
    const entries = segmentFiles(dataDir, topic, 0).flatMap((path) => storedEntries(path));
    assert.ok(entries.length >= 2);
    assert.deepEqual(
      entries.map((e) => e.magic),
      entries.map(() => SEALED_MAGIC),
    );
    // The topic's KEK is an object of the token, where the data keys were wrapped.
    const dataKeys = JSON.parse(readFileSync(join(dataDir, 'logs', `${topic}-0`, 'data-keys.json'), 'utf8')) as { keys: { kek: { name: string; version: number } }[] };
    const kekName = `topic:${topicIdOf(dataDir, topic)}`;
    assert.ok(dataKeys.keys.length >= 2 && dataKeys.keys.every((k) => k.kek.name === kekName), 'a data key per broker run, wrapped by the topic KEK');
    const token = TokenSession.open({ module: softhsmModule, tokenLabel: HSM_TOKEN, pin: HSM_PIN });
    try {
      assert.equal(token.find([{ type: pkcs11js.CKA_LABEL, value: `parapet:${kekName}:v1` }]).length, 1, 'the KEK is in the token');
    } finally {
      token.close();
    }
  });
});

/** SIGTERM (a clean close: indexes, snapshots) and the exit. */
async function stop(broker: ChildBroker): Promise<void> {
  broker.proc.kill('SIGTERM');
  assert.deepEqual(await broker.exited, { code: 0, signal: null });
}
