import { hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { userNameProblem } from '../../protocol/names.js';
import { DEFAULT_SALT_BYTES, DEFAULT_SCRAM_ITERATIONS, hash, hashOf, hmac, xor } from '../credentials/scram-keys.js';
import {
  SaslAuthenticationError,
  SaslFailureReasons,
  userPrincipal,
  type CredentialLookup,
  type SaslExchange,
  type SaslConnection,
  type SaslMechanism,
  type SaslStep,
  type ScramCredential,
  type ScramMechanismName,
} from '../types.js';
import { decodeBase64, decodeSaslName, decodeUtf8, malformed, parseGs2Header, unexpectedToken } from './gs2.js';

/**
 * The server side of SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), as Kafka speaks it: three
 * messages, no channel binding, the password's UTF-8 bytes without SASLprep (see scram-keys.ts).
 */

export interface ScramMechanismOptions {
  readonly credentials: CredentialLookup;
  /** The server's nonce part; printable ASCII without ','. Injectable so tests can replay RFC vectors. */
  readonly nonce?: (() => string) | undefined;
  /**
   * The key the fake salts of unknown users are derived from. The broker gives a secret kept in the
   * metadata store, so that an unknown name gets the same salt across restarts, as a real user does;
   * the default (for tests) is random per process.
   */
  readonly fakeCredentialSecret?: Buffer | undefined;
}

/** Each SCRAM message is a few hundred bytes; anything far larger is refused before parsing. */
const MAX_MESSAGE_BYTES = 8192;
/** Client nonces in the wild are 20-48 characters (RFC 7677 example, librdkafka, KafkaJS, Java). */
const MAX_NONCE_CHARS = 512;
/** `printable` of RFC 5802 §7: %x21-2B / %x2D-7E, i.e. visible ASCII except ','. */
const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/;
/** Kafka's extension names (`tokenauth`) are longer than RFC 5802's single ALPHA attribute. */
const EXTENSION = /^[A-Za-z][A-Za-z0-9]*=[^,]*$/;

/**
 * Shared by every SCRAM mechanism of the process, so that an unknown user gets the same fake salt on
 * every listener and every attempt; a salt that changed between attempts would tell the name is unknown.
 */
const processFakeSecret = randomBytes(32);

function hashBytes(mechanism: ScramMechanismName): number {
  return hashOf(mechanism) === 'sha256' ? 32 : 64;
}

function defaultNonce(): string {
  // Base64 has no ',' and only printable characters, as the nonce grammar requires.
  return randomBytes(24).toString('base64');
}

/**
 * A credential that looks like a real one in server-first: a salt stable per (secret, mechanism, user),
 * HKDF-derived (RFC 5869), with the salt length and iteration count most real credentials of the
 * mechanism have. Its keys are random, so no proof can match it (and a match would be refused anyway).
 */
function fakeCredential(mechanism: ScramMechanismName, secret: Buffer, user: string, credentials: CredentialLookup): ScramCredential {
  const shape = credentials.typicalShape?.(mechanism) ?? { saltBytes: DEFAULT_SALT_BYTES, iterations: DEFAULT_SCRAM_ITERATIONS };
  const keyBytes = hashBytes(mechanism);
  return {
    salt: Buffer.from(hkdfSync('sha256', secret, Buffer.from(user, 'utf8'), `parapet scram unknown-user salt ${mechanism}`, shape.saltBytes)),
    storedKey: randomBytes(keyBytes),
    serverKey: randomBytes(keyBytes),
    iterations: shape.iterations,
  };
}

export function scramMechanism(name: ScramMechanismName, options: ScramMechanismOptions): SaslMechanism {
  const nonce = options.nonce ?? defaultNonce;
  const fakeSecret = options.fakeCredentialSecret ?? processFakeSecret;
  return {
    name,
    start: (connection) => new ScramExchange(name, options.credentials, nonce, fakeSecret, connection),
  };
}

interface AwaitingFinal {
  readonly user: string;
  readonly gs2Header: string;
  readonly clientFirstBare: string;
  readonly serverFirst: string;
  readonly nonce: string;
  readonly clientNonce: string;
  readonly credential: ScramCredential;
  /** False when `credential` is the fake one answered for an unknown user. */
  readonly known: boolean;
}

type ExchangeState = { readonly at: 'client-first' } | { readonly at: 'client-final'; readonly data: AwaitingFinal } | { readonly at: 'over' };

class ScramExchange implements SaslExchange {
  readonly #mechanism: ScramMechanismName;
  readonly #credentials: CredentialLookup;
  readonly #nonce: () => string;
  readonly #fakeSecret: Buffer;
  readonly #connection: SaslConnection;
  #state: ExchangeState = { at: 'client-first' };

  constructor(mechanism: ScramMechanismName, credentials: CredentialLookup, nonce: () => string, fakeSecret: Buffer, connection: SaslConnection) {
    this.#mechanism = mechanism;
    this.#credentials = credentials;
    this.#nonce = nonce;
    this.#fakeSecret = fakeSecret;
    this.#connection = connection;
  }

  step(token: Buffer): Promise<SaslStep> {
    // The executor runs synchronously, so the state moves before a second step could observe it.
    return new Promise((resolve) => {
      resolve(this.#step(token));
    });
  }

  #step(token: Buffer): SaslStep | Promise<SaslStep> {
    const state = this.#state;
    // Whatever happens next, this state is consumed: a failure or a success ends the exchange.
    this.#state = { at: 'over' };
    if (state.at === 'client-first') {
      const { data, response } = this.#clientFirst(token);
      this.#state = { at: 'client-final', data };
      return { done: false, response };
    }
    if (state.at === 'client-final') return this.#clientFinal(state.data, token, this.#connection.admit);
    throw unexpectedToken();
  }

  #clientFirst(token: Buffer): { data: AwaitingFinal; response: Buffer } {
    const message = decodeUtf8(token, MAX_MESSAGE_BYTES, 'client-first');
    const gs2 = parseGs2Header(message);
    const clientFirstBare = gs2.rest;
    const attributes = clientFirstBare.split(',');
    const [userAttribute, nonceAttribute, ...extensions] = attributes;
    // RFC 5802 §5.1: a server must fail on the reserved `m=` extension, which would come first.
    if (userAttribute === undefined || !userAttribute.startsWith('n=')) throw malformed('client-first must start with n=<user>');
    const user = decodeSaslName(userAttribute.slice(2), 'the user name');
    // No user can have a name the rule refuses (src/protocol/names.ts): failing here tells nothing about who exists.
    const nameProblem = userNameProblem(user);
    if (nameProblem !== null) throw malformed(`the user name is refused: ${nameProblem}`, user);
    if (nonceAttribute === undefined || !nonceAttribute.startsWith('r=')) throw malformed('client-first has no r=<nonce>', user);
    const clientNonce = nonceAttribute.slice(2);
    if (clientNonce.length > MAX_NONCE_CHARS || !PRINTABLE.test(clientNonce)) throw malformed('the client nonce is not printable ASCII', user);
    for (const extension of extensions) {
      if (!EXTENSION.test(extension)) throw malformed('client-first has a malformed extension', user);
      // KIP-48 delegation tokens authenticate with SCRAM plus `tokenauth=true`; Parapet has none, and
      // treating the token id as a user name would be wrong.
      if (extension.toLowerCase() === 'tokenauth=true') throw malformed('delegation tokens (tokenauth) are not supported', user);
    }
    if (gs2.authzid !== undefined && gs2.authzid !== user) {
      throw new SaslAuthenticationError(SaslFailureReasons.BAD_CREDENTIALS, 'the authorization id differs from the user name', user);
    }

    // An unknown user is answered like a known one and only fails at client-final, so that server-first
    // cannot be used to find out which user names exist.
    const real = this.#credentials.scram(user, this.#mechanism);
    const credential = real ?? fakeCredential(this.#mechanism, this.#fakeSecret, user, this.#credentials);
    const serverNonce = this.#nonce();
    if (!PRINTABLE.test(serverNonce)) throw new Error('the SCRAM server nonce must be printable ASCII without ","');
    const fullNonce = clientNonce + serverNonce;
    const serverFirst = `r=${fullNonce},s=${credential.salt.toString('base64')},i=${credential.iterations}`;
    return {
      data: { user, gs2Header: gs2.header, clientFirstBare, serverFirst, nonce: fullNonce, clientNonce, credential, known: real !== undefined },
      response: Buffer.from(serverFirst, 'utf8'),
    };
  }

  /**
   * Parses client-final, asks the login guard (`admit`, when there is one) and then checks the proof.
   * The guard is asked here rather than at client-first: the attempt is admitted and resolved within
   * one step, so an exchange abandoned after server-first holds nothing in the guard.
   */
  #clientFinal(data: AwaitingFinal, token: Buffer, admit: ((user: string) => Promise<void>) | undefined): SaslStep | Promise<SaslStep> {
    const { user } = data;
    const message = decodeUtf8(token, MAX_MESSAGE_BYTES, 'client-final');
    const proofAt = message.lastIndexOf(',p=');
    if (proofAt === -1) throw malformed('client-final has no p=<proof> at the end', user);
    const withoutProof = message.slice(0, proofAt);
    const [binding, nonceAttribute, ...extensions] = withoutProof.split(',');
    if (binding === undefined || !binding.startsWith('c=')) throw malformed('client-final must start with c=<channel binding>', user);
    // Without channel binding, c= is the base64 of the GS2 header; it must be the one sent in client-first.
    if (binding.slice(2) !== Buffer.from(data.gs2Header, 'utf8').toString('base64')) {
      throw malformed('the channel binding (c=) does not match the GS2 header of client-first', user);
    }
    if (nonceAttribute === undefined || !nonceAttribute.startsWith('r=')) throw malformed('client-final has no r=<nonce>', user);
    for (const extension of extensions) {
      if (!EXTENSION.test(extension)) throw malformed('client-final has a malformed extension', user);
    }
    const proof = decodeBase64(message.slice(proofAt + 3), 'the client proof');
    if (proof.length !== hashBytes(this.#mechanism)) throw malformed('the client proof has the wrong length', user);
    // librdkafka before 2.6.1 (kcat 1.7, confluent-kafka 1.x) echoes its own nonce in front of the
    // combined one (librdkafka#4895); Kafka accepts that form too. The echo still has to carry this
    // exchange's server nonce, and the proof covers the message as sent, so replays still fail.
    const echoed = nonceAttribute.slice(2);
    if (echoed !== data.nonce && echoed !== data.clientNonce + data.nonce) {
      throw new SaslAuthenticationError(SaslFailureReasons.NONCE_MISMATCH, 'the nonce differs from the one of this exchange', user);
    }

    if (admit === undefined) return this.#verify(data, withoutProof, proof);
    return admit(user).then(() => this.#verify(data, withoutProof, proof));
  }

  #verify(data: AwaitingFinal, withoutProof: string, proof: Buffer): SaslStep {
    const { user, credential } = data;
    // ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage); the client knows the password iff
    // H(ClientKey) = StoredKey. The fake credential of an unknown user goes through the same work.
    const authMessage = `${data.clientFirstBare},${data.serverFirst},${withoutProof}`;
    const clientSignature = hmac(this.#mechanism, credential.storedKey, authMessage);
    const candidate = hash(this.#mechanism, xor(proof, clientSignature));
    // A stored key of the wrong length (a corrupt store) fails instead of making timingSafeEqual throw.
    const matches = candidate.length === credential.storedKey.length && timingSafeEqual(candidate, credential.storedKey);
    if (!data.known || !matches) {
      // One message for both, so the error text cannot tell an unknown user from a wrong password.
      throw new SaslAuthenticationError(data.known ? SaslFailureReasons.BAD_CREDENTIALS : SaslFailureReasons.UNKNOWN_USER, 'the SCRAM proof is invalid', user);
    }
    const serverSignature = hmac(this.#mechanism, credential.serverKey, authMessage);
    return { done: true, response: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8'), principal: userPrincipal(user) };
  }
}
