import { ErrorCode } from '../protocol/error-codes.js';
import { AlterUserScramCredentials } from '../protocol/messages/alter-user-scram-credentials.js';
import { DescribeUserScramCredentials } from '../protocol/messages/describe-user-scram-credentials.js';
import type { CredentialStore, ScramDeletion, ScramUpsertion } from '../security/credentials/credential-store.js';
import { timingSafeEqual } from 'node:crypto';
import { userNameKey, userNameProblem } from '../protocol/names.js';
import {
  MAX_SALT_BYTES,
  MAX_SCRAM_ITERATIONS,
  MIN_SALT_BYTES,
  MIN_SCRAM_ITERATIONS,
  SCRAM_MECHANISM_CODES,
  credentialFromSaltedPassword,
  hashOf,
  saltedPasswordAsync,
  scramMechanismOfCode,
} from '../security/credentials/scram-keys.js';
import type { ScramMechanismName } from '../security/types.js';
import { handler, type HandlerEntry, type RequestContext } from '../server/handler.js';

/**
 * DescribeUserScramCredentials and AlterUserScramCredentials (KIP-554) over the credential store,
 * following Kafka's ScramControlManager: one result per user named, a user named twice in a request
 * gets DUPLICATE_RESOURCE (92) and nothing else is done for them, and the valid alterations of a
 * request are applied together. Authorization (DESCRIBE or ALTER on the cluster) is the dispatcher's,
 * as is the first check of user names (its name stage); the rest of what makes a credential
 * acceptable is checked here (docs/security/authentication.md, "Managing users").
 */

/** A credential change as the audit log records it: users, mechanisms and iterations, never keys. */
export interface ScramCredentialChangeEvent {
  readonly action: 'alter-user-scram-credentials';
  readonly upserted: readonly { readonly user: string; readonly mechanism: ScramMechanismName; readonly iterations: number }[];
  readonly deleted: readonly { readonly user: string; readonly mechanism: ScramMechanismName }[];
  /** The request's context (who asked comes from here once the session sets a principal on it). */
  readonly context: RequestContext;
}

export interface ScramHandlerDeps {
  readonly credentials: CredentialStore;
  /** Called after a request changed credentials; a throw closes the connection (the change stays). */
  readonly onChange?: (event: ScramCredentialChangeEvent) => void;
  /**
   * Name prefixes of certificate and OAUTHBEARER principals (`tls.principalPrefix`,
   * `sasl.oauthbearer.principalPrefix`): a SCRAM user may not be named into them.
   */
  readonly reservedPrefixes?: readonly { readonly source: string; readonly prefix: string }[];
}

interface UserResult {
  user: string;
  errorCode: number;
  errorMessage: string | null;
}

const result = (user: string, errorCode: number, errorMessage: string | null = null): UserResult => ({ user, errorCode, errorMessage });

const DUPLICATE_ALTERATION = 'A user credential cannot be altered twice in the same request';

interface WireUpsertion {
  readonly name: string;
  readonly mechanism: number;
  readonly iterations: number;
  readonly salt: Buffer;
  readonly saltedPassword: Buffer;
}

/**
 * Kafka's checks of an upsertion, plus ours: the user-name rule, a salt of 16 to 1024 bytes (a short
 * salt lets one precomputed table serve every user with it) and a salted password of the hash's length.
 */
function checkUpsertion(u: WireUpsertion): { mechanism: ScramMechanismName } | { errorCode: number; errorMessage: string } {
  const nameProblem = userNameProblem(u.name);
  if (nameProblem !== null) return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: nameProblem };
  const mechanism = scramMechanismOfCode(u.mechanism);
  if (mechanism === undefined) return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, errorMessage: `Unknown SCRAM mechanism ${u.mechanism}` };
  if (u.iterations < MIN_SCRAM_ITERATIONS) {
    return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: `Too few iterations: at least ${MIN_SCRAM_ITERATIONS} are required` };
  }
  if (u.iterations > MAX_SCRAM_ITERATIONS) {
    return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: `Too many iterations: at most ${MAX_SCRAM_ITERATIONS} are allowed` };
  }
  if (u.salt.length < MIN_SALT_BYTES) return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: `Salt too short: at least ${MIN_SALT_BYTES} bytes are required` };
  if (u.salt.length > MAX_SALT_BYTES) return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: `Salt too long: at most ${MAX_SALT_BYTES} bytes are allowed` };
  if (u.saltedPassword.length === 0) return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: 'Salted password must not be empty' };
  // Hi() yields exactly one hash length (RFC 5802 §2.2); anything else is a client bug that would
  // store a credential nobody can log in with.
  const expected = hashOf(mechanism) === 'sha256' ? 32 : 64;
  if (u.saltedPassword.length !== expected) {
    return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: `Salted password for ${mechanism} must be ${expected} bytes` };
  }
  return { mechanism };
}

/**
 * Whether the salted password is Hi("", salt, iterations): a credential anyone logs in to with the
 * empty password. It is the one weak password the broker can recognise, as it never sees passwords.
 * PBKDF2 runs on the thread pool, not the event loop.
 */
async function isEmptyPassword(mechanism: ScramMechanismName, u: WireUpsertion): Promise<boolean> {
  const empty = await saltedPasswordAsync(mechanism, '', u.salt, u.iterations);
  return empty.length === u.saltedPassword.length && timingSafeEqual(empty, u.saltedPassword);
}

/**
 * Tells a new user's name from those of existing users, which it may not equal in case-folded NFKC
 * form (`Admin`, `ａｄｍｉｎ` beside `admin`), nor may two new names of one request. An existing user
 * is no conflict with itself.
 */
