import { timingSafeEqual } from 'node:crypto';
import { ErrorCode } from '../../protocol/error-codes.js';
import { userNameKey, userNameProblem } from '../../protocol/names.js';
import {
  MAX_SALT_BYTES,
  MAX_SCRAM_ITERATIONS,
  MIN_SALT_BYTES,
  MIN_SCRAM_ITERATIONS,
  hashOf,
  saltedPasswordAsync,
  scramMechanismOfCode,
} from '../../security/credentials/scram-keys.js';
import type { ScramMechanismName } from '../../security/types.js';

/**
 * What makes a SCRAM credential of AlterUserScramCredentials acceptable, beyond the name stage's first
 * check of user names (docs/security/authentication.md, "Managing users").
 */

export interface WireUpsertion {
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
export function checkUpsertion(u: WireUpsertion): { mechanism: ScramMechanismName } | { errorCode: number; errorMessage: string } {
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
export async function isEmptyPassword(mechanism: ScramMechanismName, u: WireUpsertion): Promise<boolean> {
  const empty = await saltedPasswordAsync(mechanism, '', u.salt, u.iterations);
  return empty.length === u.saltedPassword.length && timingSafeEqual(empty, u.saltedPassword);
}

/**
 * Tells a new user's name from those of existing users, which it may not equal in case-folded NFKC
 * form (`Admin`, `ａｄｍｉｎ` beside `admin`), nor may two new names of one request. An existing user
 * is no conflict with itself.
 */
export function confusionGuard(existing: readonly string[]): (name: string) => string | undefined {
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
