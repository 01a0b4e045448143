import { randomBytes } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import type { GcmParams, Handle, Mechanism } from 'pkcs11js';
import { silentLogger, type Logger } from '../../logger.js';
import { KeyFault, type KekProvider, type KekRef, type KekVersionInfo } from './kek-provider.js';
import { createdLabel, dataObject, destroyedLabel, keyLabel, keyTemplate, readObjects, type NameState } from './pkcs11-objects.js';
import { ckrName, errorText, TokenSession } from './pkcs11-session.js';

/**
 * KEKs kept in a PKCS#11 token (an HSM, or SoftHSM2 in tests). Each version is an AES-256 key generated
 * inside the token, sensitive and not extractable, labelled `parapet:<name>:v<version>`: its bytes never
 * reach this process, which asks the token to encrypt and decrypt with it (AES-GCM).
 *
 * Beside the keys the token holds data objects for creation times and destroyed names (pkcs11-objects.ts).
 * The objects are read once when the provider opens and then kept in memory (handles included): the
 * provider assumes it is the only writer of `parapet:` objects on the token while it is open.
 */

/** Layout of a wrapped key: format (1 byte) ‖ IV (12) ‖ AES-GCM ciphertext ‖ tag (16). */
const FORMAT = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * What C_Decrypt answers to a failed GCM tag: CKR_ENCRYPTED_DATA_INVALID per the standard, but SoftHSM2
 * (2.6) says CKR_GENERAL_ERROR. On a key handle known to be valid, each means the input is not genuine.
 */
const TAMPERED_CODES = new Set(['CKR_ENCRYPTED_DATA_INVALID', 'CKR_ENCRYPTED_DATA_LEN_RANGE', 'CKR_GENERAL_ERROR']);

export interface Pkcs11ProviderOptions {
  /** Path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  readonly module: string;
  readonly tokenLabel: string;
  /** The token's user PIN. Never logged nor put in a message. */
  readonly pin: string;
  readonly logger?: Logger;
}

/** Opens the token and reads its `parapet:` objects. Throws KeyFault `unavailable` naming the module and token. */
// eslint-disable-next-line @typescript-eslint/require-await -- pkcs11js opens synchronously; failures still arrive as rejections
export async function openPkcs11Provider(options: Pkcs11ProviderOptions): Promise<Pkcs11KekProvider> {
  const token = TokenSession.open(options);
  try {
    return new Pkcs11KekProvider(token, options.logger ?? silentLogger);
  } catch (e) {
    token.close();
    throw e instanceof KeyFault ? e : new KeyFault('unavailable', `${token.where}: cannot read its objects: ${errorText(e)}`);
  }
}

export class Pkcs11KekProvider implements KekProvider {
  readonly kind = 'pkcs11';
  readonly #token: TokenSession;
  readonly #logger: Logger;
  readonly #names: Map<string, NameState>;
  /** Every call to the token goes through here, one at a time: a session runs one operation at a time. */
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #closing: Promise<void> | undefined;

  /** Use {@link openPkcs11Provider}. */
  constructor(token: TokenSession, logger: Logger) {
    this.#token = token;
    this.#logger = logger;
    this.#names = readObjects(token);
    this.#finishDestroys();
  }

  current(name: string): Promise<KekRef> {
    return this.#run('current', () => {
      const newest = Math.max(0, ...(this.#live(name)?.versions.keys() ?? []));
      return newest > 0 ? { name, version: newest } : this.#create(name, 1);
    });
  }

  rotate(name: string): Promise<KekRef> {
    return this.#run('rotate', () => this.#create(name, Math.max(0, ...(this.#live(name)?.versions.keys() ?? [])) + 1));
  }

