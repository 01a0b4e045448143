import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../src/protocol/acl.js';
import { readCertificateAuthority } from '../../src/security/tls/ca-directory.js';
import { issueServerCertificate } from '../../src/security/tls/certificates.js';
import { DEFAULT_QUOTA_CONFIG } from '../../src/quotas/quota-config.js';
import { parapet } from '../helpers/admin-cli.js';
import { startBroker } from '../helpers/broker.js';
import { startKafkaPeer } from '../helpers/kafka-peer.js';
import { startSecureBroker } from '../helpers/secure-broker.js';

/**
 * `parapet posture` against real listeners: a default Parapet, an `--insecure` one, one weakened on
 * purpose, and a scripted peer that answers like Apache Kafka 3.x with its defaults
 * (docs/security/posture.md).
 */

interface JsonFinding {
  readonly ruleId: string;
  readonly severity: string;
  readonly control: number;
  readonly target: string;
  readonly evidence: string;
}
interface JsonReport {
  readonly product: string;
  readonly findings: readonly JsonFinding[];
  readonly controls: readonly { control: number; score: number | null }[];
}

async function scan(t: TestContext, args: readonly string[]): Promise<{ code: number; report: JsonReport; stderr: string }> {
  const run = await parapet(['posture', '--format', 'json', '--timeout-ms', '3000', ...args]);
  assert.ok(run.stdout.startsWith('{'), `a JSON report (exit ${run.code}): ${run.stderr}`);
  const report = JSON.parse(run.stdout) as JsonReport;
  t.diagnostic(report.findings.map((f) => `${f.severity} ${f.ruleId}: ${f.evidence}`).join(' | '));
  return { code: run.code, report, stderr: run.stderr };
}

const find = (r: JsonReport, ruleId: string) => r.findings.filter((f) => f.ruleId === ruleId);
const severityOf = (r: JsonReport, ruleId: string) => find(r, ruleId).map((f) => f.severity);

/** A data directory with no client config: the scan then goes in as a stranger. */
function emptyDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-posture-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

