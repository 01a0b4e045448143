import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { AuditTrail, AuditWriteError } from '../../../src/audit/audit-trail.js';
import { readHead } from '../../../src/audit/audit-files.js';
import { checkpointSignatureValid, GENESIS_PREV, lineHash } from '../../../src/audit/chain.js';
import { keyId } from '../../../src/audit/signing-key.js';
import { verifyAuditFiles } from '../../../src/audit/verify.js';
import { auditFiles, FakeClock, fileLines, keyPair, logonEvent, openTrail, parsed, tempDir } from './audit-support.js';
import { FaultyFs } from '../../helpers/faulty-audit-fs.js';

const { privateKey, publicKey } = keyPair();

/** Every line chained to the one before, across the files given in order. */
function assertChained(files: readonly string[], from = GENESIS_PREV): void {
  let prev = from;
  let seq: number | undefined;
  for (const f of files) {
    for (const line of fileLines(f)) {
      const l = parsed(line);
      assert.equal(l.prev, prev, `${basename(f)} seq ${l.seq}: prev`);
      if (seq !== undefined) assert.equal(l.seq, seq + 1);
      seq = l.seq;
      prev = lineHash(line);
    }
  }
}

/** Waits (up to a second) for the trail's retries to succeed. */
async function writableAgain(trail: AuditTrail): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (trail.writable) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('AuditTrail: the chain and its checkpoints', () => {
  it('chains every line to the one before, from 64 zeros, and signs a checkpoint each interval that wrote something', async (t) => {
    const dir = join(tempDir(t), 'audit');
    const clock = new FakeClock();
    const written: string[] = [];
    const trail = await openTrail(t, { dir, signingKey: privateKey, clock: clock.read, checkpointIntervalMs: 5000, onWritten: (l) => written.push(...l) });
    for (let i = 0; i < 3; i++) trail.record(logonEvent('User:alice', clock.now));
    await trail.flush();
    const [file] = auditFiles(dir);
    assert.ok(file !== undefined);
    assert.equal(basename(file), 'audit-00000000000000000001.jsonl');
    assert.deepEqual(fileLines(file).map((l) => parsed(l).seq), [1, 2, 3]);
    assert.equal(parsed(fileLines(file)[0] ?? '').prev, GENESIS_PREV);
    assert.ok(fileLines(file).every((l) => parsed(l).event !== undefined), 'no checkpoint before the interval ends');

    clock.advance(5000);
    trail.record(logonEvent('User:bob', clock.now, false));
    await trail.flush();
    const lines = fileLines(file);
    assert.equal(lines.length, 5);
    const cp = parsed(lines[4] ?? '');
    assert.ok(cp.checkpoint !== undefined, 'the interval ended: a checkpoint after the event');
    assert.equal(cp.checkpoint.key, keyId(publicKey));
    assert.equal(cp.checkpoint.time, clock.now);
    assert.ok(checkpointSignatureValid(publicKey, cp.seq, cp.prev, cp.checkpoint.signature));
    const head = await readHead(join(dir, 'head.json'));
    assert.deepEqual(head, { file: basename(file), seq: 5, prev: cp.prev, checkpoint: cp.checkpoint });
    assert.deepEqual(written, lines, 'onWritten saw each line once, in order, after its fsync');

    clock.advance(10);
    trail.record(logonEvent('User:carol', clock.now));
    await trail.close();
    const closed = fileLines(file);
    assert.equal(closed.length, 7);
    assert.ok(parsed(closed[6] ?? '').checkpoint !== undefined, 'close writes a last checkpoint');
    assertChained([file]);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'head.json')).mode & 0o777, 0o600);
    const report = await verifyAuditFiles([file], publicKey, { head: (await readHead(join(dir, 'head.json')))! }); // eslint-disable-line @typescript-eslint/no-non-null-assertion
    assert.deepEqual(report.problems, []);
    assert.equal(report.ok, true);
    assert.equal(report.events, 5);
    assert.equal(report.checkpoints, 2);
  });

  it('writes the checkpoint of an interval on its own, with nothing else recorded after it', async (t) => {
    const dir = tempDir(t);
    const trail = await openTrail(t, { dir, signingKey: privateKey, checkpointIntervalMs: 30 });
    trail.record(logonEvent('User:a', 1));
    await trail.flush();
    const file = auditFiles(dir)[0] ?? '';
    assert.equal(fileLines(file).length, 1);
    for (let i = 0; i < 100 && fileLines(file).length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(parsed(fileLines(file)[1] ?? '{}').checkpoint !== undefined, 'the timer wrote the checkpoint');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(fileLines(file).length, 2, 'and no more checkpoints while nothing is written');
  });

  it('writes an event recorded just as the write loop finishes at once, not at the next interval', async (t) => {
    // The interval is an hour, so only the write loop can write these; each event is recorded a few
    // microtasks after a batch was written, which lands one of them between the loop's last look at
    // its queue and its end: it must still be written (and its flush resolve) without the timer.
    const dir = tempDir(t);
    const pending: Promise<void>[] = [];
    const opened: { trail?: AuditTrail } = {};
    let depth = 0;
    const recordLater = (n: number): void => {
      if (n > 0) {
        void Promise.resolve().then(() => {
          recordLater(n - 1);
        });
        return;
      }
      opened.trail?.record(logonEvent(`User:d${depth}`, 1));
      pending.push(opened.trail?.flush() ?? Promise.resolve());
    };
    const trail = await openTrail(t, {
      dir,
      signingKey: privateKey,
      checkpointIntervalMs: 3_600_000,
      onWritten: () => {
        if (depth < 12) recordLater(depth++);
      },
    });
    opened.trail = trail;
    trail.record(logonEvent('User:first', 1));
    await trail.flush();
    // Each written event records the next: with one left unwritten the chain stops short.
    for (let i = 0; i < 200 && pending.length < 12; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(pending.length, 12, `the chain stopped after ${pending.length} events`);
    const timeout = new Promise<string>((r) => {
      setTimeout(() => {
        r('timed out');
      }, 2000).unref();
    });
    assert.equal(await Promise.race([Promise.all(pending).then(() => 'flushed'), timeout]), 'flushed');
  });

  it('writes nothing, not even a checkpoint, when nothing was recorded', async (t) => {
    const dir = tempDir(t);
    const trail = await AuditTrail.open({ dir, signingKey: privateKey });
    await trail.flush();
    await trail.close();
    const [file] = auditFiles(dir);
    assert.ok(file !== undefined);
    assert.equal(readFileSync(file, 'utf8'), '');
  });

  it('continues the chain of the newest file after a restart, clean or not', async (t) => {
    const dir = tempDir(t);
    const first = await AuditTrail.open({ dir, signingKey: privateKey });
    first.record(logonEvent('User:a', 1));
    await first.close();
    // A crash: the second trail is never closed before the third opens.
    const second = await openTrail(t, { dir, signingKey: privateKey });
    second.record(logonEvent('User:b', 2));
    second.record(logonEvent('User:c', 3));
    await second.flush();
    const third = await openTrail(t, { dir, signingKey: privateKey });
    third.record(logonEvent('User:d', 4));
    await third.close();
    const files = auditFiles(dir);
    assert.equal(files.length, 1, 'the same file goes on');
    assert.deepEqual(
      fileLines(files[0] ?? '').map((l) => parsed(l).event?.actor?.user?.name ?? 'checkpoint'),
      ['User:a', 'checkpoint', 'User:b', 'User:c', 'User:d', 'checkpoint'],
    );
    // A crash left b and c unsigned; the next run signs them at its first checkpoint, even with nothing new.
    const crashed = await openTrail(t, { dir, signingKey: privateKey });
    crashed.record(logonEvent('User:e', 5));
    await crashed.flush();
    const fourth = await AuditTrail.open({ dir, signingKey: privateKey });
    await fourth.close();
    assert.deepEqual(
      fileLines(files[0] ?? '').slice(6).map((l) => parsed(l).event?.actor?.user?.name ?? 'checkpoint'),
      ['User:e', 'checkpoint'],
    );
    assertChained(files);
    const report = await verifyAuditFiles(files, publicKey);
    assert.equal(report.ok, true, JSON.stringify(report.problems));
  });
});

