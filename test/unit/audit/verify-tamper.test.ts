import assert from 'node:assert/strict';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import fc from 'fast-check';
import { readHead, type AuditHead } from '../../../src/audit/audit-files.js';
import { AuditTrail } from '../../../src/audit/audit-trail.js';
import { lineHash } from '../../../src/audit/chain.js';
import { keyId } from '../../../src/audit/signing-key.js';
import { verifyAuditFiles, type AuditProblem, type AuditVerifyReport } from '../../../src/audit/verify.js';
import { auditFiles, fileLines, keyPair, logonEvent, parsed, tempDir, writtenTrail } from './audit-support.js';

const { privateKey, publicKey } = keyPair();

/**
 * The tamper suite: a trail written by AuditTrail (40 events, a checkpoint after every 10: 44 lines,
 * the last a checkpoint that head.json names), then changed as an intruder would. Each change must
 * be caught, and located.
 */

async function head(dir: string): Promise<AuditHead> {
  const h = await readHead(join(dir, 'head.json'));
  assert.ok(h !== undefined);
  return h;
}

async function verifyLines(file: string, lines: readonly string[], h: AuditHead): Promise<AuditVerifyReport> {
  writeFileSync(file, `${lines.join('\n')}\n`);
  return verifyAuditFiles([file], publicKey, { head: h });
}

function only(report: AuditVerifyReport): AuditProblem {
  assert.equal(report.ok, false);
  assert.equal(report.problems.length, 1, JSON.stringify(report.problems, null, 1));
  const [p] = report.problems;
  assert.ok(p !== undefined);
  return p;
}

async function trail(t: TestContext): Promise<{ file: string; lines: string[]; h: AuditHead }> {
  const { dir, file } = await writtenTrail(t, privateKey);
  const lines = fileLines(file);
  assert.equal(lines.length, 44);
  return { file, lines, h: await head(dir) };
}

