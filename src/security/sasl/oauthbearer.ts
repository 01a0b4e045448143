import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWK, type JWTVerifyGetKey } from 'jose';
import { SaslAuthenticationError, SaslFailureReasons, userPrincipal, type SaslConnection, type SaslExchange, type SaslMechanism, type SaslStep } from '../types.js';
import { decodeUtf8, isAcceptableUserName, malformed, parseGs2Header, unexpectedToken } from './gs2.js';

/**
 * The server side of SASL OAUTHBEARER (RFC 7628) for signed JWTs checked against a JWKS. Unlike Kafka's
 * default (unsecured tokens, for development), only signed tokens are accepted, from the configured key
 * set and the configured algorithms.
 */

export interface OAuthBearerMechanismOptions {
  /** Where the issuer publishes its keys: https, or http only to a loopback address. */
  readonly jwksUrl?: string | undefined;
  /** A key set given in the configuration instead; public keys only. */
  readonly jwks?: { readonly keys: readonly object[] } | undefined;
  readonly issuer?: string | undefined;
  /** The token must name (one of) these in `aud`. */
  readonly audience?: string | readonly string[] | undefined;
  /** Tolerance on `exp` and `nbf`, default 30. */
  readonly clockSkewSeconds?: number | undefined;
  /** The claim that names the user, default `sub`. */
  readonly principalClaim?: string | undefined;
  /**
   * Put before the claim's value in the principal (`oauth:` makes `sub: alice` `User:oauth:alice`), so
   * that a token can never name a SCRAM user or the super user. Default none.
   */
  readonly principalPrefix?: string | undefined;
  /** Accepted `alg` values, default the asymmetric ones; `none` and HMAC are never accepted. */
  readonly algorithms?: readonly string[] | undefined;
  /** Milliseconds since the epoch; for tests. */
  readonly clock?: (() => number) | undefined;
}

const DEFAULT_ALGORITHMS: readonly string[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const DEFAULT_CLOCK_SKEW_SECONDS = 30;
/** A JWT with many group claims runs to a few KiB; an initial response far larger is refused unparsed. */
const MAX_MESSAGE_BYTES = 64 * 1024;

const SEPARATOR = '\x01';
/** RFC 7628 §3.1: key = 1*ALPHA, value = *(VCHAR / SP / HTAB / CR / LF). */
const KEY = /^[A-Za-z]+$/;
const VALUE = /^[\x21-\x7e \t\r\n]*$/;
/** RFC 6750 §2.1: `Bearer 1*SP b64token`. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
/** JWKS members that only a private or symmetric key has: such a key set is a leaked secret. */
const SECRET_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'priv'];
const ASYMMETRIC_KEY_TYPES: readonly string[] = ['RSA', 'EC', 'OKP'];

export function oauthBearerMechanism(options: OAuthBearerMechanismOptions): SaslMechanism {
  const verifier = new JwtVerifier(options);
  return {
    name: 'OAUTHBEARER',
    start: (connection) => new OAuthBearerExchange(verifier, options.principalPrefix ?? '', connection),
  };
}

function invalidToken(detail: string, claimedUser: string | undefined): SaslAuthenticationError {
  return new SaslAuthenticationError(SaslFailureReasons.INVALID_TOKEN, detail, claimedUser);
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

function keySet(options: OAuthBearerMechanismOptions): JWTVerifyGetKey {
  const { jwksUrl, jwks } = options;
  if ((jwksUrl === undefined) === (jwks === undefined)) throw new Error('OAUTHBEARER needs exactly one of jwksUrl and jwks');
  if (jwksUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(jwksUrl);
    } catch {
      throw new Error('OAUTHBEARER jwksUrl is not a URL');
    }
    // Whoever can change the key set in transit can sign any token: plain http only stays on the host.
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
      throw new Error('OAUTHBEARER jwksUrl must use https (http is only allowed to a loopback address)');
    }
    return createRemoteJWKSet(url);
  }
  const keys: JWK[] = [];
  for (const key of jwks?.keys ?? []) {
    const { kty } = key as JWK;
    if (SECRET_JWK_MEMBERS.some((member) => member in key) || kty === 'oct') {
      throw new Error('OAUTHBEARER jwks must hold public keys only (found a private or symmetric key)');
    }
    // jose looks at a key only when a token names it, so a configuration typo would only show as
    // refused logins: the shape is checked now instead.
    if (kty === undefined || !ASYMMETRIC_KEY_TYPES.includes(kty)) throw new Error('OAUTHBEARER jwks is not a valid JSON Web Key Set (kty must be RSA, EC or OKP)');
    keys.push(key);
  }
  if (keys.length === 0) throw new Error('OAUTHBEARER jwks has no keys');
  try {
    return createLocalJWKSet({ keys });
  } catch (error) {
    throw new Error('OAUTHBEARER jwks is not a valid JSON Web Key Set', { cause: error });
  }
}

