import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { DEFAULT_ACCESS_LOG_CONFIG } from '../../src/security/access-log/access-log-config.js';
import { parapet } from '../helpers/admin-cli.js';
import { startKafkaPeer } from '../helpers/kafka-peer.js';
import { startSecureBroker, type SecureBroker } from '../helpers/secure-broker.js';

/**
 * `parapet posture`'s login review on a Parapet (docs/security/posture.md#logins-and-password-age):
 * users never seen logging in, users dormant for --unused-days, passwords older than
 * --password-max-age-days, from the broker's admin endpoint; and on what cannot say (a Kafka peer, an
 * access log that is off, an endpoint not given), that the check did not run.
 */

interface JsonFinding {
  readonly ruleId: string;
  readonly severity: string;
  readonly control: number;
  readonly evidence: string;
}
interface JsonReport {
  readonly product: string;
  readonly findings: readonly JsonFinding[];
}

const DAY_MS = 86_400_000;
const LOGIN_RULES = ['PARAPET-USER-NEVER-SEEN', 'PARAPET-USER-DORMANT', 'PARAPET-PASSWORD-OLD', 'PARAPET-PASSWORD-AGE-UNKNOWN'];

async function scan(t: TestContext, args: readonly string[]): Promise<JsonReport> {
  const run = await parapet(['posture', '--format', 'json', '--timeout-ms', '3000', ...args]);
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout) as JsonReport;
  t.diagnostic(report.findings.map((f) => `${f.severity} ${f.ruleId}: ${f.evidence}`).join(' | '));
  return report;
}

/** `SEVERITY RULE User:NAME` of the login review's findings, sorted. */
function reviewed(report: JsonReport): string[] {
  return report.findings
    .filter((f) => LOGIN_RULES.includes(f.ruleId))
    .map((f) => `${f.severity} ${f.ruleId} ${/User:[^:\s,]+/.exec(f.evidence)?.[0] ?? f.evidence}`)
    .sort();
}

/** Changes the broker's metadata store under it (WAL: a second connection may write while it runs). */
function editStore(b: SecureBroker, edit: (db: Database.Database) => void): void {
  const db = new Database(join(b.dataDir, 'metadata.db'));
  try {
    db.pragma('busy_timeout = 5000');
    edit(db);
  } finally {
    db.close();
  }
}

const endpoint = (b: SecureBroker): string[] => ['--admin-url', b.broker.adminUrl ?? assert.fail('the test broker has no admin endpoint')];

