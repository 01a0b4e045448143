import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AuditTrail } from '../../../src/audit/audit-trail.js';
import { followAuditRecords, lastAuditRecords, readAuditRecords, type AuditRecord } from '../../../src/audit/read.js';
import { matches, parseTimeSpec } from '../../../src/cli/auditing/event-filter.js';
import { eventLine } from '../../../src/cli/auditing/output.js';
import { auditFiles, keyPair, logonEvent, tempDir } from './audit-support.js';

const { privateKey } = keyPair();

async function all<T>(gen: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of gen) out.push(x);
  return out;
}

describe('reading the trail', () => {
  it('streams the events of every file in order, checkpoints only when asked, skipping what is not an audit line', async (t) => {
    const dir = tempDir(t);
    const trail = await AuditTrail.open({ dir, signingKey: privateKey, maxFileBytes: 3000 });
    for (let i = 0; i < 12; i++) trail.record(logonEvent(`User:u${i}`, i));
    await trail.close();
    const files = auditFiles(dir);
    assert.ok(files.length > 1);
    const events = await all(readAuditRecords(files));
    assert.deepEqual(
      events.map((r) => r.event?.actor?.user?.name),
      Array.from({ length: 12 }, (_, i) => `User:u${i}`),
    );
    const withCheckpoints = await all(readAuditRecords(files, { checkpoints: true }));
    assert.equal(withCheckpoints.filter((r) => r.checkpoint !== undefined).length, files.length);
    appendFileSync(files.at(-1) ?? '', 'garbage\n{"seq":');
    const invalid: number[] = [];
    const again = await all(readAuditRecords(files, { onInvalid: (_f, line) => invalid.push(line) }));
    assert.equal(again.length, 12, 'the garbage and the incomplete last line are left out');
    assert.equal(invalid.length, 1);
    const last3 = await lastAuditRecords(files, 3);
    assert.deepEqual(
      last3.map((r) => r.event?.actor?.user?.name),
      ['User:u9', 'User:u10', 'User:u11'],
    );
  });

  it('follows new events, across a rotation, until stopped', async (t) => {
    const dir = tempDir(t);
    const trail = await AuditTrail.open({ dir, signingKey: privateKey, maxFileBytes: 3000 });
    trail.record(logonEvent('User:before', 0));
    await trail.flush();
    const stop = new AbortController();
    const seen: AuditRecord[] = [];
    const following = (async () => {
      for await (const r of followAuditRecords(dir, { pollMs: 10, signal: stop.signal })) {
        seen.push(r);
        if (seen.length === 10) stop.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 10; i++) {
      trail.record(logonEvent(`User:u${i}`, i));
      await trail.flush();
    }
    await trail.close();
    await following;
    assert.ok(auditFiles(dir).length > 1, 'the trail rotated meanwhile');
    assert.deepEqual(
      seen.map((r) => r.event?.actor?.user?.name),
      Array.from({ length: 10 }, (_, i) => `User:u${i}`),
      'each new event once, none from before',
    );
  });
});

describe('audit search filters and output', () => {
  const ev = { ...logonEvent('User:alice', Date.UTC(2026, 11, 7, 8, 0, 0), false), message: 'bad\u001b[31m password' };

  it('match principal (with or without User:), type by class, uid, type name or Parapet type, outcome and time', () => {
    assert.ok(matches(ev, { principal: 'User:alice' }));
    assert.ok(matches(ev, { principal: 'alice' }));
    assert.ok(!matches(ev, { principal: 'bob' }));
    for (const type of ['authentication', '3002', 'Authentication: Logon', '300201', 'AUTHENTICATION-FAILED']) assert.ok(matches(ev, { type }), type);
    assert.ok(!matches(ev, { type: 'Account Change' }));
    assert.ok(matches(ev, { outcome: 'failure' }));
    assert.ok(!matches(ev, { outcome: 'success' }));
    assert.ok(matches(ev, { since: ev.time, until: ev.time }));
    assert.ok(!matches(ev, { since: ev.time + 1 }));
    assert.ok(!matches(ev, { until: ev.time - 1 }));
  });

  it('times: ISO, or ago in s, m, h, d; anything else refused', () => {
    const now = Date.UTC(2026, 11, 7, 12, 0, 0);
    assert.equal(parseTimeSpec('--since', '15m', now), now - 15 * 60_000);
    assert.equal(parseTimeSpec('--since', '2h', now), now - 2 * 3_600_000);
    assert.equal(parseTimeSpec('--since', '7d', now), now - 7 * 86_400_000);
    assert.equal(parseTimeSpec('--since', '2026-12-07T08:00:00Z', now), Date.UTC(2026, 11, 7, 8, 0, 0));
    assert.throws(() => parseTimeSpec('--since', 'yesterday', now), /--since takes an ISO time/);
    assert.throws(() => parseTimeSpec('--since', '5', now), /--since takes an ISO time/);
  });

  it('one line per event, terminal escapes shown, not obeyed', () => {
    assert.equal(eventLine(ev), '2026-12-07T08:00:00.000Z  Authentication/Logon  Failure(SASL_AUTHENTICATION_FAILED)  User:alice  bad\\x1b[31m password');
  });
});
