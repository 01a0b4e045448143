import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { DirectoryTarget } from '../../backup/targets/directory-target.js';
import { acquireS3Lock } from '../../backup/targets/s3-lock.js';
import { S3Target } from '../../backup/targets/s3-target.js';
import type { BackupTarget } from '../../backup/contracts.js';
import { DataDirLock } from '../../storage/data-dir-lock.js';
import { UsageError } from '../admin/common.js';

/** The S3 settings a command may be given; credentials never: they come from the AWS chain (environment, profile, role). */
export interface TargetFlags {
  readonly s3Endpoint?: string;
  readonly s3Region?: string;
  readonly s3PathStyle?: boolean;
}

/** Adds the options of an `s3://` target to a command that opens one (backup create/list/verify/prune, restore). */
export function withTargetOptions(cmd: Command): Command {
  return cmd
    .option('--s3-endpoint <url>', 'for an s3:// target: the S3-compatible endpoint (e.g. http://127.0.0.1:9000); default: AWS S3')
    .option('--s3-region <region>', 'for an s3:// target: the region (default: AWS_REGION, else us-east-1)')
    .option('--s3-path-style', 'for an s3:// target: path-style addressing (endpoint/bucket/key), which most self-hosted servers need');
}

/** The target a `--to`/`--from` names: `s3://bucket/prefix`, or a directory (local or mounted). */
export function openTarget(spec: string, flags: TargetFlags = {}): BackupTarget {
  const s3Given = flags.s3Endpoint !== undefined || flags.s3Region !== undefined || flags.s3PathStyle === true;
  if (spec.startsWith('s3://')) {
    if (flags.s3Endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(flags.s3Endpoint)) throw new UsageError(`--s3-endpoint: give a URL such as http://127.0.0.1:9000, not ${JSON.stringify(flags.s3Endpoint)}`);
    return new S3Target(spec, {
      ...(flags.s3Endpoint === undefined ? {} : { endpoint: flags.s3Endpoint }),
      ...(flags.s3Region === undefined ? {} : { region: flags.s3Region }),
      pathStyle: flags.s3PathStyle === true,
    });
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) throw new UsageError(`${spec}: a backup target is a directory or s3://bucket/prefix`);
  if (s3Given) throw new UsageError(`--s3-endpoint, --s3-region and --s3-path-style are for an s3:// target, not the directory ${spec}`);
  return new DirectoryTarget(spec);
}

/** Lets go of what a target holds open (an S3 client's sockets); nothing for a directory. */
export function closeTarget(target: BackupTarget): void {
  if (target instanceof S3Target) target.close();
}

/**
 * One writer per target at a time (a backup, a prune): two backups writing at once could each store a
 * chunk the other then names, and a prune could remove a chunk a backup is about to list. On a
 * directory the lock is the data directory's kind (an exclusive SQLite transaction on a file in the
 * target), so a writer killed mid-way leaves nothing held. On a bucket it is a lease object created
 * with a conditional write (s3-lock.ts says what that guarantees). Returns the release.
 */
export async function lockTarget(target: BackupTarget, spec: string, purpose: string): Promise<() => Promise<void>> {
  if (target instanceof S3Target) {
    const held = await acquireS3Lock(target, { purpose });
    return () => held.release();
  }
  const lock = DataDirLock.acquire(spec, purpose);
  return () => {
    lock.release();
    return Promise.resolve();
  };
}

const UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** `50MiB`, `10MB`, `1000000` (bytes a second; a trailing `/s` is allowed). */
export function byteRate(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?(?:\/s)?$/i.exec(text.trim());
  const unit = UNITS[(m?.[2] ?? '').toLowerCase()];
  const value = m?.[1] === undefined || unit === undefined ? NaN : Number(m[1]) * unit;
  // commander shows an InvalidArgumentError as a usage error (exit 2), naming the option.
  if (!Number.isFinite(value) || value < 64 * 1024) throw new InvalidArgumentError(`give bytes a second, at least 64KiB (e.g. 50MiB), not ${JSON.stringify(text)}`);
  return Math.floor(value);
}

export function humanBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit] ?? 'TiB'}`;
}
