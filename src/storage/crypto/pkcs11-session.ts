import pkcs11js from 'pkcs11js';
import type { Handle, PKCS11, Template } from 'pkcs11js';
import { KeyFault } from './kek-provider.js';

/**
 * A logged-in read/write session on one PKCS#11 token, and the process-wide bookkeeping PKCS#11 needs
 * underneath it. Two rules of the standard shape this file:
 *  - C_Initialize/C_Finalize are per process, not per caller: a second C_Initialize fails, and one
 *    C_Finalize ends every session. So each module is loaded once and finalized when its last user
 *    closes (which also makes a reopen see tokens initialised since, as SoftHSM2 lists them only then).
 *  - Login state is per token for the whole process: every session on a token shares it, and C_Logout
 *    logs them all out. So a token is logged out only when its last session here closes.
 */

interface LoadedModule {
  readonly api: PKCS11;
  /** False when something else in the process had already initialised it: then it is not ours to finalize. */
  readonly initialised: boolean;
  users: number;
  /** Logged-in sessions per slot (hex of the slot id). */
  readonly logins: Map<string, number>;
}

const modules = new Map<string, LoadedModule>();

/** The CKR_… name of a PKCS#11 failure, or undefined for any other error. */
export function ckrName(e: unknown): string | undefined {
  if (!(e instanceof Error)) return undefined;
  // pkcs11js sets the name as the message of its Pkcs11Error; a few of its methods throw unwrapped errors.
  return /\bCKR_[A-Z0-9_]+/.exec(e.message)?.[0];
}

export function errorText(e: unknown): string {
  return ckrName(e) ?? (e instanceof Error ? e.message : String(e));
}

function acquireModule(path: string, where: string): LoadedModule {
  let loaded = modules.get(path);
  if (loaded === undefined) {
    const api = new pkcs11js.PKCS11();
    try {
      api.load(path);
    } catch (e) {
      throw new KeyFault('unavailable', `${where}: cannot load the PKCS#11 module: ${errorText(e)}`);
    }
    let initialised = true;
    try {
      // pkcs11js runs C_Encrypt/C_Decrypt/C_GenerateKey's Async forms on libuv's threads: the module must lock.
      api.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    } catch (e) {
      if (ckrName(e) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') {
        api.close();
        throw new KeyFault('unavailable', `${where}: C_Initialize failed: ${errorText(e)}`);
      }
      initialised = false;
    }
    loaded = { api, initialised, users: 0, logins: new Map() };
    modules.set(path, loaded);
  }
  loaded.users++;
  return loaded;
}

function releaseModule(path: string, loaded: LoadedModule): void {
  if (--loaded.users > 0) return;
  modules.delete(path);
  try {
    if (loaded.initialised) loaded.api.C_Finalize();
  } finally {
    loaded.api.close();
  }
}

export interface TokenSessionOptions {
  /** Path of the PKCS#11 module (the vendor's .so). */
  readonly module: string;
  readonly tokenLabel: string;
  readonly pin: string;
}

export class TokenSession {
  readonly api: PKCS11;
  readonly session: Handle;
  /** `pkcs11 token "<label>" (<module>)`: how every message names the token. Never the PIN. */
  readonly where: string;
  readonly #module: LoadedModule;
  readonly #modulePath: string;
  readonly #slot: string;
  #open = true;

  private constructor(loaded: LoadedModule, modulePath: string, slot: string, session: Handle, where: string) {
    this.api = loaded.api;
    this.#module = loaded;
    this.#modulePath = modulePath;
    this.#slot = slot;
    this.session = session;
    this.where = where;
  }

  /** Loads the module, finds the token by label, opens a R/W session and logs in as the user. Throws KeyFault `unavailable`. */
  static open(options: TokenSessionOptions): TokenSession {
    const where = `pkcs11 token "${options.tokenLabel}" (${options.module})`;
    const loaded = acquireModule(options.module, where);
    let session: Handle | undefined;
    try {
      const slot = findSlot(loaded.api, options.tokenLabel, where);
      const slotKey = slot.toString('hex');
      session = loaded.api.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      login(loaded.api, session, options.pin, where);
      loaded.logins.set(slotKey, (loaded.logins.get(slotKey) ?? 0) + 1);
      return new TokenSession(loaded, options.module, slotKey, session, where);
    } catch (e) {
      if (session !== undefined) loaded.api.C_CloseSession(session);
      releaseModule(options.module, loaded);
      throw e instanceof KeyFault ? e : new KeyFault('unavailable', `${where}: cannot open a session: ${errorText(e)}`);
    }
  }

  /** Handles of the objects matching `template` (token objects only). */
  find(template: Template): Handle[] {
    const found: Handle[] = [];
    this.api.C_FindObjectsInit(this.session, [{ type: pkcs11js.CKA_TOKEN, value: true }, ...template]);
    try {
      for (let batch = this.api.C_FindObjects(this.session, 64); batch.length > 0; batch = this.api.C_FindObjects(this.session, 64)) {
        found.push(...batch);
      }
    } finally {
      this.api.C_FindObjectsFinal(this.session);
    }
    return found;
  }

  /** The raw values of `types` on `object`, in that order. */
  read(object: Handle, ...types: number[]): Buffer[] {
    return this.api.C_GetAttributeValue(this.session, object, types.map((type) => ({ type }))).map((a) => a.value);
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    const remaining = (this.#module.logins.get(this.#slot) ?? 1) - 1;
    if (remaining > 0) this.#module.logins.set(this.#slot, remaining);
    else this.#module.logins.delete(this.#slot);
    try {
      if (remaining === 0) this.api.C_Logout(this.session);
      this.api.C_CloseSession(this.session);
    } finally {
      releaseModule(this.#modulePath, this.#module);
    }
  }
}

function findSlot(api: PKCS11, label: string, where: string): Handle {
  // Token labels are 32 bytes padded with spaces: a longer one can never match.
  const matches = api.C_GetSlotList(true).filter((slot) => api.C_GetTokenInfo(slot).label.trimEnd() === label);
  if (matches.length === 0) throw new KeyFault('unavailable', `${where}: no token with that label (is it initialised and present?)`);
  // Two tokens with one label: the keys could be on either, and picking one could "lose" them.
  if (matches.length > 1) throw new KeyFault('unavailable', `${where}: ${matches.length} tokens have that label; labels must be unique`);
  const [slot] = matches as [Handle];
  return slot;
}

function login(api: PKCS11, session: Handle, pin: string, where: string): void {
  try {
    api.C_Login(session, pkcs11js.CKU_USER, pin);
  } catch (e) {
    const ckr = ckrName(e);
    // Another session of this process is logged in to the token already, and so is this one.
    if (ckr === 'CKR_USER_ALREADY_LOGGED_IN') return;
    const why =
      ckr === 'CKR_PIN_INCORRECT' ? 'the PIN is incorrect' : ckr === 'CKR_PIN_LOCKED' ? 'the user PIN is locked' : 'login refused';
    throw new KeyFault('unavailable', `${where}: ${why} (${errorText(e)})`);
  }
}
