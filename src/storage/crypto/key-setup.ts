import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { ConfigError } from '../../config-error.js';
import { parseSecretRef, readSecret, type SecretRef } from '../../secret-ref.js';
import type { Logger } from '../../logger.js';
import { fsyncDirectory, writeFileDurably } from '../durable-files.js';
import { DataKeyCache } from './data-key-cache.js';
import { KeyFault, type KekProvider } from './kek-provider.js';
import { LocalKekProvider, MASTER_KEY_BYTES, parseMasterKey, type MasterKeySource } from './local-provider.js';
import { DEFAULT_DATA_KEY_LIMITS, type KeyServices } from './partition-keys.js';
import { PendingKekProvider } from './pending-provider.js';

/** The broker's settings of encryption at rest (docs/security/encryption-at-rest.md#configuration). */
export interface EncryptionAtRestConfig {
  /** Where the KEKs live: `local` (a keyring under a master key) or `pkcs11` (an HSM). */
  readonly provider: 'local' | 'pkcs11';
  /** local: `${file:…}` or `${env:…}` holding the 32-byte master key; default `${file:<data dir>-keys/master.key}`. */
  readonly masterKey?: string;
  /** local: `${file:…}` or `${env:…}` holding a passphrase to derive the master key from, instead of a key. */
  readonly masterPassphrase?: string;
  readonly pkcs11?: { readonly module: string; readonly tokenLabel: string; readonly pin: string };
  readonly dataKeyMaxBatches: number;
  readonly dataKeyMaxBytes: number;
  readonly dataKeyMaxAgeMs: number;
  /** Most unwrapped data keys held in memory, all partitions together. */
  readonly dataKeyCacheSize: number;
}

export const DEFAULT_ENCRYPTION_AT_REST: EncryptionAtRestConfig = {
  provider: 'local',
  dataKeyMaxBatches: DEFAULT_DATA_KEY_LIMITS.maxBatches,
  dataKeyMaxBytes: DEFAULT_DATA_KEY_LIMITS.maxBytes,
  dataKeyMaxAgeMs: DEFAULT_DATA_KEY_LIMITS.maxAgeMs,
  dataKeyCacheSize: 4096,
};

/** The local keyring: in the data directory (it is useless without the master key, which is not). */
export const KEYRING_FILE = 'keyring.json';

/** Where the master key goes unless configured: beside the data directory, never in it. */
export function defaultMasterKeyFile(dataDir: string): string {
  return join(`${resolve(dataDir)}-keys`, 'master.key');
}

/** The KEK provider and what every partition's keys share, opened for a broker or a `parapet keys` command. */
export interface OpenedKeyServices {
  readonly services: KeyServices;
  /** Resolves when the provider is usable (an HSM logged in); rejects with why it is not. */
  readonly ready: Promise<void>;
  /** Where the keys are, for the start-up log: never a secret. */
  readonly description: string;
}

/**
 * Opens the configured KEK provider. For `local`, a first start (no keyring yet) with a master key
 * file that does not exist creates both, and says where; a keyring without its master key, or with
 * another one, stops the start with a message that says which.
 */
export function openKeyServices(config: EncryptionAtRestConfig, dataDir: string, logger: Logger, options: { create?: boolean } = {}): OpenedKeyServices {
  const limits = { maxBatches: config.dataKeyMaxBatches, maxBytes: config.dataKeyMaxBytes, maxAgeMs: config.dataKeyMaxAgeMs };
  const cache = new DataKeyCache(config.dataKeyCacheSize);
  if (config.provider === 'pkcs11') {
    const p = config.pkcs11;
    if (p === undefined) throw new ConfigError('encryptionAtRest.provider is pkcs11 but encryptionAtRest.pkcs11 (module, tokenLabel, pin) is not set');
    const pin = readSecret(parseSecretRef(p.pin, 'encryptionAtRest.pkcs11.pin'), 'encryptionAtRest.pkcs11.pin').toString('utf8').trim();
    const provider = new PendingKekProvider(
      'pkcs11',
      import('./pkcs11-provider.js').then((m) => m.openPkcs11Provider({ module: p.module, tokenLabel: p.tokenLabel, pin, logger })),
    );
    return { services: { provider, cache, limits }, ready: provider.ready, description: `pkcs11 token "${p.tokenLabel}" (${p.module})` };
  }
  const keyring = join(dataDir, KEYRING_FILE);
  const provider = openLocal(config, dataDir, keyring, logger, options.create ?? true);
  return { services: { provider, cache, limits }, ready: Promise.resolve(), description: `local keyring ${keyring}` };
}

