import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fsyncDirectory } from '../../storage/durable-files.js';
import type { CertificateAndKey } from './certificates.js';
import { normaliseSerial, REVOCATION_REASONS, type RevocationReason } from './revocation-list.js';

/**
 * The certificate authority's own directory: `ca.key` and `ca.crt`, written by `parapet init`, and the
 * revocations `parapet cert revoke` recorded. It lives outside the data directory (by default beside
 * it, `<data dir>-ca`), because the running broker never needs the CA key: only issuing certificates
 * and CRLs does (`parapet cert`). The broker trusts the CA through the copy of `ca.crt` in
 * `<data dir>/tls/`. Operators may move this directory offline or to another account.
 */

export const CA_KEY_FILE = 'ca.key';
export const CA_CERT_FILE = 'ca.crt';
export const REVOCATIONS_FILE = 'revoked.json';

export class CaDirectoryError extends Error {
  override name = 'CaDirectoryError';
}

/** Where `parapet init` puts the CA unless told otherwise: beside the data directory, `<data dir>-ca`. */
export function defaultCaDir(dataDir: string): string {
  return `${resolve(dataDir)}-ca`;
}

/** Throws when the CA directory is the data directory or inside it, where the broker could read the key. */
export function checkCaDirPlacement(caDir: string, dataDir: string): void {
  const inside = relative(resolve(dataDir), resolve(caDir));
  if (inside === '' || (!inside.startsWith('..') && !isAbsolute(inside))) {
    throw new CaDirectoryError(`the CA directory ${resolve(caDir)} is inside the data directory ${resolve(dataDir)}: keep the CA key out of the broker's reach (the default is ${defaultCaDir(dataDir)})`);
  }
}

/** The CA of `caDir`; a clear error when it is missing or unreadable (moved offline, say). */
export function readCertificateAuthority(caDir: string): CertificateAndKey {
  const read = (file: string): string => {
    const path = join(caDir, file);
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        throw new CaDirectoryError(
          `no CA in ${caDir} (${path} does not exist): give --ca-dir, the directory \`parapet init\` printed (its CA key may have been moved offline: bring it back for this command)`,
        );
      }
      throw new CaDirectoryError(`cannot read ${path}: ${code ?? 'unknown error'}${code === 'EACCES' ? ' (the CA directory belongs to another account? run this command as that account)' : ''}`);
    }
  };
  // The key first: it is what a CA directory moved offline lacks, and what the message should name.
  const keyPem = read(CA_KEY_FILE);
  return { certPem: read(CA_CERT_FILE), keyPem };
}

export interface RevocationRecord {
  /** Upper case hexadecimal, no padding octet (normaliseSerial). */
  readonly serialNumber: string;
  readonly subject: string;
  /** ISO 8601. */
  readonly revokedAt: string;
  readonly reason: RevocationReason;
}

/** What the CA has revoked, and the number of the last CRL it issued (each CRL gets the next one). */
export interface RevocationState {
  readonly crlNumber: number;
  readonly revoked: readonly RevocationRecord[];
}

export function readRevocations(caDir: string): RevocationState {
  const path = join(caDir, REVOCATIONS_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { crlNumber: 0, revoked: [] };
    throw new CaDirectoryError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unknown error'}`);
  }
  const state = parseRevocations(text);
  if (state === undefined) throw new CaDirectoryError(`${path} is not a revocation list written by parapet: restore it from a backup`);
  return state;
}

/** Replaces the revocation state in one step (written aside, flushed, renamed), mode 0600. */
export function writeRevocations(caDir: string, state: RevocationState): void {
  writeFileAtomically(join(caDir, REVOCATIONS_FILE), `${JSON.stringify(state, null, 2)}\n`, 0o600);
}

/**
 * Writes `text` to `path` so that readers (the broker polling a CRL or certificate) see the old file or
 * the whole new one: a temporary file beside it, flushed, then renamed over it.
 */
export function writeFileAtomically(path: string, text: string, mode: number): void {
  const temporary = join(dirname(path), `.${Date.now().toString(36)}-${process.pid}.tmp`);
  const fd = openSync(temporary, 'wx', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(temporary, path);
  fsyncDirectory(dirname(path));
}

function parseRevocations(text: string): RevocationState | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { crlNumber, revoked } = raw as { crlNumber?: unknown; revoked?: unknown };
  if (typeof crlNumber !== 'number' || !Number.isSafeInteger(crlNumber) || crlNumber < 0 || !Array.isArray(revoked)) return undefined;
  const records: RevocationRecord[] = [];
  for (const entry of revoked as unknown[]) {
    const e = entry as Partial<Record<keyof RevocationRecord, unknown>>;
    if (typeof e.serialNumber !== 'string' || typeof e.subject !== 'string' || typeof e.revokedAt !== 'string' || Number.isNaN(Date.parse(e.revokedAt))) return undefined;
    if (typeof e.reason !== 'string' || !(REVOCATION_REASONS as readonly string[]).includes(e.reason)) return undefined;
    let serialNumber: string;
    try {
      serialNumber = normaliseSerial(e.serialNumber);
    } catch {
      return undefined;
    }
    records.push({ serialNumber, subject: e.subject, revokedAt: e.revokedAt, reason: e.reason as RevocationReason });
  }
  return { crlNumber, revoked: records };
}
