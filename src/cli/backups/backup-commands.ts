import { existsSync } from 'node:fs';
import { getPriority, hostname, setPriority } from 'node:os';
import type { Command } from 'commander';
import { listBackups, verifyBackup, type VerifyReport } from '../../backup/reader.js';
import { defaultIdentityFile, defaultTrustFile, ensureBackupKeys, loadIdentity, loadTrustedSigner, loadWriterKeys } from '../../backup/keys/backup-keys.js';
import { writeBackup } from '../../backup/writer.js';
import { createLogger } from '../../logger.js';
import { action, collect, integer, UsageError, type AdminIo } from '../admin/common.js';
import { credentials, target as endpointTarget, withEndpointOptions, type SessionFlags } from '../admin/session-commands.js';
import { formatTable } from '../admin/table.js';
import { acquireCapture } from './acquire-capture.js';
import { withConfigFiles } from './config-files.js';
import { pruneBackups } from '../../backup/prune.js';
import { pruneText, registerPruneCommand, retentionPolicy, withRetentionOptions, type RetentionFlags } from './prune-command.js';
import { byteRate, closeTarget, humanBytes, lockTarget, openTarget, withTargetOptions, type TargetFlags } from './target-spec.js';

interface CreateFlags extends SessionFlags, TargetFlags, RetentionFlags {
  readonly to: string;
  readonly recipient: readonly string[];
  readonly rate?: number;
  readonly nice: number;
  readonly json?: boolean;
}

interface ReadFlags extends TargetFlags {
  readonly from: string;
  readonly dataDir: string;
  readonly trust?: string;
  readonly identity?: string;
  readonly backup?: string;
  readonly json?: boolean;
}

/**
 * Producers lose every CPU second the backup takes (it hashes and encrypts every byte): at nice 10 the
 * broker keeps the CPU when both want it (docs/performance.md, "Backup": the produce ratio during a
 * backup went from about 0.5 to 0.7–0.9 on two busy cores).
 */
const DEFAULT_NICENESS = 10;

/** Only ever lowers: raising a priority needs privileges a backup has no business holding. */
function lowerPriority(by: number): void {
  if (by === 0) return;
  try {
    setPriority(Math.min(19, getPriority() + by));
  } catch {
    // Not allowed here (a sandbox): the backup runs at the broker's priority, as with --nice 0.
  }
}

/** The capture's staging is leased by the broker; a long backup renews it at this interval. */
const RENEW_EVERY_MS = 5 * 60_000;

/**
 * `parapet backup create|list|verify` (docs/operations/backup-and-recovery.md): consistent, encrypted,
 * signed, incremental backups of a data directory, taken while its broker runs (through the admin
 * endpoint) or while it is stopped (under the data directory's lock).
 */
