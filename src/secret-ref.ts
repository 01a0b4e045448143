import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from './config-error.js';

/**
 * Secrets are never written in the config file: it names where they are, `${file:/path}` or
 * `${env:NAME}` (docs/configuration.md#secrets). A file must be readable by its owner only, as ssh
 * asks of a private key, so that a secret is not handed to every account on the machine.
 */
export const SECRET_REF = /^\$\{(file|env):([^}]+)\}$/;

export type SecretRef = { readonly kind: 'file'; readonly path: string } | { readonly kind: 'env'; readonly name: string };

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

/** The secret's bytes. Throws a ConfigError that names the reference, never the secret. */
export function readSecret(ref: SecretRef, what: string): Buffer {
  if (ref.kind === 'env') {
    const value = process.env[ref.name];
    if (value === undefined || value === '') throw new ConfigError(`${what}: the environment variable ${ref.name} is not set`);
    return Buffer.from(value, 'utf8');
  }
  let mode: number;
  try {
    mode = statSync(ref.path).mode;
  } catch (err) {
    throw new ConfigError(`${what}: cannot read ${ref.path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(`${what}: ${ref.path} may be read by other accounts (mode ${(mode & 0o777).toString(8)}): \`chmod 600 ${ref.path}\``);
  }
  return readFileSync(ref.path);
}
