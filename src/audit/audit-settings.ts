import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { ConfigError } from '../config-error.js';
import { absoluteSecretRef } from '../secret-ref.js';
import { defaultAuditSigningKeyFile } from './signing-key.js';

/** Where a data directory's audit trail is, and the reference to its signing key. */
export interface AuditSettings {
  readonly dir: string;
  /** A secret reference, `${file:/abs/path}` or `${env:NAME}`. */
  readonly signingKey: string;
}

export function defaultAuditSettings(dataDir: string): AuditSettings {
  const root = resolve(dataDir);
  return { dir: join(root, 'audit'), signingKey: `\${file:${defaultAuditSigningKeyFile(root)}}` };
}

/**
 * The `audit` section of a data directory's parapet.yaml (`dir`, `signingKey`), each falling back to
 * its default when absent: read here from the raw YAML, for the `parapet audit` commands, which must
 * work on a directory whose broker runs (no lock, no full config load).
 */
export function auditSettingsOf(dataDir: string): AuditSettings {
  const root = resolve(dataDir);
  const defaults = defaultAuditSettings(root);
  const file = join(root, 'parapet.yaml');
  if (!existsSync(file)) return defaults;
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${file}: not valid YAML (${err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err)})`);
  }
  const audit = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>).audit : undefined;
  if (audit === undefined || audit === null) return defaults;
  if (typeof audit !== 'object') throw new ConfigError(`${file}: audit must be a mapping (dir, signingKey, …)`);
  const { dir, signingKey } = audit as Record<string, unknown>;
  if (dir !== undefined && (typeof dir !== 'string' || dir === '')) throw new ConfigError(`${file}: audit.dir must be a path`);
  if (signingKey !== undefined && typeof signingKey !== 'string') throw new ConfigError(`${file}: audit.signingKey must be a reference, \${file:/path} or \${env:NAME}`);
  return {
    dir: dir === undefined ? defaults.dir : isAbsolute(dir) ? dir : resolve(root, dir),
    signingKey: signingKey === undefined ? defaults.signingKey : absoluteSecretRef(signingKey, root),
  };
}
