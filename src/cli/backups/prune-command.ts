import { InvalidArgumentError, type Command } from 'commander';
import { parseDuration, pruneBackups, type PruneReport, type RetentionPolicy } from '../../backup/prune.js';
import { action, integer, UsageError, type AdminIo } from '../admin/common.js';
import { trustedSigner, withReadOptions } from './backup-commands.js';
import { closeTarget, lockTarget, openTarget, type TargetFlags } from './target-spec.js';

export interface RetentionFlags {
  readonly keep?: number;
  readonly keepWithin?: number;
}

interface PruneFlags extends RetentionFlags, TargetFlags {
  readonly from: string;
  readonly dataDir: string;
  readonly trust?: string;
  readonly dryRun?: boolean;
  readonly json?: boolean;
}

function duration(text: string): number {
  const ms = parseDuration(text);
  if (ms === null) throw new InvalidArgumentError(`give a duration such as 30d, 12h, 2w or 90m, not ${JSON.stringify(text)}.`);
  return ms;
}

/** Adds --keep and --keep-within (to `backup prune`, and to `backup create`, which prunes after a successful backup). */
export function withRetentionOptions(cmd: Command): Command {
  return cmd
    .option('--keep <n>', 'keep the newest N complete backups', integer('--keep', 1, 1_000_000))
    .option('--keep-within <duration>', 'keep every complete backup younger than this: 30d, 12h, 2w, 90m', duration);
}

/** The policy the flags ask for, or null when they ask for none. */
export function retentionPolicy(flags: RetentionFlags): RetentionPolicy | null {
  if (flags.keep === undefined && flags.keepWithin === undefined) return null;
  return { ...(flags.keep === undefined ? {} : { keep: flags.keep }), ...(flags.keepWithin === undefined ? {} : { keepWithinMs: flags.keepWithin }) };
}

export function pruneText(report: PruneReport, where: string): string {
  const verb = report.dryRun ? 'would remove' : 'removed';
  const lines = [
    report.pruned.length === 0
      ? `nothing to prune in ${where}: ${report.kept.length} backup(s) kept`
      : `${verb} ${report.pruned.length} backup(s) and ${report.chunksRemoved} chunk(s) from ${where}; kept ${report.kept.length}`,
  ];
  if (report.pruned.length === 0 && report.chunksRemoved > 0) lines.push(`${verb} ${report.chunksRemoved} chunk(s) no backup lists`);
  for (const b of report.pruned) lines.push(`  ${report.dryRun ? 'would prune' : 'pruned'} ${b.id} (${b.complete ? 'complete' : 'incomplete'}, ${b.createdAt ?? 'time unknown'})`);
  for (const note of report.notes) lines.push(`  note: ${note}`);
  return `${lines.join('\n')}\n`;
}

/**
 * `parapet backup prune --from TARGET --keep N --keep-within 30d [--dry-run]`: retention
 * (src/backup/prune.ts says what goes and in which order), under the target's lock.
 */
export function registerPruneCommand(backup: Command, io: AdminIo): void {
  withRetentionOptions(withReadOptions(backup.command('prune').description('remove old backups: keep the newest N and those younger than a duration; the newest complete one always stays')))
    .option('--dry-run', 'say what would be removed; remove nothing')
    .option('--json', 'print the report as JSON')
    .action(
      action(io, async (flags: PruneFlags) => {
        const policy = retentionPolicy(flags);
        if (policy === null) throw new UsageError('backup prune: give --keep N, --keep-within DURATION, or both');
        const trusted = trustedSigner(flags.trust, flags.dataDir);
        const target = openTarget(flags.from, flags);
        try {
          const unlock = await lockTarget(target, flags.from, 'parapet backup prune');
          try {
            const report = await pruneBackups(target, { policy, trusted, dryRun: flags.dryRun === true });
            io.stdout(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : pruneText(report, target.description));
          } finally {
            await unlock();
          }
        } finally {
          closeTarget(target);
        }
      }),
    );
}
