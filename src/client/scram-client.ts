import { randomBytes, timingSafeEqual } from 'node:crypto';
import { clientKeyOf, hash, hmac, MIN_SCRAM_ITERATIONS, saltedPassword, xor } from '../security/credentials/scram-keys.js';
import type { ScramMechanismName } from '../security/types.js';
import { ClientError } from './errors.js';

/**
 * An iteration count far above anything Kafka stores (16384) yet cheap to compute: a server asking for
 * more is refused rather than allowed to make the client spin on PBKDF2 for minutes.
 */
const MAX_SERVER_ITERATIONS = 100_000;

/** "n,," (no channel binding, no authzid) in base64: the `c=` of the client-final message. */
const GS2_HEADER = 'n,,';

/** RFC 5802 §5.1: in a `saslname`, "=" is sent as "=3D" and "," as "=2C". */
export function escapeSaslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

function attributes(message: string, what: string): Map<string, string> {
  const attrs = new Map<string, string>();
  for (const part of message.split(',')) {
    const m = /^([A-Za-z])=(.*)$/s.exec(part);
    if (m?.[1] === undefined || m[2] === undefined) throw new ClientError(`malformed SCRAM ${what}`);
    if (!attrs.has(m[1])) attrs.set(m[1], m[2]);
  }
  return attrs;
}

type State =
  | { readonly step: 'initial' }
  | { readonly step: 'first-sent'; readonly clientFirstBare: string }
  | { readonly step: 'final-sent'; readonly serverSignature: Buffer }
  | { readonly step: 'done' };

/**
 * The client side of SCRAM-SHA-256/512 (RFC 5802, RFC 7677), as Kafka speaks it: no channel binding,
 * no authzid, the password's UTF-8 bytes without SASLprep (as Kafka's ScramFormatter and librdkafka).
 * One instance runs one exchange: clientFirst → clientFinal(serverFirst) → verifyServerFinal.
 */
export class ScramClient {
  readonly #mechanism: ScramMechanismName;
  readonly #user: string;
  #password: string | undefined;
  readonly #nonce: string;
  #state: State = { step: 'initial' };

  /** `nonce` is for test vectors only; by default 24 random bytes, base64 (which has no ","). */
  constructor(mechanism: ScramMechanismName, user: string, password: string, nonce: string = randomBytes(24).toString('base64')) {
    if (!/^[!-+\--~]+$/.test(nonce)) throw new ClientError('a SCRAM nonce must be printable ASCII without ","');
    this.#mechanism = mechanism;
    this.#user = user;
    this.#password = password;
    this.#nonce = nonce;
  }

  clientFirst(): Buffer {
    if (this.#state.step !== 'initial') throw new ClientError('SCRAM client-first message already sent');
    const clientFirstBare = `n=${escapeSaslName(this.#user)},r=${this.#nonce}`;
    this.#state = { step: 'first-sent', clientFirstBare };
    return Buffer.from(GS2_HEADER + clientFirstBare, 'utf8');
  }

  /**
   * Answers the server-first message with the proof. Refuses a server nonce that does not extend ours
   * (a replayed or foreign exchange), fewer than 4096 iterations (RFC 7677's floor, which Kafka
   * clients enforce), and mandatory extensions it does not know (`m=`, RFC 5802 §5.1).
   */
  clientFinal(serverFirst: Buffer): Buffer {
    if (this.#state.step !== 'first-sent') throw new ClientError('SCRAM server-first message out of order');
    const { clientFirstBare } = this.#state;
    const serverFirstText = serverFirst.toString('utf8');
    const attrs = attributes(serverFirstText, 'server-first message');
    if (attrs.has('m')) throw new ClientError('SCRAM server requires an extension this client does not support');
    const nonce = attrs.get('r');
    const saltText = attrs.get('s');
    const iterationsText = attrs.get('i');
    if (nonce === undefined || saltText === undefined || iterationsText === undefined) {
      throw new ClientError('malformed SCRAM server-first message: r, s and i are required');
    }
    if (!nonce.startsWith(this.#nonce) || nonce.length <= this.#nonce.length) {
      throw new ClientError('SCRAM server nonce does not extend the client nonce');
    }
    if (!/^\d{1,9}$/.test(iterationsText)) throw new ClientError('malformed SCRAM iteration count');
    const iterations = Number(iterationsText);
    if (iterations < MIN_SCRAM_ITERATIONS) {
      throw new ClientError(`SCRAM server asks for ${iterations} iterations, fewer than the minimum of ${MIN_SCRAM_ITERATIONS}`);
    }
    if (iterations > MAX_SERVER_ITERATIONS) {
      throw new ClientError(`SCRAM server asks for ${iterations} iterations, more than this client accepts (${MAX_SERVER_ITERATIONS})`);
    }
    const salt = Buffer.from(saltText, 'base64');
    if (salt.length === 0) throw new ClientError('malformed SCRAM salt');
    const password = this.#password;
    if (password === undefined) throw new ClientError('SCRAM exchange already used');
    // The password is needed once; drop the reference so this object does not keep it alive.
    this.#password = undefined;

    const m = this.#mechanism;
    const salted = saltedPassword(m, password, salt, iterations);
    const clientKey = clientKeyOf(m, salted);
    const storedKey = hash(m, clientKey);
    const clientFinalWithoutProof = `c=${Buffer.from(GS2_HEADER).toString('base64')},r=${nonce}`;
    const authMessage = `${clientFirstBare},${serverFirstText},${clientFinalWithoutProof}`;
    const proof = xor(clientKey, hmac(m, storedKey, authMessage));
    const serverSignature = hmac(m, hmac(m, salted, 'Server Key'), authMessage);
    this.#state = { step: 'final-sent', serverSignature };
    return Buffer.from(`${clientFinalWithoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  /**
   * Checks that the server knows the credential too (mutual authentication): its signature must match
   * the one computed from our salted password. Throws on `e=` or a mismatch.
   */
  verifyServerFinal(serverFinal: Buffer): void {
    if (this.#state.step !== 'final-sent') throw new ClientError('SCRAM server-final message out of order');
    const expected = this.#state.serverSignature;
    this.#state = { step: 'done' };
    const attrs = attributes(serverFinal.toString('utf8'), 'server-final message');
    const serverError = attrs.get('e');
    if (serverError !== undefined) throw new ClientError(`SCRAM server rejected the authentication: ${serverError}`);
    const verifier = attrs.get('v');
    if (verifier === undefined) throw new ClientError('malformed SCRAM server-final message: v is required');
    const actual = Buffer.from(verifier, 'base64');
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
      throw new ClientError('SCRAM server signature does not match: the server does not hold this credential');
    }
  }
}
