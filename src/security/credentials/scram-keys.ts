import { createHash, createHmac, pbkdf2, pbkdf2Sync, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { ScramCredential, ScramMechanismName } from '../types.js';

/**
 * The SCRAM key arithmetic of RFC 5802 §3, shared by the server exchange, the credential admin API
 * (which receives a salted password, never a password) and the client in the CLI.
 */

/** Kafka's bounds (ScramMechanism.java): clients refuse fewer than 4096 iterations. */
export const MIN_SCRAM_ITERATIONS = 4096;
export const MAX_SCRAM_ITERATIONS = 16384;
export const DEFAULT_SCRAM_ITERATIONS = 8192;

/** Salt of the credentials Parapet makes (`parapet init`, `parapet user`): 32 random bytes. */
export const DEFAULT_SALT_BYTES = 32;
/**
 * Fewest salt bytes a credential may have: 16 (128 bits) is NIST SP 800-132's minimum for PBKDF2, and
 * below Java's Kafka tools (26 bytes) and Parapet's own (32). A 1-byte salt lets one precomputed table
 * of Hi() serve every user that has it.
 */
export const MIN_SALT_BYTES = 16;
/** Most salt bytes a credential may have: a salt is stored and sent at every login. */
export const MAX_SALT_BYTES = 1024;

export const SCRAM_MECHANISMS: readonly ScramMechanismName[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512'];

/** The wire codes of AlterUserScramCredentials and DescribeUserScramCredentials. */
export const SCRAM_MECHANISM_CODES: Readonly<Record<ScramMechanismName, number>> = { 'SCRAM-SHA-256': 1, 'SCRAM-SHA-512': 2 };

export function scramMechanismOfCode(code: number): ScramMechanismName | undefined {
  return SCRAM_MECHANISMS.find((m) => SCRAM_MECHANISM_CODES[m] === code);
}

export function hashOf(mechanism: ScramMechanismName): 'sha256' | 'sha512' {
  return mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
}

export function hmac(mechanism: ScramMechanismName, key: Buffer, data: Buffer | string): Buffer {
  return createHmac(hashOf(mechanism), key).update(data).digest();
}

export function hash(mechanism: ScramMechanismName, data: Buffer): Buffer {
  return createHash(hashOf(mechanism)).update(data).digest();
}

/**
 * Hi(password, salt, i): PBKDF2 with HMAC-H and an output of H's length. The password's UTF-8 bytes are
 * used as they are, without SASLprep, as Kafka (ScramFormatter) and librdkafka do.
 */
export function saltedPassword(mechanism: ScramMechanismName, password: string, salt: Buffer, iterations: number): Buffer {
  const hashName = hashOf(mechanism);
  return pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, hashName === 'sha256' ? 32 : 64, hashName);
}

const pbkdf2Async = promisify(pbkdf2);

/**
 * Hi() on the libuv thread pool: PLAIN derives a key on every attempt, and a few milliseconds of
 * PBKDF2 per guess on the event loop would let a password-guessing client stall every connection.
 */
export function saltedPasswordAsync(mechanism: ScramMechanismName, password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  const hashName = hashOf(mechanism);
  return pbkdf2Async(Buffer.from(password, 'utf8'), salt, iterations, hashName === 'sha256' ? 32 : 64, hashName);
}

export function clientKeyOf(mechanism: ScramMechanismName, salted: Buffer): Buffer {
  return hmac(mechanism, salted, 'Client Key');
}

/** StoredKey = H(ClientKey) and ServerKey = HMAC(SaltedPassword, "Server Key"). */
export function credentialFromSaltedPassword(
  mechanism: ScramMechanismName,
  salted: Buffer,
  salt: Buffer,
  iterations: number,
): ScramCredential {
  return {
    salt: Buffer.from(salt),
    storedKey: hash(mechanism, clientKeyOf(mechanism, salted)),
    serverKey: hmac(mechanism, salted, 'Server Key'),
    iterations,
  };
}

export function deriveScramCredential(
  mechanism: ScramMechanismName,
  password: string,
  options: { salt?: Buffer; iterations?: number } = {},
): ScramCredential {
  const salt = options.salt ?? randomBytes(DEFAULT_SALT_BYTES);
  const iterations = options.iterations ?? DEFAULT_SCRAM_ITERATIONS;
  return credentialFromSaltedPassword(mechanism, saltedPassword(mechanism, password, salt, iterations), salt, iterations);
}

/** XOR of two equal-length buffers (ClientProof = ClientKey XOR ClientSignature). */
export function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] ?? 0) ^ (b[i] ?? 0);
  return out;
}