function openLocal(config: EncryptionAtRestConfig, dataDir: string, keyring: string, logger: Logger, create: boolean): KekProvider {
  const firstStart = !existsSync(keyring);
  let source: MasterKeySource;
  if (config.masterPassphrase !== undefined) {
    const ref = parseSecretRef(config.masterPassphrase, 'encryptionAtRest.masterPassphrase');
    source = { kind: 'passphrase', passphrase: readSecret(ref, 'encryptionAtRest.masterPassphrase').toString('utf8').replace(/\r?\n$/, '') };
  } else {
    const ref = parseSecretRef(config.masterKey ?? `\${file:${defaultMasterKeyFile(dataDir)}}`, 'encryptionAtRest.masterKey');
    if (ref.kind === 'file') checkOutsideDataDir(ref.path, dataDir);
    if (ref.kind === 'file' && !existsSync(ref.path)) {
      if (!firstStart || !create) {
        throw new ConfigError(
          `the master key file ${ref.path} does not exist, and the keyring ${keyring} was made with a master key: ` +
            'restore the master key file (without it, no encrypted topic of this data directory can be read, and nothing can recover them)',
        );
      }
      createMasterKeyFile(ref.path, logger);
    }
    source = { kind: 'key', key: masterKeyOf(ref) };
  }
  try {
    return LocalKekProvider.open(keyring, source, { create: firstStart && create });
  } catch (err) {
    if (err instanceof KeyFault) throw new ConfigError(`encryption at rest: ${err.message}`);
    throw err;
  }
}

function masterKeyOf(ref: SecretRef): Buffer {
  try {
    return parseMasterKey(readSecret(ref, 'encryptionAtRest.masterKey').toString('utf8'));
  } catch (err) {
    if (err instanceof KeyFault) throw new ConfigError(`encryptionAtRest.masterKey (${ref.kind === 'file' ? ref.path : `$${ref.name}`}): ${err.message}`);
    throw err;
  }
}

/** A master key inside the data directory would travel with every copy of it: refused. */
function checkOutsideDataDir(path: string, dataDir: string): void {
  const inside = relative(resolve(dataDir), resolve(path));
  if (!inside.startsWith('..') && !isAbsolute(inside)) {
    throw new ConfigError(
      `the master key file ${resolve(path)} is inside the data directory ${resolve(dataDir)}: a copy of the directory would carry its own key. ` +
        `Keep it apart (the default is ${defaultMasterKeyFile(dataDir)})`,
    );
  }
}

/**
 * Creates a master key file (32 random bytes, base64, mode 0600 in a 0700 directory) unless one is
 * there (an interrupted `parapet init` made it). Returns whether it made one.
 */
export function ensureMasterKeyFile(path: string): boolean {
  if (existsSync(path)) return false;
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileDurably(path, `${randomBytes(MASTER_KEY_BYTES).toString('base64')}\n`, 0o600);
  fsyncDirectory(dir);
  return true;
}

function createMasterKeyFile(path: string, logger: Logger): void {
  ensureMasterKeyFile(path);
  logger.warn(
    { masterKeyFile: path },
    'created the master key of encryption at rest: keep it apart from the data directory and back it up on its own; without it the encrypted data cannot be read by anyone',
  );
}
