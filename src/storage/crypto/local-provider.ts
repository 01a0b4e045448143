import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { dirname } from 'node:path';
import { nodeLogFs, type LogFs } from '../log/log-fs.js';
import { KeyFault, type KekProvider, type KekRef, type KekVersionInfo } from './kek-provider.js';

/**
 * The `local` KEK provider: a keyring file of KEKs, each wrapped (AES-256-GCM) by a master key that
 * the broker is given at start (docs/security/encryption-at-rest.md#key-custody) and that is kept out
 * of the data directory, so that a copied data directory, or a disk image, or a backup of it is useless
 * on its own. The keyring itself may sit in the data directory: without the master key it is noise.
 *
 * The master key is 32 random bytes, or derived from a passphrase with scrypt and the keyring's salt.
 * A check value (a known text sealed under the master key) tells a wrong master key from a damaged
 * KEK at open, so a wrong key stops the start with its own message.
 */

export type MasterKeySource = { readonly kind: 'key'; readonly key: Buffer } | { readonly kind: 'passphrase'; readonly passphrase: string };

interface StoredVersion {
  readonly version: number;
  readonly createdMs: number;
  /** nonce (12) | ciphertext (32) | tag (16), base64. */
  readonly wrapped: string;
}

interface StoredName {
  destroyed: boolean;
  versions: StoredVersion[];
}

interface KeyringFile {
  readonly format: number;
  /** scrypt salt of a passphrase-derived master key (base64); unused with a master key file. */
  readonly salt: string;
  readonly check: string;
  readonly names: Record<string, StoredName>;
}

const CHECK_TEXT = Buffer.from('parapet keyring master key check v1');
/** scrypt cost: about 50 ms here, once per start; 32 MiB of memory (N·r·128). */
const SCRYPT = { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
export const MASTER_KEY_BYTES = 32;

function gcmSeal(key: Buffer, plain: Buffer, aad: Buffer): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64');
}

/** The plain bytes, or null when they fail authentication. */
function gcmOpen(key: Buffer, sealed: Buffer, aad: Buffer): Buffer | null {
  if (sealed.length < 28) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
  } catch {
    return null;
  }
}

const kekAad = (ref: KekRef): Buffer => Buffer.from(`parapet-kek\0${ref.name}\0${ref.version}`);
const dekAad = (ref: KekRef, context: Buffer): Buffer => Buffer.concat([Buffer.from(`parapet-dek\0${ref.name}\0${ref.version}\0`), context]);

/* eslint-disable @typescript-eslint/require-await -- the interface is asynchronous for remote providers;
   this one works in-process, and `async` turns its KeyFaults into rejections as callers expect. */
export class LocalKekProvider implements KekProvider {
  readonly kind = 'local';
  readonly #path: string;
  readonly #fs: LogFs;
  readonly #clock: () => number;
  readonly #master: Buffer;
  readonly #file: KeyringFile;
  /** Unwrapped KEKs; a handful (one per topic and version in use), dropped at close. */
  readonly #keks = new Map<string, Buffer>();
  #closed = false;

  private constructor(path: string, file: KeyringFile, master: Buffer, fs: LogFs, clock: () => number) {
    this.#path = path;
    this.#file = file;
    this.#master = master;
    this.#fs = fs;
    this.#clock = clock;
  }

  /**
   * Opens the keyring at `path`, creating it when `create` and it does not exist. Throws a
   * {@link KeyFault}: `missing` (no keyring where one is expected), `tampered` (the master key does not
   * open it: the wrong key, or a damaged file).
   */
  static open(path: string, master: MasterKeySource, options: { create: boolean; fs?: LogFs; clock?: () => number }): LocalKekProvider {
    const fs = options.fs ?? nodeLogFs;
    const clock = options.clock ?? Date.now;
    if (!fs.existsSync(path)) {
      if (!options.create) throw new KeyFault('missing', `the keyring ${path} does not exist: restore it from a backup (it holds the keys of every encrypted topic)`);
      const salt = randomBytes(16);
      const key = masterKey(master, salt);
      const file: KeyringFile = { format: 1, salt: salt.toString('base64'), check: gcmSeal(key, CHECK_TEXT, Buffer.alloc(0)), names: {} };
      const provider = new LocalKekProvider(path, file, key, fs, clock);
      provider.#save();
      return provider;
    }
    let file: KeyringFile;
    try {
      file = JSON.parse(fs.readFileSync(path).toString('utf8')) as KeyringFile;
      if (file.format !== 1 || typeof file.check !== 'string' || typeof file.names !== 'object') throw new Error('not a keyring');
    } catch (err) {
      throw new KeyFault('tampered', `the keyring ${path} is not readable (${err instanceof Error ? err.message : String(err)})`);
    }
    const key = masterKey(master, Buffer.from(file.salt, 'base64'));
    if (gcmOpen(key, Buffer.from(file.check, 'base64'), Buffer.alloc(0))?.equals(CHECK_TEXT) !== true) {
      throw new KeyFault('tampered', `the master key does not open the keyring ${path}: it is the wrong master key (or passphrase), or the keyring was changed`);
    }
    return new LocalKekProvider(path, file, key, fs, clock);
  }