describe('audit verify: the tamper suite', () => {
  it('an untouched trail verifies, against the key id of the signing key', async (t) => {
    const { file, h } = await trail(t);
    const report = await verifyAuditFiles([file], publicKey, { head: h });
    assert.deepEqual(report.problems, []);
    assert.equal(report.ok, true);
    assert.equal(report.keyId, keyId(publicKey));
    assert.deepEqual([report.lines, report.events, report.checkpoints, report.firstSeq, report.lastSeq, report.unsignedEvents], [44, 40, 4, 1, 44, 0]);
  });

  it('a modified event: named, with its line and seq', async (t) => {
    const { file, lines, h } = await trail(t);
    lines[16] = (lines[16] ?? '').replace('"port":50000', '"port":50001');
    assert.notEqual(lines[16], fileLines(file)[16]);
    const p = only(await verifyLines(file, lines, h));
    assert.equal(p.kind, 'modified');
    assert.deepEqual([p.line, p.seq], [17, 17]);
    assert.equal(p.message, 'line 17 (seq 17) was modified: its hash does not match the prev of line 18');
  });

  it('a deleted event: the missing seq and where it was', async (t) => {
    const { file, lines, h } = await trail(t);
    lines.splice(16, 1);
    const p = only(await verifyLines(file, lines, h));
    assert.equal(p.kind, 'deleted');
    assert.equal(p.seq, 17);
    assert.equal(p.message, 'seq 17 is missing between line 16 and line 17 (deleted)');
  });

  it('several deleted lines: the range', async (t) => {
    const { file, lines, h } = await trail(t);
    lines.splice(4, 3);
    const p = only(await verifyLines(file, lines, h));
    assert.equal(p.kind, 'deleted');
    assert.equal(p.message, 'seq 5 to 7 (3 lines) are missing between line 4 and line 5 (deleted)');
  });

  it('an inserted event, even one that chains to the line before it: where', async (t) => {
    const { file, lines, h } = await trail(t);
    const before = parsed(lines[10] ?? '');
    const forged = JSON.stringify({ seq: before.seq + 1, prev: lineHash(lines[10] ?? ''), event: logonEvent('User:mallory', 1) });
    lines.splice(11, 0, forged);
    const p = only(await verifyLines(file, lines, h));
    assert.equal(p.kind, 'inserted');
    assert.deepEqual([p.line, p.seq], [12, 12]);
    assert.equal(p.message, 'a line was inserted at line 12 (seq 12): line 13 chains to the line before it');
  });

  it('an event copied right after itself: the copy', async (t) => {
    const { file, lines, h } = await trail(t);
    lines.splice(5, 0, lines[4] ?? '');
    const p = only(await verifyLines(file, lines, h));
    assert.equal(p.kind, 'inserted');
    assert.equal(p.message, 'line 6 (seq 5) is a copy of line 5: it was inserted');
  });

  it('an inserted line that is not an audit line', async (t) => {
    const { file, lines, h } = await trail(t);
    lines.splice(11, 0, '{"hello":"world"}');
    const p = only(await verifyLines(file, lines, h));
    assert.equal(p.kind, 'invalid-line');
    assert.equal(p.line, 12);
  });

  it('an inserted line with a made-up prev', async (t) => {
    const { file, lines, h } = await trail(t);
    lines.splice(11, 0, JSON.stringify({ seq: 12, prev: 'ab'.repeat(32), event: logonEvent('User:mallory', 1) }));
    const p = only(await verifyLines(file, lines, h));
    assert.equal(p.kind, 'inserted');
    assert.equal(p.line, 12);
  });

  it('two events swapped: out of order, at the line whose seq goes back', async (t) => {
    const { file, lines, h } = await trail(t);
    [lines[19], lines[20]] = [lines[20] ?? '', lines[19] ?? ''];
    const p = only(await verifyLines(file, lines, h));
    assert.equal(p.kind, 'reordered');
    assert.deepEqual([p.line, p.seq], [21, 20]);
    assert.equal(p.message, 'line 21 (seq 20) is out of order: it comes after line 20 (seq 21)');
  });

  it('an event moved further: out of order', async (t) => {
    const { file, lines, h } = await trail(t);
    const [moved] = lines.splice(5, 1);
    lines.splice(9, 0, moved ?? '');
    const report = await verifyLines(file, lines, h);
    assert.equal(report.ok, false);
    assert.ok(report.problems.some((p) => p.kind === 'reordered' && p.line !== undefined && p.line >= 6 && p.line <= 10), JSON.stringify(report.problems));
  });

  it('a tail cut by whole lines, before the signed head: truncated, with both seqs', async (t) => {
    const { file, lines, h } = await trail(t);
    const p = only(await verifyLines(file, lines.slice(0, 39), h));
    assert.equal(p.kind, 'truncated');
    assert.deepEqual([p.line, p.seq], [39, 39]);
    assert.match(p.message, /^the trail ends at seq 39 \(line 39 of audit-0+1\.jsonl\) but the signed head names the checkpoint at seq 44 in audit-0+1\.jsonl: the tail was cut$/);
  });

  it('a tail cut in the middle of a line: the incomplete line, and the cut', async (t) => {
    const { file, h } = await trail(t);
    const size = readFileSync(file).length;
    truncateSync(file, size - 30);
    const report = await verifyAuditFiles([file], publicKey, { head: h });
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.problems.map((p) => [p.kind, p.line]),
      [
        ['partial-line', 44],
        ['truncated', 43],
      ],
    );
    assert.match(report.problems[0]?.message ?? '', /^line 44 of audit-0+1\.jsonl is incomplete \(\d+ bytes at offset \d+, no newline\): the file was cut in the middle of a line$/);
  });

  it("a checkpoint's signature replaced by another's: a bad signature, at that line", async (t) => {
    const { file, lines, h } = await trail(t);
    const other = parsed(lines[10] ?? '').checkpoint?.signature ?? '';
    const cp = parsed(lines[21] ?? '');
    assert.ok(cp.checkpoint !== undefined);
    lines[21] = JSON.stringify({ seq: cp.seq, prev: cp.prev, checkpoint: { ...cp.checkpoint, signature: other } });
    const report = await verifyLines(file, lines, h);
    assert.equal(report.ok, false);
    assert.ok(report.problems.some((p) => p.kind === 'bad-signature' && p.line === 22 && p.message === 'the checkpoint at line 22 (seq 22) has a bad signature'));
    assert.ok(report.problems.every((p) => p.line === 22), JSON.stringify(report.problems));
  });

  it('another key: every checkpoint and the head refused, naming both key ids', async (t) => {
    const { file, h } = await trail(t);
    const other = keyPair().publicKey;
    const report = await verifyAuditFiles([file], other, { head: h });
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.problems.map((p) => [p.kind, p.line ?? null]),
      [
        ['wrong-key', 11],
        ['wrong-key', 22],
        ['wrong-key', 33],
        ['wrong-key', 44],
        ['head', null],
      ],
    );
    assert.ok(report.problems[0]?.message.includes(`signed by key ${keyId(publicKey)}, not by the key given (${keyId(other)})`));
  });

  it('a file whose first lines were deleted, its name unchanged: the name gives it away', async (t) => {
    const { file, lines, h } = await trail(t);
    const report = await verifyLines(file, lines.slice(3), h);
    assert.equal(report.ok, false);
    assert.ok(report.problems.some((p) => p.kind === 'deleted' && p.message.includes('starts at seq 4 but its name says seq 1')));
  });

  it('any single character changed, anywhere, is caught, at that line or the next', async (t) => {
    const { file, lines, h } = await trail(t);
    const original = [...lines];
    await fc.assert(
      fc.asyncProperty(fc.nat(lines.length - 1), fc.nat(10_000), fc.integer({ min: 0x20, max: 0x7e }), async (i, at, code) => {
        const line = original[i] ?? '';
        const pos = at % line.length;
        const ch = String.fromCharCode(code);
        fc.pre(line[pos] !== ch);
        const changed = [...original];
        changed[i] = line.slice(0, pos) + ch + line.slice(pos + 1);
        const report = await verifyLines(file, changed, h);
        assert.equal(report.ok, false, `line ${i + 1}, char ${pos} → ${ch}`);
        const located = report.problems.some((p) => p.line === i + 1 || p.line === i + 2 || (p.kind === 'modified' && p.seq === i + 1));
        assert.ok(located, `line ${i + 1} changed; problems: ${JSON.stringify(report.problems)}`);
      }),
      { numRuns: 150 },
    );
  });
});

