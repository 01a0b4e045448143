import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { crc32c } from '@node-rs/crc32';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { createTopic } from '../helpers/client.js';
import { startParapet } from '../helpers/cli-process.js';
import { BatchClient, openBroker, tempDataDir, type FetchResult } from '../helpers/durability.js';
import { Entry, editKeyring, keyringNames, rewriteEntry, SEALED_MAGIC, segmentFiles, storedEntries, topicIdOf, type StoredEntry } from '../helpers/sealed-storage.js';

/**
 * Encryption at rest against someone who can write the data directory while the broker is stopped
 * (docs/security/encryption-at-rest.md): a sealed batch changed and its clear CRC-32C fixed up, or
 * moved to another partition, fails authentication and is refused with CORRUPT_MESSAGE (2), while
 * everything else is still served; the wrong master key stops the start; a KEK taken out of the
 * keyring makes its topic answer KAFKA_STORAGE_ERROR (56), a destroyed one POLICY_VIOLATION (44),
 * and other topics do not notice. Brokers run in-process and are restarted on the same directory;
 * the master key test runs `parapet start` to see what an operator sees.
 */

const BATCHES = 3;
const PER_BATCH = 2;

/** The values of batch `b` of a partition: the same length in every partition of a topic. */
const valuesOf = (topic: string, partition: number, b: number) => Array.from({ length: PER_BATCH }, (_, i) => `${topic}-${partition}-${b}-${i}-secret`);

/** Every value of a partition, in offset order. */
const partitionValues = (topic: string, partition: number) => Array.from({ length: BATCHES }, (_, b) => valuesOf(topic, partition, b)).flat();

/** Creates the topics (encrypted) and writes BATCHES batches of PER_BATCH records to each partition, acks=all. */
async function fill(t: TestContext, port: number, topics: readonly { name: string; partitions: number }[]): Promise<void> {
  const client = await BatchClient.open(t, port);
  for (const topic of topics) {
    await createTopic(port, topic.name, topic.partitions);
    for (let p = 0; p < topic.partitions; p++) {
      for (let b = 0; b < BATCHES; b++) {
        const r = await client.produce(
          topic.name,
          p,
          valuesOf(topic.name, p, b).map((value) => ({ value })),
        );
        assert.deepEqual([r.errorCode, r.baseOffset], [ErrorCode.NONE, BigInt(b * PER_BATCH)]);
      }
    }
  }
  client.close();
}

/** The one segment of a partition and its sealed entries (one per batch). */
function sealedEntries(dataDir: string, topic: string, partition: number): { path: string; entries: StoredEntry[] } {
  const [path, ...more] = segmentFiles(dataDir, topic, partition);
  assert.ok(path !== undefined && more.length === 0, `${topic}-${partition}: one segment`);
  const entries = storedEntries(path);
  assert.deepEqual(
    entries.map((e) => [e.baseOffset, e.magic]),
    Array.from({ length: BATCHES }, (_, b) => [BigInt(b * PER_BATCH), SEALED_MAGIC]),
    `${topic}-${partition}: ${BATCHES} sealed entries`,
  );
  return { path, entries };
}

function entryAt(entries: readonly StoredEntry[], b: number): StoredEntry {
  const entry = entries[b];
  assert.ok(entry !== undefined);
  return entry;
}

/** A fetch that must succeed: the values from `offset` on. */
function valuesFrom(result: FetchResult, offset: bigint): string[] {
  assert.equal(result.errorCode, ErrorCode.NONE);
  return result.records.filter((r) => r.offset >= offset).map((r) => r.value);
}

/** Reads the whole partition and checks it is exactly what {@link fill} wrote. */
async function assertIntact(client: BatchClient, topic: string, partition: number): Promise<void> {
  const r = await client.fetch(topic, partition, 0n);
  assert.deepEqual(valuesFrom(r, 0n), partitionValues(topic, partition), `${topic}-${partition} is served whole`);
}