export function registerBackupCommands(backup: Command, io: AdminIo): void {
  withRetentionOptions(withTargetOptions(withEndpointOptions(backup.command('create').description('back up a data directory (its broker running or not) into a target: encrypted, signed, incremental'))))
    .requiredOption('--to <target>', 'where backups go: a directory (local or mounted) or s3://bucket/prefix')
    .option('--recipient <file>', 'encrypt to this X25519 public key (repeatable; default: <data-dir>-keys/backup/recipient.pub)', collect, [])
    .option('--rate <bytes-per-second>', 'read the data directory at most this fast, e.g. 50MiB (default: unbounded)', byteRate)
    .option('--nice <n>', 'lower this command\'s CPU priority by n (0–19; 0: as the broker): the broker keeps the CPU when both want it', integer('--nice', 0, 19), DEFAULT_NICENESS)
    .option('--json', 'print the summary as JSON')
    .action(
      action(io, async (flags: CreateFlags) => {
        lowerPriority(flags.nice);
        const made = ensureBackupKeys(flags.dataDir);
        if (made.created.length > 0) io.stderr(`parapet: made the backup keys in ${made.dir}: ${made.created.join(', ')} (keep a copy of identity.key away from this machine: restores need it)\n`);
        const keys = loadWriterKeys(flags.dataDir, flags.recipient.length > 0 ? flags.recipient : undefined);
        const policy = retentionPolicy(flags);
        const target = openTarget(flags.to, flags);
        let unlockTarget: (() => Promise<void>) | undefined;
        try {
          unlockTarget = await lockTarget(target, flags.to, 'parapet backup create');
          const logger = createLogger('warn', 'json', process.stderr);
          const held = await acquireCapture({ dataDir: flags.dataDir, endpoint: () => ({ target: endpointTarget(flags), credentials: credentials(flags) }), logger });
          const renewal = setInterval(() => {
            held.renew().catch((err: unknown) => {
              io.stderr(`parapet: could not renew the capture's lease: ${err instanceof Error ? err.message : String(err)}\n`);
            });
          }, RENEW_EVERY_MS);
          let completed: { target: string } | undefined;
          try {
            const capture = withConfigFiles(held.capture, flags.dataDir);
            const trusted = loadTrustedSigner(defaultTrustFile(flags.dataDir));
            const began = Date.now();
            const result = await writeBackup(capture, target, keys, { dataDir: flags.dataDir, host: hostname(), ...(flags.rate === undefined ? {} : { rateBytesPerSecond: flags.rate }) });
            const seconds = (Date.now() - began) / 1000;
            completed = { target: target.description };
            const { manifest } = result;
            const summary = {
              id: manifest.id,
              target: target.description,
              via: held.via,
              totalBytes: manifest.totals.bytes,
              storedBytes: result.storedBytes,
              reusedBytes: result.reusedBytes,
              seconds,
              partitions: manifest.partitions.map((p) => ({ topic: p.topic, partition: p.partition, endOffset: p.endOffset })),
            };
            // Retention only after the new backup is complete, and still under the lock (prune.ts).
            const pruned = policy === null ? null : await pruneBackups(target, { policy, trusted });
            if (flags.json === true) {
              io.stdout(`${JSON.stringify(pruned === null ? summary : { ...summary, prune: pruned }, null, 2)}\n`);
              return;
            }
            io.stdout(
              `backup ${manifest.id} complete in ${target.description}: ${manifest.partitions.length} partition(s), ${humanBytes(summary.totalBytes)} captured (${held.via === 'broker' ? 'from the running broker' : 'offline'}), ` +
                `${humanBytes(result.storedBytes)} stored, ${humanBytes(result.reusedBytes)} already there, in ${seconds.toFixed(1)} s\n`,
            );
            if (pruned !== null) io.stdout(pruneText(pruned, target.description));
          } finally {
            clearInterval(renewal);
            await held.release(completed);
          }
        } finally {
          await unlockTarget?.();
          closeTarget(target);
        }
      }),
    );

  withReadOptions(backup.command('list').description('list the backups in a target: time, size, content; incomplete and damaged ones marked'))
    .option('--json', 'print the list as JSON')
    .action(
      action(io, async (flags: ReadFlags) => {
        const trusted = trustedSigner(flags.trust, flags.dataDir);
        const target = openTarget(flags.from, flags);
        let listings;
        try {
          listings = await listBackups(target, { trusted });
        } finally {
          closeTarget(target);
        }
        if (flags.json === true) {
          io.stdout(`${JSON.stringify(listings, null, 2)}\n`);
          return;
        }
        if (listings.length === 0) {
          io.stdout(`no backup in ${flags.from}\n`);
          return;
        }
        io.stdout(
          formatTable(
            ['ID', 'STATE', 'CREATED', 'PARTITIONS', 'TOPICS', 'SIZE', 'STORED'],
            listings.map((b) => [
              b.id,
              b.complete ? 'complete' : b.damaged === undefined ? 'incomplete' : `damaged: ${b.damaged}`,
              b.createdAt ?? '-',
              String(b.partitions),
              b.topics.join(',') || '-',
              humanBytes(b.totalBytes),
              humanBytes(b.storedBytes),
            ]),
          ),
        );
      }),
    );

  withReadOptions(backup.command('verify').description('read back a backup: signature, every chunk, decryption, file hashes, the CRC of every record batch'))
    .option('--backup <id>', 'the backup to verify (default: the newest complete one)')
    .option('--json', 'print the report as JSON')
    .action(
      action(io, async (flags: ReadFlags) => {
        const trusted = trustedSigner(flags.trust, flags.dataDir);
        const identityFile = flags.identity ?? defaultIdentityFile(flags.dataDir);
        // Without the identity (moved offline, as it should be) verify still checks hashes and signature.
        const identity = flags.identity !== undefined || existsSync(identityFile) ? loadIdentity(identityFile) : undefined;
        const target = openTarget(flags.from, flags);
        let report: VerifyReport;
        try {
          const id = flags.backup ?? (await newestComplete(target, trusted));
          report = await verifyBackup(target, id, { trusted, ...(identity === undefined ? {} : { identity }) });
        } finally {
          closeTarget(target);
        }
        if (flags.json === true) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
        else io.stdout(verifyText(report));
        if (!report.ok) io.setExitCode(1);
      }),
    );

  registerPruneCommand(backup, io);
}

