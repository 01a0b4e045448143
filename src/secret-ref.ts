import { readFileSync, statSync, type Stats } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from './config-error.js';

/**
 * Secrets are never written in the config file: it names where they are, `${file:/path}` or
 * `${env:NAME}` (docs/configuration.md#secrets). A file must be readable by its owner only, as ssh
 * asks of a private key, so that a secret is not handed to every account on the machine.
 */
export const SECRET_REF = /^\$\{(file|env):([^}]+)\}$/;

/** Text that was meant as a reference (`${…}`), well formed or not: a typo must not pass as a literal secret. */
const LOOKS_LIKE_REF = /^\$\{.*\}$/s;

export type SecretRef = { readonly kind: 'file'; readonly path: string } | { readonly kind: 'env'; readonly name: string };

export function isSecretRef(text: string): boolean {
  return SECRET_REF.test(text);
}

/** `${vault:x}`, `${env:}`, `${file:}`: written as a reference but not one Parapet reads. */
export function isMalformedSecretRef(text: string): boolean {
  return LOOKS_LIKE_REF.test(text) && !SECRET_REF.test(text);
}

/** Parses a reference; `what` names the setting in errors. Relative file paths are taken from `baseDir`. */
export function parseSecretRef(ref: string, what: string, baseDir?: string): SecretRef {
  const m = SECRET_REF.exec(ref);
  if (m === null || m[2] === undefined) throw new ConfigError(`${what} must be a reference, \${file:/path} or \${env:NAME}: secrets are never written in the configuration`);
  if (m[1] === 'env') return { kind: 'env', name: m[2] };
  return { kind: 'file', path: isAbsolute(m[2]) || baseDir === undefined ? m[2] : resolve(baseDir, m[2]) };
}

/** The reference with a relative file path made absolute (how a loaded config keeps it). */
export function absoluteSecretRef(ref: string, baseDir: string | undefined): string {
  const parsed = parseSecretRef(ref, 'a secret', baseDir);
  return parsed.kind === 'env' ? ref : `\${file:${parsed.path}}`;
}

/** The permission bits of an owner-only secret file, or a refusal that names the file and the fix. */
function ownerOnlyMode(path: string, what: string): number {
  let stat: Stats;
  try {
    stat = statSync(path);
  } catch (err) {
    throw new ConfigError(`${what}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (!stat.isFile()) throw new ConfigError(`${what}: ${path} is not a file`);
  const mode = stat.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(`${what}: ${path} may be read by other accounts (mode ${mode.toString(8)}): \`chmod 600 ${path}\``);
  }
  return mode;
}

/** The secret's bytes. Throws a ConfigError that names the reference, never the secret. */
export function readSecret(ref: SecretRef, what: string): Buffer {
  if (ref.kind === 'env') {
    const value = process.env[ref.name];
    if (value === undefined || value === '') throw new ConfigError(`${what}: the environment variable ${ref.name} is not set`);
    return Buffer.from(value, 'utf8');
  }
  ownerOnlyMode(ref.path, what);
  try {
    return readFileSync(ref.path);
  } catch (err) {
    throw new ConfigError(`${what}: cannot read ${ref.path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/**
 * Where a secret comes from, once it is known to be readable and not empty: `set (from env NAME)` or
 * `set (from file PATH, mode 600)`, what `parapet check-config` prints in place of a value. Throws the
 * refusal `readSecret` would.
 */
export function describeSecret(ref: SecretRef, what: string): string {
  const value = readSecret(ref, what);
  if (value.toString('utf8').trim() === '') throw new ConfigError(`${what}: ${ref.kind === 'env' ? `the environment variable ${ref.name}` : ref.path} is empty`);
  value.fill(0);
  return ref.kind === 'env' ? `set (from env ${ref.name})` : `set (from file ${ref.path}, mode ${ownerOnlyMode(ref.path, what).toString(8)})`;
}
