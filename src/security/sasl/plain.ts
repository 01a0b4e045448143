import { randomBytes, timingSafeEqual } from 'node:crypto';
import { userNameProblem } from '../../protocol/names.js';
import { DEFAULT_SALT_BYTES, DEFAULT_SCRAM_ITERATIONS, credentialFromSaltedPassword, saltedPasswordAsync } from '../credentials/scram-keys.js';
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
  type ScramShape,
} from '../types.js';
import { decodeUtf8, isAcceptableUserName, malformed, unexpectedToken } from './gs2.js';

/**
 * The server side of SASL PLAIN (RFC 4616). Parapet stores no passwords, only SCRAM credentials, so a
 * PLAIN password is checked by deriving the SCRAM StoredKey from it. PLAIN sends the password itself,
 * so it is refused on connections without TLS.
 */

export interface PlainMechanismOptions {
  readonly credentials: CredentialLookup;
}

const MAX_PASSWORD_BYTES = 1024;
/** authzid + authcid + password + two NULs. */
const MAX_MESSAGE_BYTES = 2 * 1024 + MAX_PASSWORD_BYTES + 2;

/** SHA-512 first: the stronger credential is used when a user has both. */
const PREFERENCE: readonly ScramMechanismName[] = ['SCRAM-SHA-512', 'SCRAM-SHA-256'];

export function plainMechanism(options: PlainMechanismOptions): SaslMechanism {
  return {
    name: 'PLAIN',
    start: (connection) => new PlainExchange(options.credentials, connection),
  };
}

interface PlainMessage {
  readonly authzid: string;
  readonly authcid: string;
  readonly password: string;
}

/** `[authzid] NUL authcid NUL passwd`; the size is checked by the caller. */
function parse(message: string): PlainMessage {
  const parts = message.split('\0');
  if (parts.length !== 3) throw malformed('PLAIN needs exactly three NUL-separated fields');
  const [authzid = '', authcid = '', password = ''] = parts;
  if (!isAcceptableUserName(authcid)) throw malformed('the PLAIN user name is empty, too long or has control characters');
  // No user can have a name the rule refuses (src/protocol/names.ts): failing here tells nothing about who exists.
  const nameProblem = userNameProblem(authcid);
  if (nameProblem !== null) throw malformed(`the PLAIN user name is refused: ${nameProblem}`, authcid);
  if (authzid !== '' && !isAcceptableUserName(authzid)) throw malformed('the PLAIN authorization id is too long or has control characters', authcid);
  if (password.length === 0 || Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) throw malformed('the PLAIN password is empty or too long', authcid);
  return { authzid, authcid, password };
}

class PlainExchange implements SaslExchange {
  readonly #credentials: CredentialLookup;
  readonly #connection: SaslConnection;
  #over = false;

  constructor(credentials: CredentialLookup, connection: SaslConnection) {
    this.#credentials = credentials;
    this.#connection = connection;
  }

  async step(token: Buffer): Promise<SaslStep> {
    if (this.#over) throw unexpectedToken();
    // PLAIN is one message: whatever its outcome, the exchange is over.
    this.#over = true;
    if (!this.#connection.tls) {
      // The password has crossed the network in clear already; refuse it without checking it, so a
      // cleartext listener is never a password oracle. The user name is kept for the audit log.
      throw new SaslAuthenticationError(SaslFailureReasons.INSECURE_TRANSPORT, 'PLAIN is only allowed over TLS', claimedUserOf(token));
    }
    const { authzid, authcid, password } = parse(decodeUtf8(token, MAX_MESSAGE_BYTES, 'the PLAIN message'));
    // kafka-python sends `user NUL user NUL pass`; acting as another user is not supported.
    if (authzid !== '' && authzid !== authcid) {
      throw new SaslAuthenticationError(SaslFailureReasons.BAD_CREDENTIALS, 'the authorization id differs from the user name', authcid);
    }
    // The login guard decides before the key derivation, the cost a password guesser makes the broker pay.
    await this.#connection.admit?.(authcid);
    const found = this.#findCredential(authcid);
    // An unknown user costs the same key derivation as a known one, against a credential no password
    // matches, so that response time does not tell which user names exist.
    const mechanism = found?.mechanism ?? 'SCRAM-SHA-512';
    const credential = found?.credential ?? fakeCredential(this.#credentials.typicalShape?.(mechanism));
    const salted = await saltedPasswordAsync(mechanism, password, credential.salt, credential.iterations);
    const derived = credentialFromSaltedPassword(mechanism, salted, credential.salt, credential.iterations);
    const matches = derived.storedKey.length === credential.storedKey.length && timingSafeEqual(derived.storedKey, credential.storedKey);
    if (found === undefined || !matches) {
      throw new SaslAuthenticationError(found === undefined ? SaslFailureReasons.UNKNOWN_USER : SaslFailureReasons.BAD_CREDENTIALS, 'the PLAIN credentials are invalid', authcid);
    }
    return { done: true, response: Buffer.alloc(0), principal: userPrincipal(authcid) };
  }

  #findCredential(user: string): { mechanism: ScramMechanismName; credential: ScramCredential } | undefined {
    for (const mechanism of PREFERENCE) {
      const credential = this.#credentials.scram(user, mechanism);
      if (credential !== undefined) return { mechanism, credential };
    }
    return undefined;
  }
}

/** Random keys no password matches, with the iteration count real users typically have (it sets the derivation's cost). */
function fakeCredential(shape: ScramShape | undefined): ScramCredential {
  return {
    salt: randomBytes(shape?.saltBytes ?? DEFAULT_SALT_BYTES),
    storedKey: randomBytes(64),
    serverKey: randomBytes(64),
    iterations: shape?.iterations ?? DEFAULT_SCRAM_ITERATIONS,
  };
}

/** The user name of a PLAIN message, if it parses, for the audit log of a refused exchange. */
function claimedUserOf(token: Buffer): string | undefined {
  try {
    return parse(decodeUtf8(token, MAX_MESSAGE_BYTES, 'the PLAIN message')).authcid;
  } catch {
    return undefined;
  }
}