  wrap(kek: KekRef, key: Buffer, context: Buffer): Promise<Buffer> {
    return this.#run('wrap', async () => {
      const handle = this.#key(kek);
      const iv = randomBytes(IV_BYTES);
      this.#token.api.C_EncryptInit(this.#token.session, gcm(iv, context), handle);
      const sealed = await this.#token.api.C_EncryptAsync(this.#token.session, key, Buffer.alloc(key.length + TAG_BYTES));
      return Buffer.concat([Buffer.of(FORMAT), iv, sealed]);
    });
  }

  unwrap(kek: KekRef, wrapped: Buffer, context: Buffer): Promise<Buffer> {
    return this.#run('unwrap', async () => {
      const handle = this.#key(kek);
      if (wrapped.length < 1 + IV_BYTES + TAG_BYTES || wrapped[0] !== FORMAT) {
        throw new KeyFault('tampered', `wrapped key for ${keyLabel(kek.name, kek.version)} is malformed`);
      }
      const sealed = wrapped.subarray(1 + IV_BYTES);
      this.#token.api.C_DecryptInit(this.#token.session, gcm(wrapped.subarray(1, 1 + IV_BYTES), context), handle);
      try {
        return await this.#token.api.C_DecryptAsync(this.#token.session, sealed, Buffer.alloc(sealed.length));
      } catch (e) {
        const ckr = ckrName(e);
        if (ckr === undefined || !TAMPERED_CODES.has(ckr)) throw e;
        throw new KeyFault('tampered', `wrapped key for ${keyLabel(kek.name, kek.version)} fails authentication (${ckr}): tampered, or another context`);
      }
    });
  }

  destroy(name: string): Promise<void> {
    return this.#run('destroy', () => {
      const state = this.#state(name);
      // The mark first: a crash half-way leaves a name that reads as destroyed, and opening finishes the job.
      state.destroyed ??= this.#token.api.C_CreateObject(this.#token.session, dataObject(destroyedLabel(name), Buffer.alloc(0)));
      this.#shred(state);
      this.#logger.warn({ kek: name }, 'KEK destroyed: data wrapped under it can no longer be read');
    });
  }

  describe(name: string): Promise<readonly KekVersionInfo[] | 'destroyed'> {
    return this.#run('describe', () => {
      const state = this.#names.get(name);
      if (state?.destroyed !== undefined) return 'destroyed';
      return [...(state?.versions ?? [])]
        .sort(([a], [b]) => a - b)
        .map(([version, v]) => ({ version, createdMs: v.createdMs, location: `${this.#token.where}, object ${keyLabel(name, version)}` }));
    });
  }

  names(): Promise<readonly string[]> {
    return this.#run('names', () =>
      [...this.#names]
        .filter(([, state]) => state.destroyed !== undefined || state.versions.size > 0)
        .map(([name]) => name)
        .sort(),
    );
  }

  /** Waits for the calls under way, then logs out and closes the session; later calls throw `unavailable`. */
  close(): Promise<void> {
    this.#closing ??= this.#run('close', () => {
      this.#closed = true;
      this.#token.close();
    });
    return this.#closing;
  }

  /** Completes destroys that a crash interrupted: a name marked destroyed keeps no key. */
  #finishDestroys(): void {
    for (const [name, state] of this.#names) {
      if (state.destroyed === undefined || state.versions.size === 0) continue;
      this.#logger.warn({ kek: name, versions: state.versions.size }, 'KEK marked destroyed still had keys: destroying them');
      this.#shred(state);
    }
  }

  #run<T>(operation: string, fn: () => T | Promise<T>): Promise<T> {
    const result = this.#queue
      .then(() => {
        if (this.#closed) throw new KeyFault('unavailable', `${this.#token.where}: the provider is closed`);
        return fn();
      })
      .catch((e: unknown) => {
        if (e instanceof KeyFault || ckrName(e) === undefined) throw e;
        throw new KeyFault('unavailable', `${this.#token.where}: ${operation} failed: ${errorText(e)}`);
      });
    this.#queue = result.catch(() => undefined);
    return result;
  }

  #state(name: string): NameState {
    let state = this.#names.get(name);
    if (state === undefined) this.#names.set(name, (state = { destroyed: undefined, versions: new Map() }));
    return state;
  }

  /** The state of a name that is not destroyed (undefined when it has nothing). */
  #live(name: string): NameState | undefined {
    const state = this.#names.get(name);
    if (state?.destroyed !== undefined) throw new KeyFault('destroyed', `KEK ${name} was destroyed`);
    return state;
  }

  #key(kek: KekRef): Handle {
    const version = this.#live(kek.name)?.versions.get(kek.version);
    if (version === undefined) throw new KeyFault('missing', `${this.#token.where} has no KEK ${keyLabel(kek.name, kek.version)}`);
    return version.key;
  }

  async #create(name: string, version: number): Promise<KekRef> {
    const label = keyLabel(name, version);
    const key = await this.#token.api.C_GenerateKeyAsync(this.#token.session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, keyTemplate(label));
    const createdMs = Date.now();
    let record: Handle;
    try {
      record = this.#token.api.C_CreateObject(this.#token.session, dataObject(createdLabel(name, version), Buffer.from(String(createdMs))));
    } catch (e) {
      // A key nobody can date would still be usable; better none than a half-made version.
      this.#token.api.C_DestroyObject(this.#token.session, key);
      throw e;
    }
    this.#state(name).versions.set(version, { key, record, createdMs });
    this.#logger.info({ kek: name, version }, 'KEK version created in the token');
    return { name, version };
  }

  #shred(state: NameState): void {
    for (const [version, v] of state.versions) {
      this.#token.api.C_DestroyObject(this.#token.session, v.key);
      if (v.record !== undefined) this.#token.api.C_DestroyObject(this.#token.session, v.record);
      state.versions.delete(version);
    }
  }
}

function gcm(iv: Buffer, aad: Buffer): Mechanism {
  // The v2.40 CK_GCM_PARAMS (with ulIvBits), the layout SoftHSM2 and current HSMs read.
  const parameter: GcmParams = { type: pkcs11js.CK_PARAMS_AES_GCM_v240, iv, ivBits: IV_BYTES * 8, aad, tagBits: TAG_BYTES * 8 };
  return { mechanism: pkcs11js.CKM_AES_GCM, parameter };
}