describe('AuditTrail: rotation and retention', () => {
  it('closes each file with a checkpoint before maxFileBytes and chains the next file to it', async (t) => {
    const dir = tempDir(t);
    const trail = await openTrail(t, { dir, signingKey: privateKey, maxFileBytes: 4000 });
    for (let i = 0; i < 40; i++) {
      trail.record(logonEvent(`User:u${i}`, i));
      if (i % 7 === 0) await trail.flush();
    }
    await trail.close();
    const files = auditFiles(dir);
    assert.ok(files.length >= 5, `${files.length} files`);
    for (const f of files) {
      const lines = fileLines(f);
      assert.ok(statSync(f).size <= 4000, `${basename(f)} is ${statSync(f).size} bytes`);
      assert.ok(parsed(lines.at(-1) ?? '').checkpoint !== undefined, `${basename(f)} ends with a checkpoint`);
      assert.equal(basename(f), `audit-${String(parsed(lines[0] ?? '').seq).padStart(20, '0')}.jsonl`, 'named by its first seq');
    }
    assertChained(files);
    const report = await verifyAuditFiles(files, publicKey, { head: (await readHead(join(dir, 'head.json')))! }); // eslint-disable-line @typescript-eslint/no-non-null-assertion
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.equal(report.events, 40);
  });

  it('keeps at most maxFiles, oldest deleted first; what is left still verifies, from where it starts', async (t) => {
    const dir = tempDir(t);
    const trail = await openTrail(t, { dir, signingKey: privateKey, maxFileBytes: 4000, maxFiles: 3 });
    for (let i = 0; i < 40; i++) {
      trail.record(logonEvent(`User:u${i}`, i));
      await trail.flush();
    }
    await trail.close();
    const files = auditFiles(dir);
    assert.equal(files.length, 3);
    assert.notEqual(basename(files[0] ?? ''), 'audit-00000000000000000001.jsonl');
    const report = await verifyAuditFiles(files, publicKey, { head: (await readHead(join(dir, 'head.json')))! }); // eslint-disable-line @typescript-eslint/no-non-null-assertion
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.match(report.notes.join('\n'), new RegExp(`start at seq ${report.firstSeq} \\(earlier files removed by retention or not given\\)`));
  });

  it('verifies a trail whose oldest files retention deletes between the listing and the reading; a file gone from the middle is a problem', async (t) => {
    const dir = tempDir(t);
    const trail = await openTrail(t, { dir, signingKey: privateKey, maxFileBytes: 4000 });
    for (let i = 0; i < 40; i++) {
      trail.record(logonEvent(`User:u${i}`, i));
      await trail.flush();
    }
    await trail.close();
    const files = auditFiles(dir);
    assert.ok(files.length >= 4, `${files.length} files`);
    const head = (await readHead(join(dir, 'head.json')))!; // eslint-disable-line @typescript-eslint/no-non-null-assertion
    // Listed, then deleted by retention before verify reads them (a running broker rotating meanwhile).
    rmSync(files[0] ?? '');
    rmSync(files[1] ?? '');
    const report = await verifyAuditFiles(files, publicKey, { head });
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.match(report.notes.join('\n'), /2 of the oldest files listed were removed \(by retention\) before they were read/);
    // A file missing after one that was read is not retention: the chain has a hole.
    rmSync(files[3] ?? '');
    const holed = await verifyAuditFiles(files, publicKey, { head });
    assert.equal(holed.ok, false);
    assert.ok(holed.problems.some((p) => p.kind === 'unreadable' && p.file === files[3]), JSON.stringify(holed.problems));
  });

  it('deletes files last written more than maxAgeMs ago at the next rotation, never the active file', async (t) => {
    const dir = tempDir(t);
    const clock = new FakeClock(Date.now());
    const day = 24 * 3600 * 1000;
    const trail = await openTrail(t, { dir, signingKey: privateKey, maxFileBytes: 4000, maxAgeMs: 7 * day, clock: clock.read });
    for (let i = 0; i < 12; i++) {
      trail.record(logonEvent(`User:u${i}`, i));
      await trail.flush();
    }
    const before = auditFiles(dir);
    assert.ok(before.length >= 2);
    // The older files were last written 8 days ago.
    const old = (Date.now() - 8 * day) / 1000;
    for (const f of before.slice(0, -1)) utimesSync(f, old, old);
    for (let i = 0; i < 12; i++) {
      trail.record(logonEvent(`User:v${i}`, i));
      await trail.flush();
    }
    const after = auditFiles(dir);
    for (const f of before.slice(0, -1)) assert.ok(!after.includes(f), `${basename(f)} was deleted`);
    assert.ok(after.includes(before.at(-1) ?? ''), 'the file that was active then, written since, is kept');
    await trail.close();
  });
});