describe('audit verify: random whole-line tampering', () => {
  it('any deletion, copy, swap or move of lines is caught', async (t) => {
    const { file, lines, h } = await trail(t);
    const original = [...lines];
    const n = original.length;
    const edit = fc.oneof(
      fc.record({ op: fc.constant('delete' as const), i: fc.nat(n - 1), count: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ op: fc.constant('copy' as const), i: fc.nat(n - 1), to: fc.nat(n) }),
      fc.record({ op: fc.constant('swap' as const), i: fc.nat(n - 2) }),
      fc.record({ op: fc.constant('move' as const), i: fc.nat(n - 1), to: fc.nat(n - 1) }),
    );
    await fc.assert(
      fc.asyncProperty(edit, async (e) => {
        const changed = [...original];
        if (e.op === 'delete') changed.splice(e.i, e.count);
        if (e.op === 'copy') changed.splice(e.to, 0, original[e.i] ?? '');
        if (e.op === 'swap') [changed[e.i], changed[e.i + 1]] = [original[e.i + 1] ?? '', original[e.i] ?? ''];
        if (e.op === 'move') {
          fc.pre(e.i !== e.to);
          const [moved] = changed.splice(e.i, 1);
          changed.splice(e.to, 0, moved ?? '');
        }
        const report = await verifyLines(file, changed, h);
        assert.equal(report.ok, false, JSON.stringify(e));
      }),
      { numRuns: 150 },
    );
  });
});

