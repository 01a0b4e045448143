import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { parseBootstrapServers, type ClientConfig } from '../../client/client-config.js';
import { SEVERITIES, severityRank, type Severity } from '../../posture/finding.js';
import { postureJson } from '../../posture/report/json.js';
import { postureSarif } from '../../posture/report/sarif.js';
import { postureText } from './posture-text.js';
import { scanPosture } from '../../posture/scan.js';
import type { LoginEvidence } from '../../posture/checks/credential-checks.js';
import { fetchLogins, withEndpointFlags, type EndpointFlags } from '../access/access-source.js';
import { action, integer, loadConfig, UsageError, withConnectionOptions, type AdminIo, type ConnectionFlags } from './common.js';

interface PostureFlags extends ConnectionFlags, EndpointFlags {
  readonly format: 'text' | 'json' | 'sarif';
  readonly json?: boolean;
  readonly sarif?: boolean;
  readonly output?: string;
  readonly failOn: Lowercase<Severity> | 'never';
  readonly certWarnDays: number;
  readonly minScramIterations: number;
  readonly timeoutMs: number;
  readonly unusedDays: number;
  readonly passwordMaxAgeDays: number;
  readonly backupMaxAgeHours: number;
}

/** `--fail-on` was reached: exit 3, apart from 1 (the scan failed) and 2 (bad usage). */
const FAILED_ON = 3;

/**
 * `parapet posture`: scans a cluster (this Parapet by default, any Kafka-protocol cluster with
 * --bootstrap and --client-config) against the ten controls, docs/security/posture.md.
 */
export function registerPostureCommand(program: Command, io: AdminIo): void {
  withEndpointFlags(withConnectionOptions(program.command('posture').description('scan a cluster (Parapet or any Kafka) against the ten controls: findings with severity, evidence and fix')))
    .addOption(new Option('--format <format>', 'report format').choices(['text', 'json', 'sarif']).default('text'))
    .option('--json', 'same as --format json')
    .option('--sarif', 'same as --format sarif (SARIF 2.1.0, for CI pipelines)')
    .option('--output <file>', 'write the report to this file instead of standard output')
    .addOption(new Option('--fail-on <severity>', 'exit 3 when a finding is at least this severe').choices([...SEVERITIES.map((s) => s.toLowerCase()), 'never']).default('never'))
    .option('--cert-warn-days <days>', 'report server certificates expiring within this many days', integer('--cert-warn-days', 0, 3650), 30)
    .option('--min-scram-iterations <n>', 'report SCRAM credentials with fewer iterations', integer('--min-scram-iterations', 1, 10_000_000), 4096)
    .option('--timeout-ms <ms>', 'per probe and request', integer('--timeout-ms', 100, 120_000), 5000)
    .option('--unused-days <days>', 'Parapet: report users whose last login is older than this many days', integer('--unused-days', 1, 3650), 90)
    .option('--backup-max-age-hours <hours>', 'Parapet: report a newest complete backup older than this many hours (a daily schedule with slack: 26)', integer('--backup-max-age-hours', 1, 87600), 26)
    .option('--password-max-age-days <days>', 'Parapet: report SCRAM passwords set longer ago than this many days', integer('--password-max-age-days', 1, 36500), 365)
    .action(
      action(io, async (flags: PostureFlags) => {
        if (flags.json === true && flags.sarif === true) throw new UsageError('give --json or --sarif, not both');
        const format = flags.json === true ? 'json' : flags.sarif === true ? 'sarif' : flags.format;
        const report = await scanPosture({
          config: clientConfigOf(flags, io),
          certWarnDays: flags.certWarnDays,
          minIterations: flags.minScramIterations,
          timeoutMs: flags.timeoutMs,
          unusedDays: flags.unusedDays,
          passwordMaxAgeDays: flags.passwordMaxAgeDays,
          backupMaxAgeHours: flags.backupMaxAgeHours,
          logins: () => readLogins(flags),
        });
        const text = format === 'text' ? postureText(report) : `${JSON.stringify(format === 'json' ? postureJson(report) : postureSarif(report), null, 2)}\n`;
        if (flags.output === undefined) io.stdout(text);
        else {
          writeFileSync(flags.output, text, { mode: 0o644 });
          io.stdout(`wrote the ${format} report to ${flags.output}: ${report.findings.length} finding(s)\n`);
        }
        if (flags.failOn !== 'never') {
          const threshold = severityRank(flags.failOn.toUpperCase() as Severity);
          const worst = report.findings.filter((f) => severityRank(f.severity) >= threshold);
          if (worst.length > 0) {
            io.stderr(`parapet: ${worst.length} finding(s) at or above ${flags.failOn.toUpperCase()}\n`);
            io.setExitCode(FAILED_ON);
          }
        }
      }),
    );
}

/**
 * Logins and credential set times from the Parapet's admin endpoint (GET /v1/logins), as `parapet access
 * review` reads them. With --bootstrap the endpoint must be named too: the data directory's endpoint
 * may belong to another broker than the one scanned, and its logins would be reported as this one's.
 */
async function readLogins(flags: PostureFlags): Promise<LoginEvidence> {
  if (flags.bootstrap !== undefined && flags.adminUrl === undefined) {
    throw new UsageError(`--bootstrap names the cluster scanned but not its admin endpoint: give --admin-url too (the data directory's endpoint may be another broker's)`);
  }
  const answer = await fetchLogins(flags);
  return { recordingSinceMs: answer.recordingSinceMs, dropped: answer.dropped, logins: answer.logins, credentials: answer.credentials };
}

/**
 * The admin's client config (or --client-config). With --bootstrap and no client config at all, the
 * scan goes in as a stranger would (PLAINTEXT, no credentials): it then shows what an unauthenticated
 * client gets, and says the logged-in checks did not run.
 */
function clientConfigOf(flags: PostureFlags, io: AdminIo): ClientConfig {
  const defaultFile = join(flags.dataDir, 'client', 'admin.properties');
  if (flags.clientConfig === undefined && flags.bootstrap !== undefined && !existsSync(defaultFile)) {
    io.stderr(`parapet: no client config (${defaultFile}): scanning ${flags.bootstrap} without credentials\n`);
    return { bootstrapServers: parseBootstrapServers(flags.bootstrap), securityProtocol: 'PLAINTEXT', tls: {} };
  }
  return loadConfig(flags);
}