describe('AuditTrail: an incomplete last line (a crash mid-write)', () => {
  it('is kept, and the trail goes on in a new file whose first event records it; verify accepts exactly that', async (t) => {
    const dir = tempDir(t);
    const first = await AuditTrail.open({ dir, signingKey: privateKey });
    first.record(logonEvent('User:a', 1));
    first.record(logonEvent('User:b', 2));
    await first.close();
    const [old] = auditFiles(dir);
    assert.ok(old !== undefined);
    const size = statSync(old).size;
    appendFileSync(old, '{"seq":4,"prev":"1f2e');
    const second = await openTrail(t, { dir, signingKey: privateKey });
    second.record(logonEvent('User:c', 3));
    await second.close();
    const files = auditFiles(dir);
    assert.equal(files.length, 2);
    assert.equal(readFileSync(old, 'utf8').endsWith('"prev":"1f2e'), true, 'the incomplete line is not hidden');
    const repair = parsed(fileLines(files[1] ?? '')[0] ?? '');
    assert.equal(basename(files[1] ?? ''), 'audit-00000000000000000004.jsonl');
    assert.deepEqual(repair.event?.unmapped, { parapet_type: 'audit-tail-repaired', file: basename(old), offset: size, bytes: 21 });
    assert.equal(repair.prev, lineHash(fileLines(old)[2] ?? ''), 'chained from the last complete line');
    const report = await verifyAuditFiles(files, publicKey, { head: (await readHead(join(dir, 'head.json')))! }); // eslint-disable-line @typescript-eslint/no-non-null-assertion
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.match(report.notes.join('\n'), /ends with an incomplete line \(21 bytes at offset \d+, a crash mid-write\); line 1 of audit-00000000000000000004\.jsonl records its repair/);
  });

  it('sets aside a newest file without one complete line, and records that', async (t) => {
    const dir = tempDir(t);
    const first = await AuditTrail.open({ dir, signingKey: privateKey, maxFileBytes: 2000 });
    for (let i = 0; i < 3; i++) first.record(logonEvent(`User:u${i}`, i));
    await first.close();
    const files = auditFiles(dir);
    const nextSeq = parsed(fileLines(files.at(-1) ?? '').at(-1) ?? '').seq + 1;
    const broken = join(dir, `audit-${String(nextSeq).padStart(20, '0')}.jsonl`);
    appendFileSync(broken, '{"seq":');
    const second = await openTrail(t, { dir, signingKey: privateKey });
    await second.close();
    assert.equal(readFileSync(`${broken}.partial`, 'utf8'), '{"seq":');
    const repair = parsed(fileLines(broken)[0] ?? '');
    assert.deepEqual(repair.event?.unmapped, { parapet_type: 'audit-tail-repaired', file: `${basename(broken)}.partial`, offset: 0, bytes: 7 });
    const report = await verifyAuditFiles(auditFiles(dir), publicKey);
    assert.equal(report.ok, true, JSON.stringify(report.problems));
  });
});

