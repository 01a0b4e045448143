import { DirectoryTarget } from '../../backup/targets/directory-target.js';
import type { BackupTarget } from '../../backup/contracts.js';
import { DataDirLock } from '../../storage/data-dir-lock.js';
import { UsageError } from '../admin/common.js';

/** The target a `--to`/`--from` names: a directory, local or mounted. */
export function openTarget(spec: string): BackupTarget {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) throw new UsageError(`${spec}: only a directory is a backup target in this version`);
  return new DirectoryTarget(spec);
}

/**
 * One writer per target at a time: two backups writing at once could each store a chunk the other
 * then names. The lock is the data directory's kind (an exclusive SQLite transaction on a file in the
 * target), so a backup killed mid-way leaves nothing held. Returns the release.
 */
export function lockTarget(spec: string): () => void {
  const lock = DataDirLock.acquire(spec, 'parapet backup create');
  return () => {
    lock.release();
  };
}

const UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** `50MiB`, `10MB`, `1000000` (bytes a second; a trailing `/s` is allowed). */
export function byteRate(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?(?:\/s)?$/i.exec(text.trim());
  const unit = UNITS[(m?.[2] ?? '').toLowerCase()];
  const value = m?.[1] === undefined || unit === undefined ? NaN : Number(m[1]) * unit;
  if (!Number.isFinite(value) || value < 64 * 1024) throw new UsageError(`--rate: give bytes a second, at least 64KiB (e.g. 50MiB), not ${JSON.stringify(text)}`);
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