describe('encryption at rest: the data directory changed while the broker is stopped', () => {
  it('a bit flipped in the ciphertext of a sealed batch, or in an authenticated clear field, with the CRC fixed up: CORRUPT_MESSAGE at that offset, everything else served', async (t) => {
    const dataDir = tempDataDir(t, 'parapet-tamper-');
    const first = await openBroker(t, dataDir);
    await fill(t, first.port, [
      { name: 'victim', partitions: 3 },
      { name: 'bystander', partitions: 1 },
    ]);
    await first.close();

    // Partition 0, batch 1 (offsets 2-3): a bit in the middle of the ciphertext.
    const p0 = sealedEntries(dataDir, 'victim', 0);
    const flipped = entryAt(p0.entries, 1);
    rewriteAndCheckCrc(p0.path, flipped, (bytes) => {
      const at = Entry.ciphertext + Math.floor((bytes.length - Entry.tagBytes - Entry.ciphertext) / 2);
      bytes.writeUInt8(bytes.readUInt8(at) ^ 0x10, at);
    });
    // Partition 1, batch 0: the clear maxTimestamp (not needed to decrypt, but bound by the tag).
    const p1 = sealedEntries(dataDir, 'victim', 1);
    rewriteAndCheckCrc(p1.path, entryAt(p1.entries, 0), (bytes) => {
      bytes.writeUInt8(bytes.readUInt8(Entry.maxTimestamp + 7) ^ 0x01, Entry.maxTimestamp + 7);
    });

    const second = await openBroker(t, dataDir);
    const client = await BatchClient.open(t, second.port);
    assert.equal((await client.fetch('victim', 0, 2n)).errorCode, ErrorCode.CORRUPT_MESSAGE, 'the flipped batch');
    assert.equal((await client.fetch('victim', 0, 3n)).errorCode, ErrorCode.CORRUPT_MESSAGE, 'any offset of the flipped batch');
    assert.equal((await client.fetch('victim', 1, 0n)).errorCode, ErrorCode.CORRUPT_MESSAGE, 'the changed clear field');
    // A read that starts before the damaged batch ends before it; the batch after it is served.
    assert.deepEqual(valuesFrom(await client.fetch('victim', 0, 0n), 0n), valuesOf('victim', 0, 0));
    assert.deepEqual(valuesFrom(await client.fetch('victim', 0, 4n), 4n), valuesOf('victim', 0, 2));
    assert.deepEqual(valuesFrom(await client.fetch('victim', 1, 2n), 2n), [...valuesOf('victim', 1, 1), ...valuesOf('victim', 1, 2)]);
    await assertIntact(client, 'victim', 2);
    await assertIntact(client, 'bystander', 0);
    // The damaged partition still takes records (sealed with this run's data key).
    const appended = await client.produce('victim', 0, [{ value: 'after-the-damage' }]);
    assert.deepEqual([appended.errorCode, appended.baseOffset], [ErrorCode.NONE, 6n]);
    assert.deepEqual(valuesFrom(await client.fetch('victim', 0, 6n), 6n), ['after-the-damage']);

    const refusals = second.logger.entries.filter((e) => e.msg === 'refused to serve a sealed record batch');
    assert.ok(refusals.length >= 3, 'each refusal is logged');
    assert.ok(refusals.every((e) => e.level === 'error' && /failed authentication/.test(String((e.obj as { reason?: unknown }).reason))));
  });

  it('a sealed batch copied over another partition\'s batch at the same offset: CORRUPT_MESSAGE there, the source still served', async (t) => {
    const dataDir = tempDataDir(t, 'parapet-tamper-');
    const first = await openBroker(t, dataDir);
    await fill(t, first.port, [{ name: 'victim', partitions: 2 }]);
    await first.close();

    const source = sealedEntries(dataDir, 'victim', 1);
    const target = sealedEntries(dataDir, 'victim', 0);
    const from = entryAt(source.entries, 1);
    const to = entryAt(target.entries, 1);
    assert.equal(from.size, to.size, 'batches of the same size, so the copy fits in place');
    const sourceBytes = readEntry(source.path, from);
    // A whole entry, clear CRC and all: valid as far as the CRC can tell.
    rewriteRaw(target.path, to, sourceBytes);

    const second = await openBroker(t, dataDir);
    const client = await BatchClient.open(t, second.port);
    assert.equal((await client.fetch('victim', 0, 2n)).errorCode, ErrorCode.CORRUPT_MESSAGE, 'the batch from partition 1 in partition 0');
    assert.deepEqual(valuesFrom(await client.fetch('victim', 0, 0n), 0n), valuesOf('victim', 0, 0));
    assert.deepEqual(valuesFrom(await client.fetch('victim', 0, 4n), 4n), valuesOf('victim', 0, 2));
    await assertIntact(client, 'victim', 1);
    assert.ok(second.logger.entries.some((e) => e.msg === 'refused to serve a sealed record batch' && (e.obj as { partition?: unknown }).partition === 'victim-0'));
  });

  it(
    'a data key id changed in a sealed batch\'s clear header (CRC fixed up): CORRUPT_MESSAGE at that batch, the batches before and after it served',
    async (t) => {
      const dataDir = tempDataDir(t, 'parapet-tamper-');
      const first = await openBroker(t, dataDir);
      await fill(t, first.port, [{ name: 'victim', partitions: 1 }]);
      await first.close();
      const p0 = sealedEntries(dataDir, 'victim', 0);
      rewriteAndCheckCrc(p0.path, entryAt(p0.entries, 1), (bytes) => {
        bytes.writeUInt32BE(999, Entry.dekId);
      });

      const second = await openBroker(t, dataDir);
      const client = await BatchClient.open(t, second.port);
      assert.deepEqual(valuesFrom(await client.fetch('victim', 0, 0n), 0n), valuesOf('victim', 0, 0), 'the batch before it');
      assert.equal((await client.fetch('victim', 0, 2n)).errorCode, ErrorCode.CORRUPT_MESSAGE, 'the changed batch');
      assert.deepEqual(valuesFrom(await client.fetch('victim', 0, 4n), 4n), valuesOf('victim', 0, 2), 'the batch after it');
    },
  );

  it('a wrong master key stops `parapet start` with a message saying so; the right one opens everything', async (t) => {
    const dataDir = tempDataDir(t, 'parapet-tamper-');
    const first = await openBroker(t, dataDir);
    await fill(t, first.port, [{ name: 'sealed', partitions: 1 }]);
    await first.close();

    const WRONG_KEY_ENV = 'PARAPET_TEST_WRONG_MASTER_KEY';
    process.env[WRONG_KEY_ENV] = randomBytes(32).toString('base64');
    t.after(() => {
      Reflect.deleteProperty(process.env, WRONG_KEY_ENV);
    });
    writeFileSync(join(dataDir, 'parapet.yaml'), `encryptionAtRest:\n  masterKey: \${env:${WRONG_KEY_ENV}}\n`, { mode: 0o600 });
    await assert.rejects(startParapet(t, ['--insecure', '--listen', '127.0.0.1:0', '--data-dir', dataDir]), (e: unknown) => {
      const { code, err } = e as { code: number | null; err: string };
      assert.equal(code, 2, `exit code of a configuration error: ${err}`);
      assert.match(err, /the master key does not open the keyring .*keyring\.json: it is the wrong master key/);
      assert.ok(!err.includes(process.env[WRONG_KEY_ENV] ?? '-'), 'the key itself is not printed');
      return true;
    });

    // A master key file that is not there: named, with what to do.
    const missing = join(`${dataDir}-nowhere`, 'master.key');
    writeFileSync(join(dataDir, 'parapet.yaml'), `encryptionAtRest:\n  masterKey: \${file:${missing}}\n`, { mode: 0o600 });
    await assert.rejects(startParapet(t, ['--insecure', '--listen', '127.0.0.1:0', '--data-dir', dataDir]), (e: unknown) => {
      const { code, err } = e as { code: number | null; err: string };
      assert.equal(code, 2, err);
      assert.ok(err.includes(`the master key file ${missing} does not exist`), err);
      return true;
    });

    const again = await openBroker(t, dataDir);
    const client = await BatchClient.open(t, again.port);
    await assertIntact(client, 'sealed', 0);
  });

  it('a KEK removed from keyring.json: start works, fetch and produce of its topic answer KAFKA_STORAGE_ERROR, no new KEK is made, other topics work', async (t) => {
    const dataDir = tempDataDir(t, 'parapet-tamper-');
    const first = await openBroker(t, dataDir);
    await fill(t, first.port, [
      { name: 'lost', partitions: 2 },
      { name: 'kept', partitions: 1 },
    ]);
    await first.close();
    const lostKek = `topic:${topicIdOf(dataDir, 'lost')}`;
    const keptKek = `topic:${topicIdOf(dataDir, 'kept')}`;
    editKeyring(dataDir, (names) => {
      assert.ok(lostKek in names && keptKek in names);
      Reflect.deleteProperty(names, lostKek);
    });

    const second = await openBroker(t, dataDir);
    const client = await BatchClient.open(t, second.port);
    for (const p of [0, 1]) {
      assert.equal((await client.fetch('lost', p, 0n)).errorCode, ErrorCode.KAFKA_STORAGE_ERROR, `fetch lost-${p}`);
      const produced = await client.produce('lost', p, [{ value: 'must-not-be-written' }]);
      assert.equal(produced.errorCode, ErrorCode.KAFKA_STORAGE_ERROR, `produce to lost-${p}`);
      assert.match(produced.errorMessage ?? '', /encrypted at rest and its key cannot be used/);
    }
    await assertIntact(client, 'kept', 0);
    const kept = await client.produce('kept', 0, [{ value: 'still-works' }]);
    assert.deepEqual([kept.errorCode, kept.baseOffset], [ErrorCode.NONE, BigInt(BATCHES * PER_BATCH)]);
    await createTopic(second.port, 'fresh');
    assert.equal((await client.produce('fresh', 0, [{ value: 'new-topic' }])).errorCode, ErrorCode.NONE);
    assert.equal((await client.listOffset('lost', 0, -1n)).offset, BigInt(BATCHES * PER_BATCH), 'nothing was appended to the topic without its key');
    await second.close();
    // A KEK made quietly in its place would leave old and new data under different keys.
    assert.equal(lostKek in keyringNames(dataDir), false, 'no new KEK for the topic');
  });

  it('a destroyed KEK (what `destroy` writes): fetch and produce of its topic answer POLICY_VIOLATION, other topics work', async (t) => {
    const dataDir = tempDataDir(t, 'parapet-tamper-');
    const first = await openBroker(t, dataDir);
    await fill(t, first.port, [
      { name: 'shredded', partitions: 2 },
      { name: 'kept', partitions: 1 },
    ]);
    await first.close();
    const shreddedKek = `topic:${topicIdOf(dataDir, 'shredded')}`;
    editKeyring(dataDir, (names) => {
      assert.ok(shreddedKek in names);
      names[shreddedKek] = { destroyed: true, versions: [] };
    });

    const second = await openBroker(t, dataDir);
    const client = await BatchClient.open(t, second.port);
    for (const p of [0, 1]) {
      assert.equal((await client.fetch('shredded', p, 0n)).errorCode, ErrorCode.POLICY_VIOLATION, `fetch shredded-${p}`);
      assert.equal((await client.fetch('shredded', p, 2n)).errorCode, ErrorCode.POLICY_VIOLATION, `fetch shredded-${p} at 2`);
      const produced = await client.produce('shredded', p, [{ value: 'must-not-be-written' }]);
      assert.equal(produced.errorCode, ErrorCode.POLICY_VIOLATION, `produce to shredded-${p}`);
    }
    await assertIntact(client, 'kept', 0);
    const kept = await client.produce('kept', 0, [{ value: 'still-works' }]);
    assert.deepEqual([kept.errorCode, kept.baseOffset], [ErrorCode.NONE, BigInt(BATCHES * PER_BATCH)]);
    assert.equal((await client.listOffset('shredded', 0, -1n)).offset, BigInt(BATCHES * PER_BATCH));
    await second.close();
    assert.deepEqual(keyringNames(dataDir)[shreddedKek], { destroyed: true, versions: [] }, 'still destroyed');
  });
});

/** {@link rewriteEntry}, then a check that the CRC was really fixed up (the change is invisible to it). */
function rewriteAndCheckCrc(path: string, entry: StoredEntry, change: (bytes: Buffer) => void): void {
  const before = readEntry(path, entry);
  rewriteEntry(path, entry, change);
  const after = readEntry(path, entry);
  assert.notDeepEqual(after, before);
  assert.equal(after.readUInt32BE(Entry.crc), crc32c(after.subarray(Entry.crcStart)) >>> 0, 'the clear CRC matches the changed entry');
}

function readEntry(path: string, entry: StoredEntry): Buffer {
  return Buffer.from(readFileSync(path).subarray(entry.position, entry.position + entry.size));
}

function rewriteRaw(path: string, entry: StoredEntry, bytes: Buffer): void {
  const data = readFileSync(path);
  assert.equal(bytes.length, entry.size);
  bytes.copy(data, entry.position);
  writeFileSync(path, data);
}