describe('AuditTrail: a failing disk', () => {
  it('on ENOSPC mid-write: not writable, flush rejects, nothing dropped nor half-written; writable again once a write succeeds', async (t) => {
    const dir = tempDir(t);
    const fs = new FaultyFs();
    const faults: Error[] = [];
    const trail = await openTrail(t, { dir, signingKey: privateKey, fs, retryMaxMs: 20, onFault: (e) => faults.push(e) });
    trail.record(logonEvent('User:a', 1));
    await trail.flush();
    const file = auditFiles(dir)[0] ?? '';
    const good = statSync(file).size;
    fs.partialWrite = true;
    fs.writeError = 'ENOSPC';
    // Lines of different lengths, so that half the batch ends inside a line.
    trail.record(logonEvent('User:b', 2));
    trail.record(logonEvent('User:carol', 3));
    await assert.rejects(trail.flush(), (err: Error) => err instanceof AuditWriteError && /ENOSPC/.test(err.message));
    assert.ok(statSync(file).size > good, 'half a batch reached the file: the retry must cut it back');
    assert.ok(!readFileSync(file, 'utf8').endsWith('\n'), 'it ends in the middle of a line');
    assert.equal(trail.writable, false);
    assert.equal((faults[0] as NodeJS.ErrnoException | undefined)?.code, 'ENOSPC');
    trail.record(logonEvent('User:d', 4));
    await assert.rejects(trail.flush(), AuditWriteError, 'a flush while failing rejects at once');
    // Retries go on (every few ms here) and fail while the disk is full.
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(fs.writes > 3, `${fs.writes} writes tried`);
    fs.writeError = undefined;
    await writableAgain(trail);
    assert.equal(trail.writable, true);
    await trail.flush();
    await trail.close();
    const names = fileLines(file).flatMap((l) => parsed(l).event?.actor?.user?.name ?? []);
    assert.deepEqual(names, ['User:a', 'User:b', 'User:carol', 'User:d']);
    const report = await verifyAuditFiles(auditFiles(dir), publicKey);
    assert.equal(report.ok, true, JSON.stringify(report.problems));
  });

  it('on EIO from fsync: the same, the lines written again after the file is cut back', async (t) => {
    const dir = tempDir(t);
    const fs = new FaultyFs();
    const trail = await openTrail(t, { dir, signingKey: privateKey, fs, retryMaxMs: 20 });
    fs.syncError = 'EIO';
    trail.record(logonEvent('User:a', 1));
    await assert.rejects(trail.flush(), /EIO/);
    assert.equal(trail.writable, false);
    fs.syncError = undefined;
    await writableAgain(trail);
    assert.equal(trail.writable, true);
    await trail.close();
    const lines = fileLines(auditFiles(dir)[0] ?? '');
    assert.equal(lines.length, 2, 'the event once, and the closing checkpoint');
    assert.equal((await verifyAuditFiles(auditFiles(dir), publicKey)).ok, true);
  });

  it('bounds its queue: beyond maxQueuedEvents events are dropped and counted, then an audit-events-dropped event says how many', async (t) => {
    const dir = tempDir(t);
    const fs = new FaultyFs();
    const trail = await openTrail(t, { dir, signingKey: privateKey, fs, retryMaxMs: 20, maxQueuedEvents: 5 });
    fs.writeError = 'EIO';
    for (let i = 0; i < 8; i++) trail.record(logonEvent(`User:u${i}`, i));
    assert.equal(trail.writable, false);
    assert.equal(trail.droppedEvents, 3);
    fs.writeError = undefined;
    await writableAgain(trail);
    await trail.close();
    const events = fileLines(auditFiles(dir)[0] ?? '').flatMap((l) => parsed(l).event ?? []);
    assert.deepEqual(
      events.map((e) => e.actor?.user?.name ?? e.unmapped.parapet_type),
      ['User:u0', 'User:u1', 'User:u2', 'User:u3', 'User:u4', 'audit-events-dropped'],
    );
    assert.equal(events[5]?.unmapped.count, 3);
  });

  it('a full queue alone (no fault) makes the trail not writable until it drains', async (t) => {
    const dir = tempDir(t);
    const trail = await openTrail(t, { dir, signingKey: privateKey, maxQueuedEvents: 2 });
    trail.record(logonEvent('User:a', 1));
    trail.record(logonEvent('User:b', 2));
    assert.equal(trail.writable, false);
    await trail.flush();
    assert.equal(trail.writable, true);
  });
});