interface VerifiedToken {
  readonly user: string;
  /** The token's `exp`, in ms since the epoch. */
  readonly expiresAtMs?: number;
}

/** The configured checks, built once per mechanism so a remote key set is fetched and cached once. */
class JwtVerifier {
  readonly #keys: JWTVerifyGetKey;
  readonly #algorithms: readonly string[];
  readonly #issuer: string | undefined;
  readonly #audience: string | string[] | undefined;
  readonly #skew: number;
  readonly #principalClaim: string;
  readonly #clock: () => number;

  constructor(options: OAuthBearerMechanismOptions) {
    this.#keys = keySet(options);
    const algorithms = options.algorithms ?? DEFAULT_ALGORITHMS;
    if (algorithms.length === 0) throw new Error('OAUTHBEARER algorithms must not be empty');
    for (const alg of algorithms) {
      // Unsecured tokens carry no proof at all, and with an HMAC algorithm the verification key is a
      // shared secret, which a JWKS must never hold.
      if (alg.toLowerCase() === 'none' || /^HS/i.test(alg)) throw new Error(`OAUTHBEARER algorithm ${alg} is not allowed`);
    }
    this.#algorithms = [...algorithms];
    const skew = options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
    if (!Number.isFinite(skew) || skew < 0) throw new Error('OAUTHBEARER clockSkewSeconds must be a non-negative number');
    this.#skew = skew;
    if (options.audience !== undefined && (typeof options.audience === 'string' ? [options.audience] : options.audience).length === 0) {
      throw new Error('OAUTHBEARER audience must not be empty');
    }
    this.#audience = typeof options.audience === 'string' || options.audience === undefined ? options.audience : [...options.audience];
    this.#issuer = options.issuer;
    this.#principalClaim = options.principalClaim ?? 'sub';
    if (this.#principalClaim === '') throw new Error('OAUTHBEARER principalClaim must not be empty');
    this.#clock = options.clock ?? Date.now;
  }

  /** The unverified principal claim, for the audit log of a refused token only. */
  claimedUser(token: string): string | undefined {
    try {
      const claim = decodeJwt(token)[this.#principalClaim];
      return typeof claim === 'string' && isAcceptableUserName(claim) ? claim : undefined;
    } catch {
      return undefined;
    }
  }

  async verify(token: string): Promise<VerifiedToken> {
    const claimed = this.claimedUser(token);
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw invalidToken('the token is not a JWT', claimed);
    }
    // Checked before any verification, so an unsecured token is refused whatever the library would do.
    if (typeof alg !== 'string' || alg.toLowerCase() === 'none') throw invalidToken('unsecured JWTs (alg none) are refused', claimed);
    if (!this.#algorithms.includes(alg)) throw invalidToken(`the JWT algorithm ${alg} is not allowed`, claimed);
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.#keys, {
        algorithms: [...this.#algorithms],
        ...(this.#issuer === undefined ? {} : { issuer: this.#issuer }),
        ...(this.#audience === undefined ? {} : { audience: this.#audience }),
        clockTolerance: this.#skew,
        currentDate: new Date(this.#clock()),
        // Kafka's validators require exp too: a token without one would be valid forever.
        requiredClaims: ['exp', this.#principalClaim],
      }));
    } catch (error) {
      // jose's messages name the failed check and never include the token.
      const detail = error instanceof errors.JOSEError ? `${error.code}: ${error.message}` : `the key set could not be used: ${String(error)}`;
      throw invalidToken(detail, claimed);
    }
    const user = payload[this.#principalClaim];
    if (typeof user !== 'string' || !isAcceptableUserName(user)) {
      throw invalidToken(`the ${this.#principalClaim} claim is not a usable user name`, undefined);
    }
    // `exp` is required above and a NumericDate in seconds (RFC 7519 §4.1.4): the session ends with it (KIP-368).
    const exp = payload['exp'];
    return { user, ...(typeof exp === 'number' && Number.isFinite(exp) ? { expiresAtMs: exp * 1000 } : {}) };
  }
}

interface InitialResponse {
  readonly authzid: string | undefined;
  readonly token: string;
}

/** `gs2-header kvsep *(key "=" value kvsep) kvsep` (RFC 7628 §3.1), with exactly one `auth` pair. */
function parseInitialResponse(message: string): InitialResponse {
  const gs2 = parseGs2Header(message, { quotedAuthzid: true });
  const { rest } = gs2;
  if (rest.length < 3 || !rest.startsWith(SEPARATOR) || !rest.endsWith(SEPARATOR + SEPARATOR)) {
    throw malformed('the OAUTHBEARER message is not framed by \\x01 separators', gs2.authzid);
  }
  let auth: string | undefined;
  const keys = new Set<string>();
  for (const pair of rest.slice(1, -2).split(SEPARATOR)) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? '' : pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (!KEY.test(key) || !VALUE.test(value)) throw malformed('the OAUTHBEARER message has a malformed key=value pair', gs2.authzid);
    if (keys.has(key)) throw malformed(`the OAUTHBEARER message repeats ${key}`, gs2.authzid);
    keys.add(key);
    // Other keys are SASL extensions (KIP-342); none is used, so they are ignored.
    if (key === 'auth') auth = value;
  }
  if (auth === undefined) throw malformed('the OAUTHBEARER message has no auth=Bearer <token>', gs2.authzid);
  const bearer = BEARER.exec(auth);
  const token = bearer?.[1];
  if (token === undefined) throw malformed('the OAUTHBEARER auth value is not "Bearer <token>"', gs2.authzid);
  return { authzid: gs2.authzid, token };
}

class OAuthBearerExchange implements SaslExchange {
  readonly #verifier: JwtVerifier;
  readonly #prefix: string;
  readonly #connection: SaslConnection;
  #over = false;

  constructor(verifier: JwtVerifier, prefix: string, connection: SaslConnection) {
    this.#verifier = verifier;
    this.#prefix = prefix;
    this.#connection = connection;
  }

  async step(token: Buffer): Promise<SaslStep> {
    if (this.#over) throw unexpectedToken();
    // Set before the first await: the exchange is one message, and a second step while the token is
    // being verified must not start another verification.
    this.#over = true;
    // Bad tokens are refused at once, without RFC 7628's error challenge: KafkaJS and @platformatic/kafka
    // ignore challenge bytes, and librdkafka handles an immediate failure too.
    const { authzid, token: jwt } = parseInitialResponse(decodeUtf8(token, MAX_MESSAGE_BYTES, 'the OAUTHBEARER message'));
    // The user is only known once the token is verified: the login guard counts this source alone.
    await this.#connection.admit?.(undefined);
    const { user, expiresAtMs } = await this.#verifier.verify(jwt);
    if (authzid !== undefined && authzid !== user) {
      throw new SaslAuthenticationError(SaslFailureReasons.BAD_CREDENTIALS, 'the authorization id differs from the token principal', user);
    }
    // The authorization id, when sent, names the token's user as the client knows it: without the prefix.
    return { done: true, response: Buffer.alloc(0), principal: userPrincipal(`${this.#prefix}${user}`), ...(expiresAtMs === undefined ? {} : { expiresAtMs }) };
  }
}
