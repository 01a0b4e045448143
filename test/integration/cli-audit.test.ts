import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { AuditTrail } from '../../src/audit/audit-trail.js';
import { ensureAuditSigningKey, keyId, loadAuditSigningKey } from '../../src/audit/signing-key.js';
import { CLI, runParapet } from '../helpers/cli-process.js';
import { logonEvent } from '../unit/audit/audit-support.js';

/**
 * `parapet audit verify|tail|search` as an operator runs them, as processes, on a data directory
 * whose audit trail AuditTrail wrote (the key where `parapet init` puts it, beside the directory).
 */

interface Trail {
  readonly dataDir: string;
  readonly auditDir: string;
  readonly keyFile: string;
}

async function dataDirWithTrail(t: TestContext, options: { auditDir?: string } = {}): Promise<Trail> {
  const root = mkdtempSync(join(tmpdir(), 'parapet-cli-audit-'));
  t.after(() => {
    rmSync(root, { recursive: true, force: true });
  });
  const dataDir = join(root, 'data');
  const keyFile = join(`${dataDir}-keys`, 'audit-signing.key');
  ensureAuditSigningKey(keyFile);
  let auditDir = join(dataDir, 'audit');
  if (options.auditDir !== undefined) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'parapet.yaml'), `audit:\n  dir: ${options.auditDir}\n`);
    auditDir = join(dataDir, options.auditDir);
  }
  const trail = await AuditTrail.open({ dir: auditDir, signingKey: loadAuditSigningKey(`\${file:${keyFile}}`), maxFileBytes: 4000 });
  const now = Date.now();
  for (let i = 0; i < 12; i++) trail.record(logonEvent(i % 2 === 0 ? 'User:alice' : 'User:bob', now - (12 - i) * 60_000, i % 3 !== 0));
  // One old event: three days ago.
  trail.record({ ...logonEvent('User:carol', now - 3 * 86_400_000), message: 'User:carol logged in long ago' });
  await trail.close();
  return { dataDir, auditDir, keyFile };
}

describe('parapet audit verify', () => {
  it('an intact trail: exit 0, the key id it verified against, the head it checked the end with', async (t) => {
    const { dataDir, auditDir, keyFile } = await dataDirWithTrail(t);
    const out = await runParapet(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(out.code, 0, out.stderr + out.stdout);
    const id = keyId(loadAuditSigningKey(`\${file:${keyFile}}`));
    assert.match(out.stdout, new RegExp(`^verified \\d+ files \\(\\d+ lines: 13 events, \\d+ checkpoints, seq 1 to \\d+\\) against the public key with id ${id}$`, 'm'));
    assert.ok(out.stdout.includes(`signed head: ${join(auditDir, 'head.json')}`));
    assert.match(out.stdout, /^OK: the audit trail is intact$/m);
  });

  it('a modified event: exit 1, the file, line and seq', async (t) => {
    const { dataDir, auditDir } = await dataDirWithTrail(t);
    const file = join(auditDir, 'audit-00000000000000000001.jsonl');
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[1] = (lines[1] ?? '').replace('User:bob', 'User:eve');
    writeFileSync(file, lines.join('\n'));
    const out = await runParapet(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(out.code, 1);
    assert.match(out.stdout, /^FAILED: 1 problem:$/m);
    assert.ok(out.stdout.includes('  [modified] audit-00000000000000000001.jsonl line 2 seq 2: line 2 (seq 2) was modified: its hash does not match the prev of line 3'), out.stdout);
    const json = await runParapet(['audit', 'verify', '--data-dir', dataDir, '--json']);
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout) as { ok: boolean; problems: { kind: string; line: number; seq: number }[] };
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.problems.map((p) => [p.kind, p.line, p.seq]),
      [['modified', 2, 2]],
    );
  });

  it('a deleted newest file (the tail cut): exit 1, named by the signed head', async (t) => {
    const { dataDir, auditDir } = await dataDirWithTrail(t);
    const ls = readdirSync(auditDir).filter((f) => f.endsWith('.jsonl')).sort();
    assert.ok(ls.length > 1);
    rmSync(join(auditDir, ls.at(-1) ?? ''));
    const out = await runParapet(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(out.code, 1);
    assert.match(out.stdout, /\[truncated\] .*: the trail ends at seq \d+ .* but the signed head names the checkpoint at seq \d+ in audit-\d+\.jsonl: the tail was cut/);
  });

  it('a trail being written meanwhile (a running broker) verifies', async (t) => {
    const { dataDir, auditDir, keyFile } = await dataDirWithTrail(t);
    const trail = await AuditTrail.open({ dir: auditDir, signingKey: loadAuditSigningKey(`\${file:${keyFile}}`), maxFileBytes: 64 * 1024, checkpointIntervalMs: 20 });
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        for (let j = 0; j < 20; j++) trail.record(logonEvent(`User:w${i}`, Date.now()));
        await trail.flush();
        await new Promise((r) => setTimeout(r, 2));
      }
      await trail.close();
    })();
    try {
      for (let i = 0; i < 3; i++) {
        const out = await runParapet(['audit', 'verify', '--data-dir', dataDir]);
        assert.equal(out.code, 0, out.stdout + out.stderr);
      }
    } finally {
      writing = false;
      await writer;
    }
    assert.ok(readdirSync(auditDir).filter((f) => f.endsWith('.jsonl')).length > 4, 'it rotated meanwhile');
  });

  it('head.json deleted: exit 1, said', async (t) => {
    const { dataDir, auditDir } = await dataDirWithTrail(t);
    rmSync(join(auditDir, 'head.json'));
    const out = await runParapet(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(out.code, 1);
    assert.match(out.stdout, /\[head\] head\.json: head\.json is missing though the trail has signed checkpoints/);
  });

  it('named files, with the public key alone (the auditor has no signing key); another key: exit 1', async (t) => {
    const { dataDir, auditDir, keyFile } = await dataDirWithTrail(t);
    renameSync(keyFile, `${keyFile}.away`);
    const noKey = await runParapet(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /^parapet: audit\.signingKey: cannot read .*audit-signing\.key \(ENOENT\); or give the public key with --public-key FILE/);
    const files = readdirSync(auditDir).filter((f) => f.endsWith('.jsonl')).map((f) => join(auditDir, f));
    const out = await runParapet(['audit', 'verify', ...files, '--public-key', `${keyFile}.pub`]);
    assert.equal(out.code, 0, out.stdout);
    assert.match(out.stdout, /signed head: none given/);
    const otherKey = join(dataDir, 'other.key');
    ensureAuditSigningKey(otherKey);
    const wrong = await runParapet(['audit', 'verify', ...files, '--public-key', `${otherKey}.pub`, '--head', join(auditDir, 'head.json')]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stdout, /\[wrong-key\] .* was signed by key [0-9a-f]{16}, not by the key given/);
    assert.match(wrong.stdout, /\[head\] head\.json seq \d+: the head \(seq \d+\) is not signed by the key given/);
  });

  it('no audit trail: exit 1, saying where it looked', async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'parapet-cli-audit-'));
    t.after(() => {
      rmSync(root, { recursive: true, force: true });
    });
    const out = await runParapet(['audit', 'verify', '--data-dir', root, '--public-key', '/dev/null']);
    assert.equal(out.code, 2, 'an empty public key file is bad usage');
    const tail = await runParapet(['audit', 'tail', '--data-dir', root]);
    assert.equal(tail.code, 1);
    assert.equal(tail.stderr, `parapet: no audit trail at ${join(root, 'audit')} (is auditing on for ${root}? pass --data-dir, or name the files)\n`);
  });
});

