import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { AclOperation, ResourceType } from '../../../../src/protocol/acl.js';
import { DEFAULT_ACCESS_LOG_CONFIG, type AccessLogConfig } from '../../../../src/security/access-log/access-log-config.js';
import { AccessLog } from '../../../../src/security/access-log/access-log.js';
import { MetadataStore } from '../../../../src/storage/metadata-store.js';
import { recordingLogger } from '../../../helpers/broker.js';

const { READ, WRITE, DESCRIBE } = AclOperation;
const { TOPIC, GROUP } = ResourceType;

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-access-log-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** An access log over a real metadata store, with a clock the test moves. */
function open(t: TestContext, dir: string, config: Partial<AccessLogConfig> = {}) {
  const clock = { now: 1_000_000 };
  const store = new MetadataStore(dir);
  const logger = recordingLogger();
  const log = new AccessLog({ config: { ...DEFAULT_ACCESS_LOG_CONFIG, ...config }, store: store.accessStore(clock.now), logger, clock: () => clock.now });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    log.close();
    store.close();
  };
  t.after(close);
  return { log, clock, logger, close };
}

const names = (log: AccessLog, principal: string | null = null) => log.access(principal).map((a) => `${a.principal} ${a.operation} ${a.resourceName} ${a.count}`);

describe('AccessLog', () => {
  it('sums each distinct decision with its first and last time, apart by outcome and scope', (t) => {
    const { log, clock } = open(t, tempDir(t));
    log.record('User:alice', WRITE, TOPIC, 'orders', true, 'named');
    clock.now += 5000;
    log.record('User:alice', WRITE, TOPIC, 'orders', true, 'named');
    log.record('User:alice', WRITE, TOPIC, 'orders', false, 'named');
    log.record('User:alice', DESCRIBE, TOPIC, 'orders', true, 'listing');
    const rows = log.access('User:alice');
    assert.equal(rows.length, 3);
    const allowed = rows.find((r) => r.operation === WRITE && r.allowed);
    assert.deepEqual(allowed, { principal: 'User:alice', operation: WRITE, resourceType: TOPIC, resourceName: 'orders', scope: 'named', allowed: true, firstSeenMs: 1_000_000, lastSeenMs: 1_005_000, count: 2 });
    assert.equal(rows.find((r) => r.operation === WRITE && !r.allowed)?.count, 1);
    assert.equal(rows.find((r) => r.scope === 'listing')?.operation, DESCRIBE);
    // Written again later: counts add up, the first time stays.
    clock.now += 5000;
    log.record('User:alice', WRITE, TOPIC, 'orders', true, 'named');
    const again = log.access('User:alice').find((r) => r.operation === WRITE && r.allowed);
    assert.ok(again !== undefined);
    assert.equal(again.count, 3);
    assert.equal(again.firstSeenMs, 1_000_000);
    assert.equal(again.lastSeenMs, 1_010_000);
  });

  it('answers by principal and by time last seen', (t) => {
    const { log, clock } = open(t, tempDir(t));
    log.record('User:alice', READ, TOPIC, 'old', true, 'named');
    clock.now += 60_000;
    log.record('User:alice', READ, TOPIC, 'new', true, 'named');
    log.record('User:bob', READ, GROUP, 'g', true, 'named');
    assert.deepEqual(names(log, 'User:alice'), [`User:alice ${READ} new 1`, `User:alice ${READ} old 1`]);
    assert.deepEqual(log.access('User:alice', 1_030_000).map((a) => a.resourceName), ['new']);
    assert.equal(log.access(null).length, 3);
  });

  it('keeps what it observed across a restart (flushed when it closes)', (t) => {
    const dir = tempDir(t);
    const first = open(t, dir);
    first.log.record('User:alice', WRITE, TOPIC, 'orders', true, 'named');
    first.log.emit({ type: 'authentication-succeeded', connection: 1, remote: '10.0.0.7:51234', mechanism: 'SCRAM-SHA-512', principal: 'User:alice' });
    first.close();
    const second = open(t, dir);
    assert.deepEqual(names(second.log), [`User:alice ${WRITE} orders 1`]);
    assert.deepEqual(
      second.log.logins().map((l) => [l.principal, l.count, l.lastAddress, l.lastMechanism]),
      [['User:alice', 1, '10.0.0.7', 'SCRAM-SHA-512']],
    );
    assert.equal(second.log.state().recordingSinceMs, 1_000_000, 'recording began at the first open, not this one');
  });

  it('records logins from the security events: count, last address (IPv6 too) and mechanism', (t) => {
    const { log, clock } = open(t, tempDir(t));
    log.emit({ type: 'authentication-succeeded', connection: 1, remote: '127.0.0.1:5000', mechanism: 'SCRAM-SHA-256', principal: 'User:alice' });
    clock.now += 1000;
    log.emit({ type: 'authentication-succeeded', connection: 2, remote: '::1:5001', mechanism: 'SCRAM-SHA-512', principal: 'User:alice' });
    log.emit({ type: 'authentication-failed', connection: 3, remote: '127.0.0.1:5002', mechanism: 'PLAIN', reason: 'BAD_CREDENTIALS', claimedUser: 'mallory' });
    const logins = log.logins();
    assert.equal(logins.length, 1, 'a failed login is not a login');
    assert.deepEqual(logins[0], { principal: 'User:alice', firstSeenMs: 1_000_000, lastSeenMs: 1_001_000, count: 2, lastAddress: '::1', lastMechanism: 'SCRAM-SHA-512' });
  });

  it('keeps at most maxEntriesPerPrincipal tuples of a principal: its least recently seen go, others are untouched', (t) => {
    const { log, clock, logger } = open(t, tempDir(t), { maxEntriesPerPrincipal: 10, maxEntries: 1000 });
    log.record('User:bob', READ, TOPIC, 'bobs', true, 'named');
    for (let i = 0; i < 10; i++) {
      clock.now += 1000;
      log.record('User:mallory', DESCRIBE, TOPIC, `probe-${i}`, false, 'named');
    }
    log.flush();
    // probe-0 is seen again: it is now the most recent of mallory's.
    clock.now += 1000;
    log.record('User:mallory', DESCRIBE, TOPIC, 'probe-0', false, 'named');
    for (let i = 10; i < 15; i++) {
      clock.now += 1000;
      log.record('User:mallory', DESCRIBE, TOPIC, `probe-${i}`, false, 'named');
    }
    log.flush();
    const mallory = log.access('User:mallory').map((a) => a.resourceName).sort();
    assert.equal(mallory.length, 10);
    assert.deepEqual(mallory, ['probe-0', 'probe-10', 'probe-11', 'probe-12', 'probe-13', 'probe-14', 'probe-6', 'probe-7', 'probe-8', 'probe-9']);
    assert.deepEqual(names(log, 'User:bob'), [`User:bob ${READ} bobs 1`]);
    assert.equal(log.stats().dropped, 5);
    assert.equal(log.state().dropped, 5);
    const warnings = logger.entries.filter((e) => e.level === 'warn');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]?.msg ?? '', /least recently seen observations are being dropped/);
  });

  it('keeps at most maxEntries tuples in all: the least recently seen, whoever they belong to, go; the warning comes once', (t) => {
    const { log, clock, logger } = open(t, tempDir(t), { maxEntries: 100, maxEntriesPerPrincipal: 100 });
    for (let p = 0; p < 4; p++) {
      for (let i = 0; i < 40; i++) {
        clock.now += 10;
        log.record(`User:u${p}`, READ, TOPIC, `t${i}`, true, 'named');
      }
      log.flush();
    }
    assert.equal(log.access(null).length, 100);
    assert.equal(log.stats().entries, 100);
    assert.equal(log.stats().dropped, 60);
    // The oldest: all of u0 and half of u1.
    assert.deepEqual(log.access('User:u0'), []);
    assert.equal(log.access('User:u1').length, 20);
    assert.equal(log.access('User:u3').length, 40);
    assert.equal(logger.entries.filter((e) => e.level === 'warn').length, 1);
  });

  it('holds a bounded buffer between writes: new tuples past its bounds are dropped and counted, known ones still counted', (t) => {
    const { log } = open(t, tempDir(t), { maxEntries: 100, maxEntriesPerPrincipal: 5 });
    for (let i = 0; i < 8; i++) log.record('User:mallory', DESCRIBE, TOPIC, `x${i}`, false, 'named');
    log.record('User:mallory', DESCRIBE, TOPIC, 'x0', false, 'named');
    log.record('User:alice', READ, TOPIC, 'orders', true, 'named');
    assert.equal(log.stats().dropped, 3);
    log.flush();
    assert.equal(log.access('User:mallory').length, 5);
    assert.equal(log.access('User:mallory').find((a) => a.resourceName === 'x0')?.count, 2);
    assert.equal(log.access('User:alice').length, 1, 'another principal is not crowded out');
    assert.equal(log.state().dropped, 3);
  });

  it('keeps at most maxPrincipals logins', (t) => {
    const { log, clock } = open(t, tempDir(t), { maxPrincipals: 10 });
    for (let i = 0; i < 12; i++) {
      clock.now += 1000;
      log.emit({ type: 'authentication-succeeded', connection: i, remote: '127.0.0.1:1', mechanism: 'SCRAM-SHA-512', principal: `User:u${i}` });
      if (i === 5) log.flush();
    }
    const logins = log.logins().map((l) => l.principal);
    assert.equal(logins.length, 10);
    assert.ok(!logins.includes('User:u0') && !logins.includes('User:u1'), logins.join(','));
  });

  it('records nothing once closed', (t) => {
    const dir = tempDir(t);
    const { log, close } = open(t, dir);
    close();
    log.record('User:alice', READ, TOPIC, 'late', true, 'named');
    const reopened = open(t, dir);
    assert.deepEqual(reopened.log.access(null), []);
  });
});
