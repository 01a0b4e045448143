import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { CloseReasons } from '../../../src/close-reasons.js';
import { Containment, ContainmentError, MAX_REASON_LENGTH, type Refusal } from '../../../src/security/containment/containment.js';
import type { SecurityEvent } from '../../../src/security/events.js';
import type { Principal } from '../../../src/security/types.js';
import { MetadataStore } from '../../../src/storage/metadata-store.js';

/**
 * Disabled principals and the lockdown over a real metadata store: who is refused and why, what a
 * change closes, what is refused outright, and that both survive reopening the store (a restart).
 */

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-containment-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

interface Harness {
  readonly containment: Containment;
  readonly events: SecurityEvent[];
  /** The principals each change asked the registry to close (those the refusal picked among `live`). */
  readonly closed: Principal[][];
  readonly store: MetadataStore;
}

const ADMIN = { principal: 'User:admin' as Principal, remote: '127.0.0.1:5000' };
const LIVE: Principal[] = ['User:alice', 'User:bob', 'User:admin', 'User:cert:dave'];

function open(t: TestContext, dir: string, clock = () => 1_000_000): Harness {
  const store = new MetadataStore(dir);
  t.after(() => {
    store.close();
  });
  const events: SecurityEvent[] = [];
  const closed: Principal[][] = [];
  const containment = new Containment({
    store: store.containment,
    superUsers: ['User:admin'],
    events: { emit: (e) => events.push(e) },
    closeRefused: (refusal: (p: Principal) => Refusal | null) => {
      const chosen = LIVE.filter((p) => refusal(p) !== null);
      closed.push(chosen);
      return chosen.length;
    },
    clock,
  });
  return { containment, events, closed, store };
}