describe('parapet audit tail and search', () => {
  it('tail: the newest events, one line each; --json: the events', async (t) => {
    const { dataDir } = await dataDirWithTrail(t, { auditDir: 'trail' });
    const out = await runParapet(['audit', 'tail', '-n', '2', '--data-dir', dataDir]);
    assert.equal(out.code, 0, out.stderr);
    const lines = out.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0] ?? '', /^\d{4}-\d\d-\d\dT[\d:.]+Z {2}Authentication\/Logon {2}Success {2}User:bob {2}User:bob logged in$/);
    assert.match(lines[1] ?? '', /Authentication\/Logon {2}Success {2}User:carol {2}User:carol logged in long ago$/);
    const json = await runParapet(['audit', 'tail', '-n', '3', '--json', '--data-dir', dataDir]);
    const events = json.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { class_uid: number; actor: { user: { name: string } } });
    assert.deepEqual(
      events.map((e) => [e.class_uid, e.actor.user.name]),
      [
        [3002, 'User:alice'],
        [3002, 'User:bob'],
        [3002, 'User:carol'],
      ],
    );
  });

  it('search: by principal, outcome, type and time, every filter at once', async (t) => {
    const { dataDir } = await dataDirWithTrail(t);
    const failures = await runParapet(['audit', 'search', '--principal', 'alice', '--outcome', 'failure', '--data-dir', dataDir]);
    assert.equal(failures.code, 0, failures.stderr);
    const lines = failures.stdout.trimEnd().split('\n');
    // alice is i = 0, 2, 4, 6, 8, 10; failures are i % 3 === 0: 0 and 6.
    assert.equal(lines.length, 2);
    assert.ok(lines.every((l) => l.includes('Failure(SASL_AUTHENTICATION_FAILED)  User:alice  User:alice failed to log in')));
    const recent = await runParapet(['audit', 'search', '--type', 'authentication', '--since', '1d', '--data-dir', dataDir]);
    assert.equal(recent.stdout.trimEnd().split('\n').length, 12, 'carol logged in three days ago');
    const old = await runParapet(['audit', 'search', '--until', '2d', '--json', '--data-dir', dataDir]);
    assert.deepEqual(
      old.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as { message: string }).message),
      ['User:carol logged in long ago'],
    );
    const none = await runParapet(['audit', 'search', '--type', 'Account Change', '--data-dir', dataDir]);
    assert.deepEqual([none.code, none.stdout], [0, '']);
    const bad = await runParapet(['audit', 'search', '--since', 'yesterday', '--data-dir', dataDir]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--since takes an ISO time/);
  });

  it('tail --follow prints what is written after it starts, until Ctrl-C', async (t) => {
    const { dataDir, auditDir, keyFile } = await dataDirWithTrail(t);
    const child = spawn(process.execPath, [CLI, 'audit', 'tail', '-n', '1', '--follow', '--data-dir', dataDir]);
    t.after(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const waitFor = async (re: RegExp) => {
      for (let i = 0; i < 200 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 25));
      assert.match(out, re);
    };
    await waitFor(/long ago\n/);
    const trail = await AuditTrail.open({ dir: auditDir, signingKey: loadAuditSigningKey(`\${file:${keyFile}}`) });
    trail.record({ ...logonEvent('User:dave', Date.now()), message: 'dave arrives' });
    await trail.close();
    await waitFor(/User:dave {2}dave arrives\n/);
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => {
        resolve(code);
      });
    });
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.equal(out.trimEnd().split('\n').length, 2);
    assert.ok(!out.includes(basename(auditDir)));
  });
});