describe('audit verify: a set of files', () => {
  async function rotatedTrail(t: TestContext): Promise<{ dir: string; files: string[] }> {
    const dir = tempDir(t);
    const trail = await AuditTrail.open({ dir, signingKey: privateKey, maxFileBytes: 3000 });
    for (let i = 0; i < 20; i++) trail.record(logonEvent(`User:u${i}`, i));
    await trail.close();
    const files = auditFiles(dir);
    assert.ok(files.length >= 4);
    return { dir, files };
  }

  it('a file missing from the middle: the seqs it held, between which files', async (t) => {
    const { dir, files } = await rotatedTrail(t);
    const [, second, third] = files;
    const firstOfThird = parsed(fileLines(third ?? '')[0] ?? '').seq;
    const firstOfSecond = parsed(fileLines(second ?? '')[0] ?? '').seq;
    const given = files.filter((f) => f !== second);
    const p = only(await verifyAuditFiles(given, publicKey, { head: await head(dir) }));
    assert.equal(p.kind, 'deleted');
    assert.equal(p.seq, firstOfSecond);
    assert.match(p.message, new RegExp(`^seq ${firstOfSecond} to ${firstOfThird - 1} \\(\\d+ lines\\) are missing between line \\d+ of audit-0+1\\.jsonl and line 1 of audit-0+${firstOfThird}\\.jsonl \\(deleted\\)$`));
  });

  it('the files given in any order are verified in the order of their names', async (t) => {
    const { dir, files } = await rotatedTrail(t);
    const report = await verifyAuditFiles([...files].reverse(), publicKey, { head: await head(dir) });
    assert.equal(report.ok, true, JSON.stringify(report.problems));
  });

  it('a whole audit directory without its head.json, once something was signed: a problem', async (t) => {
    const { files } = await rotatedTrail(t);
    const p = only(await verifyAuditFiles(files, publicKey, { requireHead: true }));
    assert.equal(p.kind, 'head');
    const alone = await verifyAuditFiles(files, publicKey);
    assert.equal(alone.ok, true, 'files given without a head: nothing to compare the end with, not a failure');
  });
});

describe('audit verify: what is not a failure', () => {
  it('events after the last checkpoint: verified as a chain, and said to be not signed yet', async (t) => {
    const dir = tempDir(t);
    const trail = await AuditTrail.open({ dir, signingKey: privateKey });
    trail.record(logonEvent('User:a', 1));
    await trail.checkpoint();
    trail.record(logonEvent('User:b', 2));
    trail.record(logonEvent('User:c', 3));
    await trail.flush();
    const report = await verifyAuditFiles(auditFiles(dir), publicKey, { head: await head(dir) });
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.equal(report.unsignedEvents, 2);
    assert.ok(report.notes.includes('2 event(s) after the last checkpoint are not signed yet (the next checkpoint signs them)'));
    await trail.close();
  });

  it('a partial line in an older file without a repair record after it is a cut', async (t) => {
    const dir = tempDir(t);
    const trail = await AuditTrail.open({ dir, signingKey: privateKey, maxFileBytes: 3000 });
    for (let i = 0; i < 10; i++) trail.record(logonEvent(`User:u${i}`, i));
    await trail.close();
    const files = auditFiles(dir);
    assert.ok(files.length >= 2);
    const first = files[0] ?? '';
    const size = readFileSync(first).length;
    truncateSync(first, size - 10);
    const report = await verifyAuditFiles(files, publicKey, { head: await head(dir) });
    assert.equal(report.ok, false);
    assert.ok(report.problems.some((p) => p.kind === 'partial-line' && p.file === first), JSON.stringify(report.problems));
  });
});
