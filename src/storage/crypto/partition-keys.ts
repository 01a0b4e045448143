import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import type { LogFs } from '../log/log-fs.js';
import { DataKeyCache } from './data-key-cache.js';
import { KeyFault, topicKeyName, type KekProvider, type KekRef } from './kek-provider.js';

/**
 * The data keys (DEKs) of one partition: generated here, used for a bounded number of batches, bytes
 * and time, and stored only wrapped by the topic's KEK, in `data-keys.json` beside the segments they
 * encrypt (docs/storage-format.md#data-keys). A DEK is written there, durably, before the first batch
 * it seals: a crash can leave an unused key, never a batch without its key.
 *
 * A DEK seals batches for one broker process at most: the counts of its use live in memory, so a
 * restart starts a new one rather than trust a count it cannot know.
 */

/** How long a DEK may seal batches. Far inside AES-GCM's bound for random 96-bit nonces (2^32 messages per key, NIST SP 800-38D). */
export interface DataKeyLimits {
  readonly maxBatches: number;
  readonly maxBytes: number;
  readonly maxAgeMs: number;
}

export const DEFAULT_DATA_KEY_LIMITS: DataKeyLimits = {
  // 2^24 batches: a nonce collision among them has a chance below 2^-48.
  maxBatches: 2 ** 24,
  maxBytes: 64 * 1024 ** 3,
  maxAgeMs: 7 * 24 * 3600 * 1000,
};

export const DATA_KEYS_FILE = 'data-keys.json';

/** What the broker gives every partition's keys. */
export interface KeyServices {
  readonly provider: KekProvider;
  readonly cache: DataKeyCache;
  readonly limits: DataKeyLimits;
}

export interface StoredDataKey {
  readonly id: number;
  readonly kek: KekRef;
  /** base64 of what the provider's wrap returned. */
  readonly wrapped: string;
  readonly createdMs: number;
}

interface DataKeysFile {
  readonly format: number;
  readonly topicId: string;
  readonly partition: number;
  keys: StoredDataKey[];
}

/** The key sealing a partition's batches now, with its use so far. */
export interface SealingKey {
  readonly id: number;
  readonly key: KeyObject;
  readonly createdMs: number;
  batches: number;
  bytes: number;
}

/** Bound into each wrapped DEK: a wrapped key moved to another partition or id does not unwrap. */
function dataKeyContext(topicId: string, partition: number, id: number): Buffer {
  return Buffer.from(`parapet-data-key\0${topicId}\0${partition}\0${id}`);
}

export class PartitionKeys {
  readonly #fs: LogFs;
  readonly #dir: string;
  readonly #topicId: string;
  readonly #partition: number;
  readonly #services: KeyServices;
  readonly #clock: () => number;
  #file: DataKeysFile | null = null;
  #sealing: SealingKey | null = null;
  #creating: Promise<SealingKey> | null = null;

  constructor(fs: LogFs, dir: string, place: { topicId: string; partition: number }, services: KeyServices, clock: () => number) {
    this.#fs = fs;
    this.#dir = dir;
    this.#topicId = place.topicId;
    this.#partition = place.partition;
    this.#services = services;
    this.#clock = clock;
  }