describe('Containment: disabled principals and the lockdown', () => {
  it('disables one principal: refused with PRINCIPAL_DISABLED, its connections closed, the others untouched; enable undoes it', (t) => {
    const h = open(t, tempDir(t));
    assert.equal(h.containment.refusal('User:alice'), null);
    const result = h.containment.disable('User:alice', 'password leaked in a ticket', ADMIN);
    assert.deepEqual(result, { record: { principal: 'User:alice', reason: 'password leaked in a ticket', since: 1_000_000, by: 'User:admin' }, closed: 1, already: false });
    assert.deepEqual(h.closed, [['User:alice']]);
    const refusal = h.containment.refusal('User:alice');
    assert.equal(refusal?.reason, CloseReasons.PRINCIPAL_DISABLED);
    assert.match(refusal.detail, /User:alice is disabled since 1970-01-01T00:16:40.000Z by User:admin: password leaked in a ticket/);
    assert.equal(h.containment.refusal('User:bob'), null);
    assert.deepEqual(h.events, [{ type: 'principal-disabled', principal: 'User:admin', remote: '127.0.0.1:5000', target: 'User:alice', reason: 'password leaked in a ticket', closed: 1 }]);

    assert.equal(h.containment.enable('User:alice', ADMIN), true);
    assert.equal(h.containment.refusal('User:alice'), null);
    assert.equal(h.containment.enable('User:alice', ADMIN), false, 'enabling again changes nothing');
    assert.deepEqual(h.events.slice(1), [{ type: 'principal-enabled', principal: 'User:admin', remote: '127.0.0.1:5000', target: 'User:alice', disabledSince: 1_000_000 }]);
  });

  it('refuses to disable the requester itself, a malformed principal or a reason past its bound, and changes nothing', (t) => {
    const h = open(t, tempDir(t));
    assert.throws(() => h.containment.disable('User:admin', '', ADMIN), (err: unknown) => err instanceof ContainmentError && /you are logged in as/.test(err.message));
    assert.throws(() => h.containment.disable('alice', '', ADMIN), ContainmentError);
    assert.throws(() => h.containment.disable('User:', '', ADMIN), ContainmentError);
    assert.throws(() => h.containment.disable('User:a\nb', '', ADMIN), ContainmentError);
    assert.throws(() => h.containment.disable('User:alice', 'x'.repeat(MAX_REASON_LENGTH + 1), ADMIN), ContainmentError);
    assert.deepEqual(h.containment.disabled(), []);
    assert.deepEqual(h.events, []);
    assert.deepEqual(h.closed, []);
  });

  it('a lockdown shuts out everyone but the super users, only a super user or the token holder may turn it on, and disabled wins over super', (t) => {
    const h = open(t, tempDir(t));
    assert.throws(() => h.containment.lockdownOn('', { principal: 'User:alice', remote: 'x:1' }), (err: unknown) => err instanceof ContainmentError && /not a super user/.test(err.message));
    assert.equal(h.containment.lockdown, null);
    const on = h.containment.lockdownOn('ransomware suspected', ADMIN);
    assert.deepEqual(on, { state: { reason: 'ransomware suspected', since: 1_000_000, by: 'User:admin' }, closed: 3, already: false });
    assert.deepEqual(h.closed, [['User:alice', 'User:bob', 'User:cert:dave']]);
    assert.equal(h.containment.refusal('User:bob')?.reason, CloseReasons.LOCKDOWN);
    assert.equal(h.containment.refusal('User:admin'), null, 'the super user keeps working');
    assert.equal(h.containment.lockdownOn('again', ADMIN).already, true);
    assert.deepEqual(
      h.events.map((e) => e.type),
      ['lockdown-on'],
      'turning it on twice is one change',
    );
    assert.deepEqual(h.containment.lockdownOff(ADMIN), { reason: 'ransomware suspected', since: 1_000_000, by: 'User:admin' });
    assert.equal(h.containment.lockdownOff(ADMIN), null);
    assert.equal(h.containment.refusal('User:bob'), null);
    // The endpoint's bearer token holder has no Kafka login for a lockdown to shut out.
    assert.equal(h.containment.lockdownOn('', { principal: 'User:admin-endpoint-token', remote: 'x:1', tokenHolder: true }).already, false);
    assert.equal(h.containment.refusal('User:admin-endpoint-token')?.reason, CloseReasons.LOCKDOWN, 'a SCRAM user of that name is not the token holder');
    h.containment.lockdownOff(ADMIN);
    // A compromised super user is disabled by another administrator: refused, lockdown or not.
    h.containment.disable('User:admin', 'compromised', { principal: 'User:admin-endpoint-token', remote: 'x:1', tokenHolder: true });
    assert.equal(h.containment.refusal('User:admin')?.reason, CloseReasons.PRINCIPAL_DISABLED);
  });

  it('keeps both across a restart (metadata store v7), and reports a lockdown in force at the start', (t) => {
    const dir = tempDir(t);
    const first = open(t, dir);
    first.containment.disable('User:cert:dave', 'laptop stolen', ADMIN);
    first.containment.lockdownOn('incident 42', ADMIN);
    first.store.close();

    const second = open(t, dir, () => 2_000_000);
    assert.deepEqual(second.containment.disabled(), [{ principal: 'User:cert:dave', reason: 'laptop stolen', since: 1_000_000, by: 'User:admin' }]);
    assert.equal(second.containment.refusal('User:cert:dave')?.reason, CloseReasons.PRINCIPAL_DISABLED);
    assert.equal(second.containment.refusal('User:alice')?.reason, CloseReasons.LOCKDOWN);
    second.containment.reportAtStart();
    assert.deepEqual(second.events, [{ type: 'lockdown-in-force', since: 1_000_000, by: 'User:admin', reason: 'incident 42' }]);
    second.containment.lockdownOff(ADMIN);
    second.store.close();

    const third = open(t, dir);
    third.containment.reportAtStart();
    assert.deepEqual(third.events, [], 'a lifted lockdown is not reported');
    assert.equal(third.containment.lockdown, null);
  });

  it('migrates a v6 store: the v7 and v8 tables are added, nothing else changes', (t) => {
    const dir = tempDir(t);
    new MetadataStore(dir).close();
    const db = new Database(join(dir, 'metadata.db'));
    db.exec('DROP TABLE schema_registry_versions; DROP TABLE schema_registry_schemas; DROP TABLE schema_registry_settings; DROP TABLE schema_registry_ids; DROP TABLE transaction_offsets; DROP TABLE transactions; DROP TABLE disabled_principals; DROP TABLE lockdown; DROP TABLE observed_access; DROP TABLE observed_logins; DROP TABLE access_log_state; ALTER TABLE scram_credentials DROP COLUMN set_at; DROP TABLE backup_history; PRAGMA user_version = 6;');
    db.close();
    const h = open(t, dir);
    assert.deepEqual(h.containment.disabled(), []);
    h.containment.disable('User:alice', '', ADMIN);
    assert.equal(h.containment.disabled()[0]?.reason, 'no reason given');
  });
});