describe('parapet posture: logins and password age', () => {
  it('reports the user never seen, the dormant one, the old password and the unknown age; the admin and a user who logged in are not reported', async (t) => {
    const b = await startSecureBroker(t, { users: { bob: 'bob-password-1', idle: 'idle-password-1', fresh: 'fresh-password-1', legacy: 'legacy-password-1' } });
    // bob logs in with a real client (kcat lists the metadata); the scan itself logs in as admin.
    await promisify(execFile)('kcat', ['-F', b.clientConfig('bob', 'bob-password-1'), '-L'], { timeout: 20_000 });
    const now = Date.now();
    editStore(b, (db) => {
      // bob's password set 400 days ago; legacy's stored before Parapet recorded set times (a v8 store's rows).
      db.prepare('UPDATE scram_credentials SET set_at = ? WHERE user_name = ?').run(now - 400 * DAY_MS, 'bob');
      db.prepare('UPDATE scram_credentials SET set_at = NULL WHERE user_name = ?').run('legacy');
      // idle last logged in 120 days ago.
      db.prepare('INSERT INTO observed_logins (principal, first_seen, last_seen, count, last_address, last_mechanism) VALUES (?, ?, ?, 1, ?, ?)').run(
        'User:idle',
        now - 200 * DAY_MS,
        now - 120 * DAY_MS,
        '127.0.0.1',
        'SCRAM-SHA-512',
      );
    });

    const report = await scan(t, ['--client-config', b.adminProperties, ...endpoint(b)]);
    assert.deepEqual(reviewed(report), [
      'INFO PARAPET-PASSWORD-AGE-UNKNOWN User:legacy',
      'LOW PARAPET-PASSWORD-OLD User:bob',
      'LOW PARAPET-USER-DORMANT User:idle',
      'LOW PARAPET-USER-NEVER-SEEN User:fresh',
      'LOW PARAPET-USER-NEVER-SEEN User:legacy',
    ]);
    const evidence = (ruleId: string, user: string) => report.findings.find((f) => f.ruleId === ruleId && f.evidence.includes(`User:${user}`))?.evidence ?? '';
    // Never seen is said since when the broker records logins (the users were created before it started).
    assert.match(evidence('PARAPET-USER-NEVER-SEEN', 'fresh'), /^User:fresh: no login seen since \d{4}-\d\d-\d\dT[\d:.]+Z, when this broker began recording logins \(0 day\(s\)\)$/);
    assert.match(evidence('PARAPET-USER-DORMANT', 'idle'), /^User:idle: last login \S+, 120 days ago \(--unused-days 90\)$/);
    assert.match(evidence('PARAPET-PASSWORD-OLD', 'bob'), /^User:bob: SCRAM-SHA-256 set \S+ \(400 days ago\), SCRAM-SHA-512 set \S+ \(400 days ago\); policy --password-max-age-days 365$/);
    assert.match(evidence('PARAPET-PASSWORD-AGE-UNKNOWN', 'legacy'), /^1 user\(s\), age unknown, set before Parapet recorded it: User:legacy$/);
    assert.deepEqual(
      report.findings.filter((f) => f.ruleId === 'PARAPET-PASSWORD-OLD' || f.ruleId === 'PARAPET-USER-NEVER-SEEN').map((f) => f.control),
      [1, 7, 7],
      'password age is control 1 (credentials), who logs in control 7 (reviews)',
    );

    // Looser policies: neither idle nor bob is reported any more.
    const loose = await scan(t, ['--client-config', b.adminProperties, ...endpoint(b), '--unused-days', '200', '--password-max-age-days', '500']);
    assert.deepEqual(reviewed(loose), ['INFO PARAPET-PASSWORD-AGE-UNKNOWN User:legacy', 'LOW PARAPET-USER-NEVER-SEEN User:fresh', 'LOW PARAPET-USER-NEVER-SEEN User:legacy']);

    // A password change over the Kafka protocol (AlterUserScramCredentials) records its time: bob's password is new again.
    const passwd = await parapet(['user', 'passwd', 'bob', '--generate', '--client-config', b.adminProperties, '--data-dir', b.dataDir]);
    assert.equal(passwd.code, 0, passwd.stderr);
    const after = await scan(t, ['--client-config', b.adminProperties, ...endpoint(b)]);
    assert.deepEqual(reviewed(after), ['INFO PARAPET-PASSWORD-AGE-UNKNOWN User:legacy', 'LOW PARAPET-USER-DORMANT User:idle', 'LOW PARAPET-USER-NEVER-SEEN User:fresh', 'LOW PARAPET-USER-NEVER-SEEN User:legacy']);
  });

  it('says the login review did not run when the access log is off, or when --bootstrap names no admin endpoint; never reports "all seen"', async (t) => {
    const b = await startSecureBroker(t, { users: { fresh: 'fresh-password-1' }, broker: { accessLog: { ...DEFAULT_ACCESS_LOG_CONFIG, enabled: false } } });
    const off = await scan(t, ['--client-config', b.adminProperties, ...endpoint(b)]);
    assert.deepEqual(reviewed(off), [], 'nothing judged without the evidence');
    const notRun = off.findings.filter((f) => f.ruleId === 'PARAPET-LOGIN-REVIEW-UNAVAILABLE');
    assert.deepEqual(notRun.map((f) => f.severity), ['INFO']);
    assert.match(notRun[0]?.evidence ?? '', /the access log is off on this broker \(accessLog\.enabled: false\)/);

    const noEndpoint = await scan(t, ['--client-config', b.adminProperties, '--bootstrap', b.bootstrap]);
    assert.match(noEndpoint.findings.find((f) => f.ruleId === 'PARAPET-LOGIN-REVIEW-UNAVAILABLE')?.evidence ?? '', /give --admin-url too/);
  });

  it('a peer answering like Apache Kafka: the login review is said not to have run, and no user is reported as never seen', async (t) => {
    const { port } = await startKafkaPeer(t, { scramUsers: [{ name: 'app', mechanism: 2, iterations: 8192 }] });
    const report = await scan(t, ['--bootstrap', `127.0.0.1:${port}`, '--data-dir', join(import.meta.dirname, 'no-such-data-dir')]);
    assert.equal(report.product, 'Kafka protocol');
    assert.deepEqual(reviewed(report), []);
    const notRun = report.findings.filter((f) => f.ruleId === 'PARAPET-LOGIN-REVIEW-UNAVAILABLE');
    assert.deepEqual(notRun.map((f) => `${f.severity} ${f.evidence}`), ['INFO the cluster is not Parapet (Kafka protocol): it records no logins or password times a client can read']);
  });
});