/** The options of the commands that read a target: where, and the keys to check and open it with. */
export function withReadOptions(cmd: Command): Command {
  return withTargetOptions(cmd)
    .requiredOption('--from <target>', 'the target the backups are in: a directory or s3://bucket/prefix')
    .option('--data-dir <dir>', 'the data directory whose backup keys to use (<dir>-keys/backup/)', './parapet-data')
    .option('--trust <file>', 'the signing public key manifests must be signed with (default: <data-dir>-keys/backup/signing.key.pub)')
    .option('--identity <file>', 'the X25519 private key to decrypt with (default: <data-dir>-keys/backup/identity.key)');
}

/** The key manifests must be signed with: --trust, else the one beside the data directory, which must be there. */
export function trustedSigner(trust: string | undefined, dataDir: string, option: '--data-dir' | '--keys-from' = '--data-dir'): ReturnType<typeof loadTrustedSigner> {
  const file = trust ?? defaultTrustFile(dataDir);
  if (trust === undefined && !existsSync(file)) {
    throw new UsageError(`no backup signing key beside ${dataDir} (${file}): give the ${option} of the broker that took the backups, or --trust with a copy of its signing.key.pub`);
  }
  return loadTrustedSigner(file);
}

export async function newestComplete(target: ReturnType<typeof openTarget>, trusted: ReturnType<typeof loadTrustedSigner>): Promise<string> {
  const complete = (await listBackups(target, { trusted })).filter((b) => b.complete);
  const newest = complete.at(-1);
  if (newest === undefined) throw new UsageError(`no complete backup in ${target.description}`);
  return newest.id;
}

function verifyText(report: VerifyReport): string {
  const lines = [`backup ${report.id}: ${report.ok ? 'OK' : `${report.problems.length} problem(s)`}${report.signer === null ? '' : `, signed by ${report.signer.slice(0, 16)}…`}`];
  if (!report.decrypted) lines.push('  chunk contents not decrypted (no identity): hashes and signature checked only');
  for (const note of report.notes) lines.push(`  note: ${note}`);
  for (const p of report.problems) lines.push(`  PROBLEM ${p.where}: ${p.what}`);
  if (report.partitions.length > 0) {
    lines.push(
      formatTable(
        ['TOPIC', 'PARTITION', 'LOG-START', 'END', 'RESTORABLE-TO'],
        report.partitions.map((p) => [p.topic, String(p.partition), p.logStartOffset, p.endOffset, p.restorableEndOffset ?? 'nothing']),
      ).trimEnd(),
    );
  }
  return `${lines.join('\n')}\n`;
}
