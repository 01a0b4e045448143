/**
 * Key-encryption keys (KEKs): the keys that wrap the data keys (DEKs) of encrypted partitions
 * (docs/security/encryption-at-rest.md). A provider keeps them, by name and version, and never hands one
 * out: it wraps and unwraps DEKs itself. Every method is asynchronous so that a provider may sit behind
 * a network (Vault Transit, a cloud KMS) as well as in-process (`local`) or in an HSM (`pkcs11`).
 *
 * One key name per topic (`topic:<topic id>`): a topic re-created with the same name gets new keys, and
 * destroying a name's KEKs (crypto-shredding) makes every DEK they wrapped, and so every copy of the
 * data, unreadable.
 */

/** A version of a named KEK. Versions start at 1 and only grow; rotation adds one. */
export interface KekRef {
  readonly name: string;
  readonly version: number;
}

/** What may be shown of a KEK version: never its material. */
export interface KekVersionInfo {
  readonly version: number;
  readonly createdMs: number;
  /** Where it lives, for the operator (`local keyring`, `pkcs11 token "parapet", label …`). */
  readonly location: string;
}

/** Why a provider could not give a key: the broker answers each differently (docs/security/encryption-at-rest.md). */
export type KeyFaultKind =
  /** The provider cannot be reached or the key cannot be used now (an HSM down, a login refused): may pass. */
  | 'unavailable'
  /** No such key name or version: never created here, or lost with a keyring that was not restored. */
  | 'missing'
  /** The name's keys were destroyed on purpose (crypto-shredding): the data is gone for good. */
  | 'destroyed'
  /** A wrapped key or a keyring fails authentication: the wrong master key, or tampering. */
  | 'tampered';

export class KeyFault extends Error {
  override name = 'KeyFault';
  readonly kind: KeyFaultKind;

  constructor(kind: KeyFaultKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

export interface KekProvider {
  /** `local`, `pkcs11`, …: shown by `parapet keys` and in logs. */
  readonly kind: string;
  /** The newest version of `name`, creating version 1 when there is none. Throws {@link KeyFault} (`destroyed` after {@link destroy}). */
  current(name: string): Promise<KekRef>;
  /** Creates the next version of `name` and returns it; older versions stay usable for unwrapping. */
  rotate(name: string): Promise<KekRef>;
  /**
   * Encrypts `key` (a DEK) under `kek`, bound to `context` (authenticated, not stored: the same context
   * must be given to {@link unwrap}, so a wrapped key moved to another partition fails).
   */
  wrap(kek: KekRef, key: Buffer, context: Buffer): Promise<Buffer>;
  /** The key {@link wrap} wrapped. Throws {@link KeyFault}: `tampered` when it fails authentication. */
  unwrap(kek: KekRef, wrapped: Buffer, context: Buffer): Promise<Buffer>;
  /** Destroys every version of `name` for good; later calls for it throw `destroyed`. */
  destroy(name: string): Promise<void>;
  /** The versions of `name` (empty when it has none), or `destroyed`. */
  describe(name: string): Promise<readonly KekVersionInfo[] | 'destroyed'>;
  /** Every name the provider holds keys for, destroyed ones included. */
  names(): Promise<readonly string[]>;
  close(): Promise<void>;
}

/** The KEK name of a topic: by its id, so a re-created topic of the same name shares nothing. */
export function topicKeyName(topicId: string): string {
  return `topic:${topicId}`;
}