  #checkOpen(): void {
    if (this.#closed) throw new KeyFault('unavailable', `the keyring ${this.#path} is closed`);
  }

  #entry(name: string): StoredName | undefined {
    const entry = this.#file.names[name];
    if (entry?.destroyed === true) throw new KeyFault('destroyed', `the keys of ${name} were destroyed (crypto-shredded)`);
    return entry;
  }

  async current(name: string): Promise<KekRef> {
    this.#checkOpen();
    const entry = this.#entry(name);
    const newest = entry?.versions.at(-1);
    return newest === undefined ? this.#create(name) : { name, version: newest.version };
  }

  async rotate(name: string): Promise<KekRef> {
    this.#checkOpen();
    return this.#create(name);
  }

  #create(name: string): KekRef {
    const entry = this.#entry(name) ?? { destroyed: false, versions: [] };
    const ref = { name, version: (entry.versions.at(-1)?.version ?? 0) + 1 };
    const kek = randomBytes(32);
    entry.versions.push({ version: ref.version, createdMs: this.#clock(), wrapped: gcmSeal(this.#master, kek, kekAad(ref)) });
    this.#file.names[name] = entry;
    this.#save();
    return ref;
  }

  #kek(ref: KekRef): Buffer {
    const id = `${ref.name}\0${ref.version}`;
    const cached = this.#keks.get(id);
    if (cached !== undefined) return cached;
    const stored = this.#entry(ref.name)?.versions.find((v) => v.version === ref.version);
    if (stored === undefined) throw new KeyFault('missing', `no key ${ref.name} version ${ref.version} in the keyring ${this.#path}`);
    const kek = gcmOpen(this.#master, Buffer.from(stored.wrapped, 'base64'), kekAad(ref));
    if (kek === null) throw new KeyFault('tampered', `key ${ref.name} version ${ref.version} in the keyring ${this.#path} fails authentication (changed on disk)`);
    this.#keks.set(id, kek);
    return kek;
  }

  async wrap(kek: KekRef, key: Buffer, context: Buffer): Promise<Buffer> {
    this.#checkOpen();
    return Buffer.from(gcmSeal(this.#kek(kek), key, dekAad(kek, context)), 'base64');
  }

  async unwrap(kek: KekRef, wrapped: Buffer, context: Buffer): Promise<Buffer> {
    this.#checkOpen();
    const key = gcmOpen(this.#kek(kek), wrapped, dekAad(kek, context));
    if (key === null) throw new KeyFault('tampered', `a data key wrapped by ${kek.name} version ${kek.version} fails authentication (changed, or moved from another partition)`);
    return key;
  }

  async destroy(name: string): Promise<void> {
    this.#checkOpen();
    const entry = this.#file.names[name];
    for (const version of entry?.versions ?? []) this.#keks.get(`${name}\0${version.version}`)?.fill(0);
    for (const id of [...this.#keks.keys()]) if (id.startsWith(`${name}\0`)) this.#keks.delete(id);
    this.#file.names[name] = { destroyed: true, versions: [] };
    this.#save();
  }

  async describe(name: string): Promise<readonly KekVersionInfo[] | 'destroyed'> {
    this.#checkOpen();
    const entry = this.#file.names[name];
    if (entry?.destroyed === true) return 'destroyed';
    return (entry?.versions ?? []).map((v) => ({ version: v.version, createdMs: v.createdMs, location: `local keyring ${this.#path}` }));
  }

  async names(): Promise<readonly string[]> {
    this.#checkOpen();
    return Object.keys(this.#file.names);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const kek of this.#keks.values()) kek.fill(0);
    this.#keks.clear();
  }

  /** Written whole and durably: a crash leaves the old keyring or the new one, never half of one. */
  #save(): void {
    this.#fs.writeFileDurably(this.#path, Buffer.from(`${JSON.stringify(this.#file)}\n`));
    this.#fs.fsyncDir(dirname(this.#path));
  }
}

function masterKey(source: MasterKeySource, salt: Buffer): Buffer {
  if (source.kind === 'passphrase') {
    if (source.passphrase.length < 12) throw new KeyFault('unavailable', 'the master passphrase is shorter than 12 characters');
    return scryptSync(source.passphrase.normalize('NFKC'), salt, 32, SCRYPT);
  }
  if (source.key.length !== MASTER_KEY_BYTES) throw new KeyFault('unavailable', `a master key is ${MASTER_KEY_BYTES} bytes (64 hexadecimal digits or 44 base64 characters); this one is ${source.key.length}`);
  return source.key;
}

/** Parses a master key file's text: 64 hexadecimal digits or base64 of 32 bytes, whitespace ignored. */
export function parseMasterKey(text: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== MASTER_KEY_BYTES) throw new KeyFault('unavailable', `a master key is ${MASTER_KEY_BYTES} bytes (64 hexadecimal digits or 44 base64 characters)`);
  return key;
}