describe('parapet posture', () => {
  it('a default Parapet: no finding above LOW, its settings read as broker configs, --fail-on medium passes', async (t) => {
    const b = await startSecureBroker(t);
    const { code, report } = await scan(t, ['--client-config', b.adminProperties, '--admin-url', b.broker.adminUrl ?? '', '--fail-on', 'medium']);
    assert.equal(code, 0);
    // The login review ran (the admin endpoint answered) and found the admin seen, its password new.
    assert.deepEqual(find(report, 'PARAPET-LOGIN-REVIEW-UNAVAILABLE'), []);
    assert.match(report.product, /^Parapet \d/);
    const above = report.findings.filter((f) => !['LOW', 'INFO'].includes(f.severity));
    assert.deepEqual(above, [], 'nothing above LOW on a default broker');
    // What it did see: a chain from init's private CA, and who the super users are.
    assert.deepEqual(severityOf(report, 'PARAPET-TLS-PRIVATE-CA'), ['INFO']);
    assert.match(find(report, 'PARAPET-ACL-SUPER-USERS')[0]?.evidence ?? '', /User:admin/);
    for (const c of report.controls.filter((x) => x.control <= 7)) assert.equal(c.score, 100, `control ${c.control} scored`);
    // No backup yet: LOW (a fresh broker has had no time to be backed up), and control 8 is assessed.
    assert.deepEqual(severityOf(report, 'PARAPET-BACKUP-NONE'), ['LOW']);
    assert.equal(report.controls.find((c) => c.control === 8)?.score, 95);

    // A backup completes (as `parapet backup create` releases its capture): the finding goes.
    const held = await b.broker.captureForBackup();
    b.broker.releaseCapture(held.capture.id, undefined, { target: 'directory /srv/backups' });
    const backedUp = await scan(t, ['--client-config', b.adminProperties, '--admin-url', b.broker.adminUrl ?? '']);
    assert.deepEqual(find(backedUp.report, 'PARAPET-BACKUP-NONE'), []);
    assert.deepEqual(find(backedUp.report, 'PARAPET-BACKUP-OLD'), []);
    assert.equal(backedUp.report.controls.find((c) => c.control === 8)?.score, 100);
    // The same backup, made two days old: older than the default policy (26 h) is MEDIUM.
    const db = new Database(join(b.dataDir, 'metadata.db'));
    db.prepare('UPDATE backup_history SET taken_at = taken_at - ?').run(48 * 3_600_000);
    db.close();
    const stale = await scan(t, ['--client-config', b.adminProperties, '--admin-url', b.broker.adminUrl ?? '']);
    assert.deepEqual(severityOf(stale.report, 'PARAPET-BACKUP-OLD'), ['MEDIUM']);
    assert.match(find(stale.report, 'PARAPET-BACKUP-OLD')[0]?.evidence ?? '', /48 h ago, policy 26 h\) into directory \/srv\/backups/);
    assert.deepEqual(find((await scan(t, ['--client-config', b.adminProperties, '--admin-url', b.broker.adminUrl ?? '', '--backup-max-age-hours', '72'])).report, 'PARAPET-BACKUP-OLD'), []);
  });

  it('an --insecure Parapet: the plaintext listener and anonymous access are CRITICAL, and --fail-on high exits 3', async (t) => {
    const { port } = await startBroker(t);
    const { code, report, stderr } = await scan(t, ['--bootstrap', `127.0.0.1:${port}`, '--data-dir', emptyDir(t), '--fail-on', 'high']);
    assert.match(stderr, /scanning 127\.0\.0\.1:\d+ without credentials/);
    assert.match(stderr, /finding\(s\) at or above HIGH/);
    assert.equal(code, 3);
    assert.deepEqual(severityOf(report, 'PARAPET-LISTENER-PLAINTEXT'), ['CRITICAL']);
    assert.deepEqual(severityOf(report, 'PARAPET-LISTENER-ANONYMOUS'), ['CRITICAL']);
    // The broker's own account of it, read anonymously (the anonymous user may do everything).
    assert.deepEqual(find(report, 'PARAPET-SETTING-INSECURE').map((f) => `${f.evidence} ${f.severity}`).sort(), ['allowInsecureAnonymous CRITICAL', 'allowInsecurePlaintext HIGH']);
    assert.deepEqual(find(report, 'PARAPET-CFG-PLAINTEXT-LISTENER'), [], 'the probed plaintext listener is reported once');
    assert.equal(report.controls.find((c) => c.control === 2)?.score, 0);
  });

  it('weaknesses planted in a secure Parapet are each found with their severity, and the SARIF report is valid', async (t) => {
    const allow = (principal: string, resourceType: ResourceType, resourceName: string, patternType: PatternType, operation: AclOperation) => ({
      principal,
      resourceType,
      resourceName,
      patternType,
      host: '*',
      operation,
      permission: AclPermissionType.ALLOW,
    });
    const b = await startSecureBroker(t, {
      users: { bob: 'bob-password-1', idle: 'idle-password-1' },
      acls: [
        allow('User:*', ResourceType.TOPIC, '*', PatternType.LITERAL, AclOperation.ALL),
        allow('User:bob', ResourceType.TOPIC, '__', PatternType.PREFIXED, AclOperation.WRITE),
        allow('User:ghost', ResourceType.TOPIC, 'orders', PatternType.LITERAL, AclOperation.READ),
      ],
      // A server certificate from init's CA that expires in 5 days.
      prepare: async ({ dataDir, caDir }) => {
        const leaf = await issueServerCertificate(readCertificateAuthority(caDir), { commonName: 'parapet', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], validityDays: 5 });
        writeFileSync(join(dataDir, 'tls', 'server.crt'), leaf.certPem);
        writeFileSync(join(dataDir, 'tls', 'server.key'), leaf.keyPem, { mode: 0o600 });
      },
    });
    // A policy stricter than the default makes every stored credential too weak (Parapet, like Kafka,
    // refuses fewer than 4096 iterations, so no weaker one can be planted: the Kafka peer below has one).
    const { report } = await scan(t, ['--client-config', b.adminProperties, '--min-scram-iterations', '10000']);
    assert.deepEqual(severityOf(report, 'PARAPET-ACL-WILDCARD-PRINCIPAL'), ['HIGH']);
    // Both bindings reach internal topics: bob's prefix `__`, and every principal's `*`.
    assert.deepEqual(find(report, 'PARAPET-ACL-INTERNAL-WRITE').map((f) => `${f.severity} ${/principal=(\S+)/.exec(f.evidence)?.[1]}`).sort(), ['HIGH User:*', 'HIGH User:bob']);
    assert.deepEqual(severityOf(report, 'PARAPET-ACL-UNKNOWN-USER'), ['LOW']);
    assert.match(find(report, 'PARAPET-ACL-UNKNOWN-USER')[0]?.evidence ?? '', /^User:ghost/);
    assert.deepEqual(severityOf(report, 'PARAPET-TLS-CERT-EXPIRING'), ['HIGH']);
    assert.match(find(report, 'PARAPET-TLS-CERT-EXPIRING')[0]?.evidence ?? '', /expires in 4 day/);
    const weak = find(report, 'PARAPET-SCRAM-LOW-ITERATIONS').map((f) => /^User:[^:]+/.exec(f.evidence)?.[0]);
    assert.deepEqual(weak.sort(), ['User:admin', 'User:bob', 'User:idle']);
    // `idle` has credentials and no binding of its own, but User:* covers it: not reported as unused.
    assert.deepEqual(find(report, 'PARAPET-USER-NO-ACLS'), []);

    const out = join(emptyDir(t), 'posture.sarif');
    const run = await parapet(['posture', '--client-config', b.adminProperties, '--sarif', '--output', out, '--timeout-ms', '3000']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /wrote the sarif report to .*posture\.sarif: \d+ finding\(s\)/);
    const sarif = JSON.parse(readFileSync(out, 'utf8')) as { runs: { results: { ruleId: string; level: string }[]; tool: { driver: { rules: { id: string }[] } } }[] };
    validateSarif(out);
    // The validator does refuse what the specification does not allow (a result property SARIF lacks).
    const broken = structuredClone(sarif) as { runs: { results: Record<string, unknown>[] }[] };
    const first = broken.runs[0]?.results[0];
    if (first !== undefined) first.severity = 'HIGH';
    writeFileSync(`${out}.broken`, JSON.stringify(broken));
    assert.throws(() => {
      validateSarif(`${out}.broken`);
    }, /Additional properties are not allowed \('severity' was unexpected\)/);
    const results = sarif.runs[0]?.results ?? [];
    assert.ok(results.some((r) => r.ruleId === 'PARAPET-ACL-WILDCARD-PRINCIPAL' && r.level === 'error'));
    assert.ok(results.some((r) => r.ruleId === 'PARAPET-ACL-UNKNOWN-USER' && r.level === 'note'));
    const ruleIds = new Set(sarif.runs[0]?.tool.driver.rules.map((r) => r.id));
    assert.ok(results.every((r) => ruleIds.has(r.ruleId)), 'every result names a rule of the driver');
  });

  it('a Parapet with its audit trail and quotas off and topics auto-created: each reported', async (t) => {
    const b = await startSecureBroker(t, { audit: { enabled: false }, broker: { quotas: { ...DEFAULT_QUOTA_CONFIG, enabled: false }, autoCreateTopics: true } });
    const { report } = await scan(t, ['--client-config', b.adminProperties]);
    assert.deepEqual(severityOf(report, 'PARAPET-AUDIT-OFF'), ['HIGH']);
    assert.deepEqual(severityOf(report, 'PARAPET-QUOTAS-OFF'), ['MEDIUM']);
    assert.deepEqual(severityOf(report, 'PARAPET-CFG-AUTO-CREATE-TOPICS'), ['MEDIUM']);
    assert.deepEqual(find(report, 'PARAPET-SETTING-INSECURE'), [], 'each is reported by its own rule, once');
    assert.ok((report.controls.find((c) => c.control === 4)?.score ?? 100) < 100);
  });

  it('a peer answering like Apache Kafka 3.x with its defaults: plaintext, anonymous, no authorizer, auto-created topics, min.insync.replicas=1, a weak SCRAM credential; the login review did not run', async (t) => {
    const { port } = await startKafkaPeer(t, { scramUsers: [{ name: 'legacy', mechanism: 1, iterations: 1000 }, { name: 'app', mechanism: 2, iterations: 8192 }] });
    const { code, report } = await scan(t, ['--bootstrap', `127.0.0.1:${port}`, '--data-dir', emptyDir(t), '--fail-on', 'critical']);
    assert.equal(code, 3);
    assert.equal(report.product, 'Kafka protocol');
    const got = report.findings.map((f) => `${f.severity} ${f.ruleId}`).sort();
    assert.deepEqual(got, [
      'CRITICAL PARAPET-AUTHZ-DISABLED',
      'CRITICAL PARAPET-LISTENER-ANONYMOUS',
      'CRITICAL PARAPET-LISTENER-PLAINTEXT',
      'HIGH PARAPET-SCRAM-LOW-ITERATIONS',
      // Kafka records no logins a client can read: the login review says it did not run.
      'INFO PARAPET-LOGIN-REVIEW-UNAVAILABLE',
      'MEDIUM PARAPET-CFG-AUTO-CREATE-TOPICS',
      'MEDIUM PARAPET-CFG-MIN-INSYNC-REPLICAS',
    ]);
    assert.match(find(report, 'PARAPET-SCRAM-LOW-ITERATIONS')[0]?.evidence ?? '', /^User:legacy: SCRAM-SHA-256 1000 iterations/);
  });

  it('a SASL_PLAINTEXT peer offering PLAIN: passwords in clear are CRITICAL; without credentials the logged-in checks are said not to have run', async (t) => {
    const { port } = await startKafkaPeer(t, { sasl: ['PLAIN'] });
    const { report } = await scan(t, ['--bootstrap', `127.0.0.1:${port}`, '--data-dir', emptyDir(t)]);
    assert.deepEqual(severityOf(report, 'PARAPET-SASL-PLAIN-WITHOUT-TLS'), ['CRITICAL']);
    assert.deepEqual(severityOf(report, 'PARAPET-LISTENER-PLAINTEXT'), ['CRITICAL']);
    assert.deepEqual(severityOf(report, 'PARAPET-SASL-NO-SCRAM'), ['LOW']);
    assert.deepEqual(find(report, 'PARAPET-LISTENER-ANONYMOUS'), [], 'the peer serves nothing before a login');
    assert.deepEqual(severityOf(report, 'PARAPET-SCAN-LOGIN-FAILED'), ['INFO']);
  });

  it('prints a readable table by default, and refuses --json with --sarif', async (t) => {
    const b = await startSecureBroker(t);
    const run = await parapet(['posture', '--client-config', b.adminProperties]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^posture of 127\.0\.0\.1:\d+ \(Parapet /);
    assert.match(run.stdout, /CONTROL +SCORE +CRITICAL +HIGH +MEDIUM +LOW +INFO\n1 authentication and authorization +100 /);
    assert.match(run.stdout, /8 backup and recovery +95 /);
    assert.match(run.stdout, /INFO {2}PARAPET-TLS-PRIVATE-CA {2}\(control 2\)/);
    const both = await parapet(['posture', '--client-config', b.adminProperties, '--json', '--sarif']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give --json or --sarif, not both/);
  });
});

/** Validates a SARIF file with python3-jsonschema against the schema written from the SARIF 2.1.0 specification. */
function validateSarif(file: string): void {
  const schema = new URL('../../../test/fixtures/sarif-2.1.0-emitted.schema.json', import.meta.url).pathname;
  const script = [
    'import json, sys, jsonschema',
    'schema = json.load(open(sys.argv[1]))',
    'doc = json.load(open(sys.argv[2]))',
    'errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.path))',
    'print("\\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10]))',
    'sys.exit(1 if errors else 0)',
  ].join('\n');
  try {
    execFileSync('/usr/bin/python3', ['-c', script, schema, file], { encoding: 'utf8' });
  } catch (err) {
    assert.fail(`the SARIF report does not validate: ${(err as { stdout?: string }).stdout ?? String(err)}`);
  }
}
