import { BackupError, BackupErrorKinds } from '../backup-error.js';

/**
 * The keys every target accepts: relative, `/`-separated segments that start with a letter, digit,
 * `_` or `-` (so never `.`, `..` or a directory target's temporary `.put-` name). One rule for every
 * target, so a backup copied from a directory to a bucket keeps the same keys.
 */
export const KEY_SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

export function checkKey(key: string): void {
  if (key.length === 0 || key.length > 1024 || !key.split('/').every((s) => KEY_SEGMENT.test(s))) {
    throw new BackupError(BackupErrorKinds.BAD_KEY, key, `${JSON.stringify(key)} is not a backup object key (relative, [A-Za-z0-9._-] names separated by /, no . or ..)`);
  }
}

export function checkPrefix(prefix: string): void {
  if (prefix === '') return;
  checkKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}
