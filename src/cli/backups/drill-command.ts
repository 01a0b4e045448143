import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { defaultIdentityFile, loadIdentity } from '../../backup/keys/backup-keys.js';
import { action, integer, type AdminIo } from '../admin/common.js';
import { formatTable } from '../admin/table.js';
import { newestComplete, trustedSigner } from './backup-commands.js';
import { runDrill, type DrillReport } from './drill/run-drill.js';
import { closeTarget, openTarget, withTargetOptions, type TargetFlags } from './target-spec.js';

interface DrillFlags extends TargetFlags {
  readonly from: string;
  readonly backup?: string;
  readonly keysFrom: string;
  readonly trust?: string;
  readonly identity?: string;
  readonly keepDir?: boolean;
  readonly startTimeout: number;
  readonly json?: boolean;
}

/**
 * `parapet dr drill` (docs/operations/backup-and-recovery.md): a disaster-recovery rehearsal to run
 * from cron. Restores a backup into a temporary directory, starts a broker on it, reads every
 * partition back and compares it with the backup; prints the RPO and RTO it measured and exits 1
 * when anything differs or fails.
 */
export function registerDrillCommand(dr: Command, io: AdminIo): void {
  withTargetOptions(dr.command('drill'))
    .description('restore a backup into a temporary directory, start a broker on it, read every partition back and compare; report RPO and RTO')
    .requiredOption('--from <target>', 'the target the backups are in: a directory, or s3://bucket/prefix')
    .option('--backup <id>', 'the backup to drill (default: the newest complete one)')
    .option('--keys-from <dir>', 'the data directory whose keys to use: its keyring, <dir>-keys/backup/identity.key and signing.key.pub', './parapet-data')
    .option('--trust <file>', 'the signing public key the manifest must be signed with (default: from --keys-from)')
    .option('--identity <file>', 'the X25519 private key to decrypt with (default: from --keys-from)')
    .option('--start-timeout <seconds>', 'how long the restored broker may take to start', integer('--start-timeout', 1, 3600), 120)
    .option('--keep-dir', 'keep the restored directory (its path is printed) instead of removing it')
    .option('--json', 'print the report as JSON')
    .action(
      action(io, async (flags: DrillFlags) => {
        const startedAtMs = Date.now();
        const target = openTarget(flags.from, flags);
        const trusted = trustedSigner(flags.trust, flags.keysFrom, '--keys-from');
        const identityFile = flags.identity ?? defaultIdentityFile(flags.keysFrom);
        // Without the identity (kept offline) the drill still verifies, then says why it cannot restore.
        const identity = flags.identity !== undefined || existsSync(identityFile) ? loadIdentity(identityFile) : undefined;
        const backupId = flags.backup ?? (await newestComplete(target, trusted));
        // Exiting runs the drill's exit hooks: the restored broker is killed, the temporary directory removed.
        const interrupted = (signal: NodeJS.Signals) => {
          io.stderr(`parapet: dr drill interrupted (${signal}): the restored broker is stopped and its directory removed\n`);
          process.exit(1);
        };
        process.once('SIGINT', interrupted);
        process.once('SIGTERM', interrupted);
        let report;
        try {
          report = await runDrill({
            target,
            backupId,
            trusted,
            identity,
            identityFile,
            keysFrom: flags.keysFrom,
            keepDir: flags.keepDir === true,
            startTimeoutMs: flags.startTimeout * 1000,
            startedAtMs,
          });
        } finally {
          process.removeListener('SIGINT', interrupted);
          process.removeListener('SIGTERM', interrupted);
          closeTarget(target);
        }
        io.stdout(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : drillText(report));
        if (!report.ok) io.setExitCode(1);
      }),
    );
}

const seconds = (s: number | null) => (s === null ? '-' : `${s.toFixed(1)} s`);

function drillText(r: DrillReport): string {
  const lines = [`dr drill of backup ${r.backupId} in ${r.target}: ${r.ok ? 'PASSED' : 'FAILED'} in ${seconds(r.seconds)}`];
  if (r.capturedAt !== null) lines.push(`  RPO ${seconds(r.rpoSeconds)} (captured ${r.capturedAt})   RTO ${seconds(r.rtoSeconds)} (until the restored broker served its first fetch)`);
  lines.push(`  verify: ${r.verify.ok ? 'OK' : `${r.verify.problems.length} problem(s)`}${r.verify.decrypted ? '' : ' (chunks not decrypted)'}`);
  for (const p of r.verify.problems) lines.push(`  PROBLEM ${p.where}: ${p.what}`);
  if (r.failure !== null) lines.push(`  FAILED at ${r.failedAt ?? '?'}: ${r.failure}`);
  if (r.partitions.length > 0) {
    lines.push(
      formatTable(
        ['TOPIC', 'PARTITION', 'LOG-START', 'END', 'EARLIEST', 'LATEST', 'BATCHES', 'RECORDS', 'COMPARED', 'RESULT'],
        r.partitions.map((p) => [p.topic, String(p.partition), p.logStartOffset, p.endOffset, p.earliest ?? '-', p.latest ?? '-', String(p.batches), String(p.records), p.compared, p.ok ? 'ok' : 'MISMATCH']),
      ).trimEnd(),
    );
    for (const p of r.partitions) for (const problem of p.problems) lines.push(`  PROBLEM ${p.topic}-${p.partition}: ${problem}`);
    if (r.partitions.some((p) => p.sealed)) lines.push('  crc-and-offsets: encrypted at rest, served opened: compared by batch CRC-32C and offsets, not by hash');
  }
  if (r.keptDir !== null) lines.push(`  kept the restored directory: ${r.keptDir}`);
  return `${lines.join('\n')}\n`;
}
