import { ParapetError } from '../../errors.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { ScramCredentialChanges, StoredScramCredential } from '../../storage/metadata-store.js';
import type { CredentialLookup, ScramCredential, ScramMechanismName } from '../types.js';
import { MAX_SCRAM_ITERATIONS, MIN_SCRAM_ITERATIONS, SCRAM_MECHANISMS } from './scram-keys.js';

/**
 * Users' SCRAM credentials (Kafka's credential model, protocol notes §4) in the metadata store: the
 * salt, the iteration count, StoredKey and ServerKey; never a password or a salted password. Reads go
 * to the store each time (one indexed SQLite lookup per authentication), so a credential altered or
 * deleted is in force for the next login.
 */

/** What CredentialStore needs of the metadata store (the MetadataStore methods of the same names). */
export interface CredentialPersistence {
  scramCredential(user: string, mechanism: string): StoredScramCredential | undefined;
  scramCredentials(users: readonly string[] | null): StoredScramCredential[];
  alterScramCredentials(changes: ScramCredentialChanges): boolean[];
}

export interface CredentialStoreOptions {
  readonly store: CredentialPersistence;
}

/** What DescribeUserScramCredentials may show of a user's credentials: no salt, no key. */
export interface UserScramCredentials {
  readonly user: string;
  readonly credentials: readonly { readonly mechanism: ScramMechanismName; readonly iterations: number }[];
}

export interface ScramUpsertion {
  readonly user: string;
  readonly mechanism: ScramMechanismName;
  readonly credential: ScramCredential;
}

export interface ScramDeletion {
  readonly user: string;
  readonly mechanism: ScramMechanismName;
}

const isMechanism = (text: string): text is ScramMechanismName => (SCRAM_MECHANISMS as readonly string[]).includes(text);

function unacceptable(message: string): ParapetError {
  return new ParapetError('METADATA_ERROR', message, { kafkaErrorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL });
}

/**
 * The store's own guard, whoever calls it (the admin API validates first and answers per user; the
 * CLI's bootstrap users come here directly): Kafka's iteration bounds, a user and a salt.
 */
function checkUpsertion(u: ScramUpsertion): void {
  if (u.user === '') throw unacceptable('a SCRAM credential needs a user name');
  if (!isMechanism(u.mechanism)) throw unacceptable(`unknown SCRAM mechanism ${String(u.mechanism)}`);
  const { iterations, salt, storedKey, serverKey } = u.credential;
  if (!Number.isInteger(iterations) || iterations < MIN_SCRAM_ITERATIONS || iterations > MAX_SCRAM_ITERATIONS) {
    throw unacceptable(`SCRAM iterations must be between ${MIN_SCRAM_ITERATIONS} and ${MAX_SCRAM_ITERATIONS}`);
  }
  if (salt.length === 0 || storedKey.length === 0 || serverKey.length === 0) throw unacceptable('a SCRAM credential needs a salt and keys');
}

export class CredentialStore implements CredentialLookup {
  readonly #store: CredentialPersistence;

  constructor(options: CredentialStoreOptions) {
    this.#store = options.store;
  }

  scram(user: string, mechanism: ScramMechanismName): ScramCredential | undefined {
    const row = this.#store.scramCredential(user, mechanism);
    if (row === undefined) return undefined;
    return { salt: row.salt, storedKey: row.storedKey, serverKey: row.serverKey, iterations: row.iterations };
  }

  /** Sets (adding or replacing) a user's credential for one mechanism. */
  upsert(user: string, mechanism: ScramMechanismName, credential: ScramCredential): void {
    this.alter({ upsertions: [{ user, mechanism, credential }], deletions: [] });
  }

  /** Deletes a user's credential for one mechanism; false when there was none. */
  delete(user: string, mechanism: ScramMechanismName): boolean {
    return this.alter({ upsertions: [], deletions: [{ user, mechanism }] })[0] ?? false;
  }

  /**
   * Applies deletions then upsertions all or none (AlterUserScramCredentials is atomic in Kafka);
   * returns, per deletion in order, whether there was a credential to delete. Throws a METADATA_ERROR
   * carrying UNACCEPTABLE_CREDENTIAL, and changes nothing, if any upsertion is unacceptable.
   */
  alter(changes: { readonly upsertions: readonly ScramUpsertion[]; readonly deletions: readonly ScramDeletion[] }): boolean[] {
    for (const u of changes.upsertions) checkUpsertion(u);
    return this.#store.alterScramCredentials({
      deletions: changes.deletions,
      upsertions: changes.upsertions.map(({ user, mechanism, credential }) => ({ user, mechanism, ...pick(credential) })),
    });
  }

  /**
   * The mechanisms and iteration counts of the given users' credentials, or of every user's when
   * `users` is null; users without a credential are left out. Ordered by user (as given), then mechanism.
   */
  describe(users: readonly string[] | null): UserScramCredentials[] {
    const byUser = new Map<string, { mechanism: ScramMechanismName; iterations: number }[]>();
    for (const row of this.#store.scramCredentials(users === null ? null : [...new Set(users)])) {
      // A mechanism this broker does not know (a store written by a newer one) is not shown as one.
      if (!isMechanism(row.mechanism)) continue;
      let list = byUser.get(row.user);
      if (list === undefined) byUser.set(row.user, (list = []));
      list.push({ mechanism: row.mechanism, iterations: row.iterations });
    }
    return [...byUser].map(([user, credentials]) => ({ user, credentials }));
  }
}

/** Only the credential's own fields: a caller's extra properties never reach the store. */
function pick(c: ScramCredential): Pick<StoredScramCredential, 'salt' | 'storedKey' | 'serverKey' | 'iterations'> {
  return { salt: Buffer.from(c.salt), storedKey: Buffer.from(c.storedKey), serverKey: Buffer.from(c.serverKey), iterations: c.iterations };
}