  /** By topic id, not directory: a topic re-created under the same name has other keys with the same ids. */
  get #cacheKey(): string {
    return `${this.#topicId}\0${this.#partition}`;
  }

  get kekName(): string {
    return topicKeyName(this.#topicId);
  }

  /** The stored (wrapped) keys, oldest first: for `parapet keys describe`, rewrapping and tests. */
  stored(): readonly StoredDataKey[] {
    return this.#load().keys;
  }

  /**
   * The key to seal the next batch with: the current one while within its limits, else a new one,
   * wrapped and stored first. Throws a {@link KeyFault} when the topic's KEK cannot be had.
   */
  async sealingKey(): Promise<SealingKey> {
    const current = this.#sealing;
    const limits = this.#services.limits;
    if (current !== null && current.batches < limits.maxBatches && current.bytes < limits.maxBytes && this.#clock() - current.createdMs < limits.maxAgeMs) {
      return current;
    }
    // Appends in flight at a rollover share the one new key.
    this.#creating ??= this.#create().finally(() => {
      this.#creating = null;
    });
    return this.#creating;
  }

  async #create(): Promise<SealingKey> {
    const provider = this.#services.provider;
    const file = this.#load();
    // A partition with keys whose KEK the provider does not know (a keyring lost, another HSM): a new
    // KEK would make the old data unreadable next to the new without anyone noticing. Refused.
    const versions = await provider.describe(this.kekName);
    if (file.keys.length > 0 && versions !== 'destroyed' && versions.length === 0) {
      const last = file.keys[file.keys.length - 1] as StoredDataKey;
      throw new KeyFault('missing', `no key ${last.kek.name} version ${last.kek.version} in the ${provider.kind} key provider: restore the keyring (or the HSM token) that holds it`);
    }
    const kek = await provider.current(this.kekName);
    const id = (file.keys.at(-1)?.id ?? 0) + 1;
    const material = randomBytes(32);
    const wrapped = await provider.wrap(kek, material, dataKeyContext(this.#topicId, this.#partition, id));
    const createdMs = this.#clock();
    file.keys.push({ id, kek, wrapped: wrapped.toString('base64'), createdMs });
    this.#save(file);
    const key = createSecretKey(material);
    material.fill(0);
    this.#services.cache.set(this.#cacheKey, id, key);
    this.#sealing = { id, key, createdMs, batches: 0, bytes: 0 };
    return this.#sealing;
  }

  /** The key with this id, unwrapped (from the cache when there). Throws a {@link KeyFault}. */
  async openingKey(id: number): Promise<KeyObject> {
    return this.#services.cache.get(this.#cacheKey, id) ?? (await this.#unwrap(id));
  }

  async #unwrap(id: number): Promise<KeyObject> {
    const stored = this.#load().keys.find((k) => k.id === id);
    // Every data key is stored before the first batch it seals: a sealed batch naming an id the file does
    // not hold was changed (or the file replaced by an older one). Not a key that may come back.
    if (stored === undefined) throw new KeyFault('tampered', `data key ${id} is not in ${join(this.#dir, DATA_KEYS_FILE)}`);
    const material = await this.#services.provider.unwrap(stored.kek, Buffer.from(stored.wrapped, 'base64'), dataKeyContext(this.#topicId, this.#partition, id));
    const key = createSecretKey(material);
    material.fill(0);
    this.#services.cache.set(this.#cacheKey, id, key);
    return key;
  }

  /**
   * Wraps every stored key again under the newest version of the topic's KEK (`parapet keys rewrap`):
   * the data is not rewritten. Returns how many keys changed.
   */
  async rewrap(): Promise<number> {
    const provider = this.#services.provider;
    const newest = await provider.current(this.kekName);
    const file = this.#load();
    let changed = 0;
    const keys: StoredDataKey[] = [];
    for (const stored of file.keys) {
      if (stored.kek.version === newest.version) {
        keys.push(stored);
        continue;
      }
      const context = dataKeyContext(this.#topicId, this.#partition, stored.id);
      const material = await provider.unwrap(stored.kek, Buffer.from(stored.wrapped, 'base64'), context);
      const wrapped = await provider.wrap(newest, material, context);
      material.fill(0);
      keys.push({ ...stored, kek: newest, wrapped: wrapped.toString('base64') });
      changed++;
    }
    if (changed > 0) this.#save({ ...file, keys });
    return changed;
  }

  /** Forgets the keys in memory (the partition is closing or its topic's keys were destroyed). */
  forget(): void {
    this.#sealing = null;
    this.#services.cache.dropPartition(this.#cacheKey);
  }

  #load(): DataKeysFile {
    if (this.#file !== null) return this.#file;
    const path = join(this.#dir, DATA_KEYS_FILE);
    if (!this.#fs.existsSync(path)) {
      this.#file = { format: 1, topicId: this.#topicId, partition: this.#partition, keys: [] };
      return this.#file;
    }
    let file: DataKeysFile;
    try {
      file = JSON.parse(this.#fs.readFileSync(path).toString('utf8')) as DataKeysFile;
    } catch (err) {
      throw new KeyFault('tampered', `${path} is not readable: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (file.format !== 1 || !Array.isArray(file.keys)) throw new KeyFault('tampered', `${path} is not a data key file of a known format`);
    if (file.topicId !== this.#topicId || file.partition !== this.#partition) {
      throw new KeyFault('tampered', `${path} belongs to topic id ${file.topicId} partition ${String(file.partition)}, not to this partition`);
    }
    this.#file = file;
    return file;
  }

  #save(file: DataKeysFile): void {
    this.#fs.writeFileDurably(join(this.#dir, DATA_KEYS_FILE), Buffer.from(`${JSON.stringify(file)}\n`));
    this.#fs.fsyncDir(this.#dir);
    this.#file = file;
  }
}
