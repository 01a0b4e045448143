import { ParapetError } from '../../errors.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { ScramCredentialChanges, StoredScramCredential } from '../../storage/metadata-store.js';
import { userNameProblem } from '../../protocol/names.js';
import type { CredentialLookup, ScramCredential, ScramMechanismName, ScramShape } from '../types.js';
import { DEFAULT_SALT_BYTES, DEFAULT_SCRAM_ITERATIONS, MAX_SALT_BYTES, MAX_SCRAM_ITERATIONS, MIN_SALT_BYTES, MIN_SCRAM_ITERATIONS, SCRAM_MECHANISMS } from './scram-keys.js';

/**
 * Users' SCRAM credentials (Kafka's credential model, KIP-554) in the metadata store: the
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
  /** When a credential is set (stored with it for the posture scan's password age); Date.now unless a test injects one. */
  readonly clock?: () => number;
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
 * CLI's bootstrap users come here directly): the user-name rule, Kafka's iteration bounds, the salt
 * bounds and keys.
 */
function checkUpsertion(u: ScramUpsertion): void {
  const nameProblem = userNameProblem(u.user);
  if (nameProblem !== null) throw unacceptable(nameProblem);
  if (!isMechanism(u.mechanism)) throw unacceptable(`unknown SCRAM mechanism ${String(u.mechanism)}`);
  const { iterations, salt, storedKey, serverKey } = u.credential;
  if (!Number.isInteger(iterations) || iterations < MIN_SCRAM_ITERATIONS || iterations > MAX_SCRAM_ITERATIONS) {
    throw unacceptable(`SCRAM iterations must be between ${MIN_SCRAM_ITERATIONS} and ${MAX_SCRAM_ITERATIONS}`);
  }
  if (salt.length < MIN_SALT_BYTES || salt.length > MAX_SALT_BYTES) throw unacceptable(`a SCRAM salt has ${MIN_SALT_BYTES} to ${MAX_SALT_BYTES} bytes`);
  if (storedKey.length === 0 || serverKey.length === 0) throw unacceptable('a SCRAM credential needs its keys');
}

/** What a new user gets from `parapet user add` and `parapet init`: the shape when there is nothing to copy. */
const DEFAULT_SHAPE: ScramShape = Object.freeze({ saltBytes: DEFAULT_SALT_BYTES, iterations: DEFAULT_SCRAM_ITERATIONS });

export class CredentialStore implements CredentialLookup {
  readonly #store: CredentialPersistence;
  readonly #clock: () => number;
  /** typicalShape per mechanism, until the next change of credentials through this store. */
  #shapes: Map<ScramMechanismName, ScramShape> | undefined;

  constructor(options: CredentialStoreOptions) {
    this.#store = options.store;
    this.#clock = options.clock ?? Date.now;
  }

  scram(user: string, mechanism: ScramMechanismName): ScramCredential | undefined {
    const row = this.#store.scramCredential(user, mechanism);
    if (row === undefined) return undefined;
    return { salt: row.salt, storedKey: row.storedKey, serverKey: row.serverKey, iterations: row.iterations };
  }

  /**
   * The salt length and iteration count most stored credentials of the mechanism have (ties go to
   * Parapet's defaults, then to more iterations); Parapet's defaults when there are none. Cached until
   * credentials change through this store, which is the only writer while the broker runs.
   */
  typicalShape(mechanism: ScramMechanismName): ScramShape {
    this.#shapes ??= typicalShapes(this.#store.scramCredentials(null));
    return this.#shapes.get(mechanism) ?? DEFAULT_SHAPE;
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
    this.#shapes = undefined;
    return this.#store.alterScramCredentials({
      // Every writer comes through here (AlterUserScramCredentials, so `parapet user add|passwd`, and init's admin).
      setAtMs: this.#clock(),
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

function typicalShapes(rows: readonly StoredScramCredential[]): Map<ScramMechanismName, ScramShape> {
  const counts = new Map<string, { mechanism: ScramMechanismName; shape: ScramShape; count: number }>();
  for (const row of rows) {
    if (!isMechanism(row.mechanism)) continue;
    const key = `${row.mechanism} ${row.salt.length} ${row.iterations}`;
    const entry = counts.get(key) ?? { mechanism: row.mechanism, shape: { saltBytes: row.salt.length, iterations: row.iterations }, count: 0 };
    entry.count++;
    counts.set(key, entry);
  }
  const isDefault = (s: ScramShape) => s.saltBytes === DEFAULT_SHAPE.saltBytes && s.iterations === DEFAULT_SHAPE.iterations;
  const best = new Map<ScramMechanismName, { shape: ScramShape; count: number }>();
  for (const { mechanism, shape, count } of counts.values()) {
    const current = best.get(mechanism);
    const wins =
      current === undefined ||
      count > current.count ||
      (count === current.count && (isDefault(shape) || (!isDefault(current.shape) && shape.iterations > current.shape.iterations)));
    if (wins) best.set(mechanism, { shape, count });
  }
  return new Map([...best].map(([mechanism, { shape }]) => [mechanism, shape]));
}

/** Only the credential's own fields: a caller's extra properties never reach the store. */
function pick(c: ScramCredential): Pick<StoredScramCredential, 'salt' | 'storedKey' | 'serverKey' | 'iterations'> {
  return { salt: Buffer.from(c.salt), storedKey: Buffer.from(c.storedKey), serverKey: Buffer.from(c.serverKey), iterations: c.iterations };
}