function confusionGuard(existing: readonly string[]): (name: string) => string | undefined {
  const exact = new Set(existing);
  const byKey = new Map<string, string>();
  for (const name of existing) byKey.set(userNameKey(name), name);
  return (name) => {
    if (exact.has(name)) return undefined;
    const key = userNameKey(name);
    const other = byKey.get(key);
    if (other !== undefined && other !== name) return other;
    byKey.set(key, name);
    return undefined;
  };
}

export function scramCredentialHandlers(deps: ScramHandlerDeps): HandlerEntry[] {
  const { credentials, onChange } = deps;
  const reserved = deps.reservedPrefixes ?? [];

  const describe = handler(DescribeUserScramCredentials, (body) => {
    const toResult = (u: { user: string; credentials: readonly { mechanism: ScramMechanismName; iterations: number }[] }) => ({
      ...result(u.user, ErrorCode.NONE),
      credentialInfos: u.credentials.map((c) => ({ mechanism: SCRAM_MECHANISM_CODES[c.mechanism], iterations: c.iterations })),
    });
    // Kafka describes everyone for a null list and for an empty one alike.
    if (body.users === null || body.users.length === 0) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results: credentials.describe(null).map(toResult) };
    }
    const named = new Map<string, number>();
    for (const { name } of body.users) named.set(name, (named.get(name) ?? 0) + 1);
    const once = [...named].filter(([, count]) => count === 1).map(([name]) => name);
    const found = new Map(credentials.describe(once).map((u) => [u.user, u]));
    const results = [...named].map(([user, count]) => {
      if (count > 1) {
        return { ...result(user, ErrorCode.DUPLICATE_RESOURCE, `Cannot describe SCRAM credentials for the same user twice in a single request: ${user}`), credentialInfos: [] };
      }
      const entry = found.get(user);
      if (entry === undefined) {
        return { ...result(user, ErrorCode.RESOURCE_NOT_FOUND, `Attempt to describe a user credential that does not exist: ${user}`), credentialInfos: [] };
      }
      return toResult(entry);
    });
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
  });

  const alter = handler(AlterUserScramCredentials, async (body, ctx) => {
    // One result per user, in order of first mention. A user in two operations (whatever the
    // mechanisms) is refused entirely, as Kafka's ScramControlManager does.
    const mentions = new Map<string, number>();
    for (const { name } of [...body.deletions, ...body.upsertions]) mentions.set(name, (mentions.get(name) ?? 0) + 1);
    const results = new Map<string, UserResult>();
    for (const [user, count] of mentions) if (count > 1) results.set(user, result(user, ErrorCode.DUPLICATE_RESOURCE, DUPLICATE_ALTERATION));

    const deletions: ScramDeletion[] = [];
    for (const d of body.deletions) {
      if (results.has(d.name)) continue;
      const mechanism = scramMechanismOfCode(d.mechanism);
      if (d.name === '') results.set(d.name, result(d.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty'));
      else if (mechanism === undefined) results.set(d.name, result(d.name, ErrorCode.UNSUPPORTED_SASL_MECHANISM, `Unknown SCRAM mechanism ${d.mechanism}`));
      else deletions.push({ user: d.name, mechanism });
    }
    const upsertions: ScramUpsertion[] = [];
    const confusedWith = body.upsertions.length === 0 ? () => undefined : confusionGuard(credentials.describe(null).map((c) => c.user));
    for (const u of body.upsertions) {
      if (results.has(u.name)) continue;
      const clash = reserved.find((r) => u.name.startsWith(r.prefix));
      const checked: ReturnType<typeof checkUpsertion> =
        clash === undefined
          ? checkUpsertion(u)
          : { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: `User names starting with ${JSON.stringify(clash.prefix)} belong to ${clash.source}: choose another name` };
      if ('errorCode' in checked) {
        results.set(u.name, result(u.name, checked.errorCode, checked.errorMessage));
        continue;
      }
      const other = confusedWith(u.name);
      if (other !== undefined) {
        results.set(u.name, result(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, `User name too similar to the existing user "${other}": only case or Unicode form differs`));
        continue;
      }
      if (await isEmptyPassword(checked.mechanism, u)) {
        results.set(u.name, result(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'The credential is derived from the empty password'));
        continue;
      }
      upsertions.push({ user: u.name, mechanism: checked.mechanism, credential: credentialFromSaltedPassword(checked.mechanism, u.saltedPassword, u.salt, u.iterations) });
    }
    // A salted password logs in as the user (it yields ClientKey): once the keys are derived, every one
    // (also of refused upsertions) is wiped rather than left in the frame buffer for the pool to hand out again.
    for (const u of body.upsertions) u.saltedPassword.fill(0);

    const existed = deletions.length + upsertions.length > 0 ? credentials.alter({ deletions, upsertions }) : [];
    const deleted = deletions.filter((d, i) => {
      const found = existed[i] === true;
      results.set(
        d.user,
        found ? result(d.user, ErrorCode.NONE) : result(d.user, ErrorCode.RESOURCE_NOT_FOUND, 'Attempt to delete a user credential that does not exist'),
      );
      return found;
    });
    for (const u of upsertions) results.set(u.user, result(u.user, ErrorCode.NONE));

    if (deleted.length + upsertions.length > 0) {
      onChange?.({
        action: 'alter-user-scram-credentials',
        upserted: upsertions.map((u) => ({ user: u.user, mechanism: u.mechanism, iterations: u.credential.iterations })),
        deleted,
        context: ctx,
      });
    }
    // `mentions` holds every user in order of first mention, and each has exactly one result.
    return { throttleTimeMs: 0, results: [...mentions.keys()].flatMap((user) => results.get(user) ?? []) };
  });

  return [describe, alter];
}
