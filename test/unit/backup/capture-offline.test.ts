import assert from 'node:assert/strict';
import { appendFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { captureOffline, CaptureErrorCodes, isCaptureError, parseHeldCapture, STAGING_DIR, stagingDirOf } from '../../../src/backup/capture/index.js';
import { DataDirLock } from '../../../src/storage/data-dir-lock.js';
import { LogManager } from '../../../src/storage/log/log-manager.js';
import { MetadataStore } from '../../../src/storage/metadata-store.js';
import { appendTo, configSource, makeBatch, recordingLogger, tempDir } from '../storage/log/helpers.js';
import { capturedOffsets } from './capture-fixture.js';

/** A data directory a broker wrote and closed: topic `t`, 2 partitions, 4 batches of 3 records in partition 0. */
async function stoppedDataDir(dataDir: string): Promise<void> {
  const store = new MetadataStore(dataDir);
  const logs = new LogManager({ dataDir, logger: recordingLogger(), configs: configSource() });
  store.createTopic('t', 't-id', 2);
  const [p0] = logs.openTopic({ name: 't', id: 't-id', partitions: 2 });
  assert.ok(p0 !== undefined);
  for (let i = 0; i < 4; i++) await appendTo(logs, p0, makeBatch(3));
  await logs.close();
  store.close();
}

describe('offline backup capture (no broker running)', () => {
  it('captures a stopped data directory under its lock, without a torn tail, and lets the lock go at release', async (t) => {
    const dataDir = tempDir(t, 'parapet-offline-');
    await stoppedDataDir(dataDir);
    const segment = join(dataDir, 'logs', 't-0', '00000000000000000000.log');
    const whole = statSync(segment).size;
    // A crash cut this write short: recovery truncates it, so the capture must end before it.
    appendFileSync(segment, Buffer.alloc(30, 7));
    const logger = recordingLogger();
    const held = await captureOffline(dataDir, { logger });
    t.after(() => {
      held.release();
    });
    const p0 = held.capture.partitions.find((p) => p.partition === 0);
    assert.equal(p0?.endOffset, '12');
    assert.deepEqual(capturedOffsets(held.capture.files, 't', 0), { first: 0n, end: 12n });
    assert.equal(held.capture.files.find((f) => f.path === 'logs/t-0/00000000000000000000.log')?.length, whole);
    assert.ok(logger.entries.some((e) => e.msg.startsWith('truncated a torn write')));
    // The lock is held until release: a broker starting now would remove the staging directory.
    assert.throws(() => DataDirLock.acquire(dataDir, 'a test'), /in use by parapet backup create/);
    assert.ok(held.renew() >= held.leaseExpiresAtMs);
    held.release();
    assert.equal(existsSync(stagingDirOf(dataDir, held.capture.id)), false);
    assert.equal(existsSync(join(dataDir, STAGING_DIR)), false);
    const again = DataDirLock.acquire(dataDir, 'a test');
    again.release();
  });

  it('is refused while another process holds the data directory, saying to use the running broker', async (t) => {
    const dataDir = tempDir(t, 'parapet-offline-');
    await stoppedDataDir(dataDir);
    const lock = DataDirLock.acquire(dataDir, 'a Parapet broker');
    t.after(() => {
      lock.release();
    });
    await assert.rejects(captureOffline(dataDir, { logger: recordingLogger() }), (err: unknown) => {
      assert.ok(isCaptureError(err, CaptureErrorCodes.IN_USE));
      assert.match(err.message, /in use by a Parapet broker \(pid \d+ on .+\): take the backup through the running broker's admin endpoint/);
      return true;
    });
    assert.equal(existsSync(join(dataDir, STAGING_DIR)), false);
  });

  it('refuses a directory that is no data directory, without creating anything', async (t) => {
    const dir = join(tempDir(t, 'parapet-offline-'), 'missing');
    await assert.rejects(captureOffline(dir, { logger: recordingLogger() }), (err: unknown) => isCaptureError(err, CaptureErrorCodes.NOT_A_DATA_DIR) && err.message.includes('no metadata.db'));
    assert.equal(existsSync(dir), false);
  });
});

describe('parseHeldCapture (the admin endpoint answer the CLI reads)', () => {
  const good = {
    leaseExpiresAtMs: 1_800_000_000_000,
    capture: {
      id: '20261207T171500Z-3f9a',
      takenAtMs: 1_800_000_000_000,
      productVersion: '0.1.0',
      files: [{ path: 'logs/t-0/00000000000000000000.log', kind: 'segment', length: 10, source: '/data/backup-staging/x/logs/t-0/00000000000000000000.log' }],
      partitions: [{ topic: 't', partition: 0, topicId: 'id', logStartOffset: '0', endOffset: '12' }],
    },
  };

  it('accepts a well-formed answer', () => {
    assert.deepEqual(parseHeldCapture(JSON.parse(JSON.stringify(good))), good);
  });

  /** The refusal's sentence (a parsed capture where a refusal was expected fails the test). */
  const refusal = (value: unknown): string => {
    const parsed = parseHeldCapture(value);
    if (typeof parsed !== 'string') assert.fail('expected a refusal');
    return parsed;
  };

  it('refuses paths that climb out of the layout, relative sources, unknown kinds and bad offsets', () => {
    const variant = (file: object, partition: object = {}) => ({ ...good, capture: { ...good.capture, files: [{ ...good.capture.files[0], ...file }], partitions: [{ ...good.capture.partitions[0], ...partition }] } });
    assert.match(refusal(variant({ path: '../../etc/passwd' })), /path is not a relative path/);
    assert.match(refusal(variant({ path: '/etc/passwd' })), /path is not a relative path/);
    assert.match(refusal(variant({ source: 'relative/file' })), /source is not an absolute path/);
    assert.match(refusal(variant({ kind: 'keys' })), /kind is unknown/);
    assert.match(refusal(variant({ length: -1 })), /length is not a size/);
    assert.match(refusal(variant({}, { endOffset: '-1' })), /not decimal offsets/);
    assert.match(refusal({ capture: good.capture }), /leaseExpiresAtMs/);
    assert.match(refusal([]), /not a JSON object/);
  });
});
