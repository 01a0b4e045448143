import { SaslAuthenticationError, SaslFailureReasons } from '../types.js';

/**
 * Parsing shared by the SASL mechanisms: strict UTF-8, the GS2 header of RFC 5801 (which SCRAM and
 * OAUTHBEARER both start with) and the `saslname` escaping of RFC 5802 §5.1. Everything here refuses
 * what it does not understand with MALFORMED_TOKEN, so a mechanism never acts on a half-parsed token.
 */

/** A user name longer than this is refused before any lookup or key derivation (in UTF-8 bytes). */
export const MAX_USER_NAME_BYTES = 1024;

export function malformed(detail: string, claimedUser?: string): SaslAuthenticationError {
  return new SaslAuthenticationError(SaslFailureReasons.MALFORMED_TOKEN, detail, claimedUser);
}

/** Thrown for any token after an exchange completed or failed: an exchange is single use. */
export function unexpectedToken(): SaslAuthenticationError {
  return new SaslAuthenticationError(SaslFailureReasons.UNEXPECTED_TOKEN, 'the exchange is over');
}

// fatal: invalid UTF-8 is refused rather than replaced, because SCRAM signs the exact text it received.
// ignoreBOM: a leading BOM is kept (and then refused by the parsers) instead of silently dropped.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes a token that must be UTF-8 and at most `maxBytes` long (checked before decoding). */
export function decodeUtf8(token: Buffer, maxBytes: number, what: string): string {
  if (token.length > maxBytes) throw malformed(`${what} is longer than ${maxBytes} bytes`);
  try {
    return utf8.decode(token);
  } catch {
    throw malformed(`${what} is not valid UTF-8`);
  }
}

/**
 * Whether a decoded user name is acceptable: non-empty, bounded, and free of control characters. RFC
 * 5802 only forbids NUL, but a name with line breaks or escapes is never legitimate and would be a way
 * to forge lines in text logs.
 */
export function isAcceptableUserName(name: string): boolean {
  if (name.length === 0 || Buffer.byteLength(name, 'utf8') > MAX_USER_NAME_BYTES) return false;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  return !/[\u0000-\u001f\u007f-\u009f]/u.test(name);
}

/**
 * Decodes an RFC 5802 `saslname`: `=2C` is `,` and `=3D` is `=`; any other `=` and any raw `,` are
 * malformed, as is a name that fails isAcceptableUserName.
 */
export function decodeSaslName(encoded: string, what: string): string {
  if (encoded.includes(',')) throw malformed(`${what} contains an unescaped ','`);
  let decoded = '';
  for (let at = 0; ; ) {
    const eq = encoded.indexOf('=', at);
    if (eq === -1) {
      decoded += encoded.slice(at);
      break;
    }
    const escape = encoded.slice(eq, eq + 3);
    if (escape === '=2C') decoded += encoded.slice(at, eq) + ',';
    else if (escape === '=3D') decoded += encoded.slice(at, eq) + '=';
    else throw malformed(`${what} has an invalid '=' escape`);
    at = eq + 3;
  }
  if (!isAcceptableUserName(decoded)) throw malformed(`${what} is empty, too long or has control characters`);
  return decoded;
}

export interface Gs2Header {
  /** The header exactly as sent, trailing ',' included (SCRAM's client-final must echo it in `c=`). */
  readonly header: string;
  /** The decoded authorization identity, when the client asked for one. */
  readonly authzid: string | undefined;
  /** What follows the header. */
  readonly rest: string;
}

/**
 * Parses `gs2-cb-flag "," [ "a=" saslname ] ","` (RFC 5801 §4). Only the flag `n` (no channel
 * binding) is accepted: Parapet offers no channel binding, so `p=` cannot be honoured, and `y` is
 * refused too rather than trusted, as is the non-standard `F,` prefix.
 *
 * `quotedAuthzid` accepts `n,"a=<authzid>,`: KafkaJS 2.x (src/protocol/sasl/oauthBearer/request.js)
 * writes a stray `"` before `a=` in its OAUTHBEARER initial response.
 */
export function parseGs2Header(message: string, options: { readonly quotedAuthzid?: boolean } = {}): Gs2Header {
  if (message.startsWith('y,')) throw malformed('the client asked for channel binding (y), which is not offered');
  if (message.startsWith('p=')) throw malformed('the client asked for channel binding (p=), which is not offered');
  if (!message.startsWith('n,')) throw malformed('the GS2 header must start with n,');
  const end = message.indexOf(',', 2);
  if (end === -1) throw malformed('the GS2 header is not terminated');
  const field = message.slice(2, end);
  let authzid: string | undefined;
  if (field.startsWith('a=')) authzid = decodeSaslName(field.slice(2), 'the authorization id');
  else if (options.quotedAuthzid === true && field.startsWith('"a=')) authzid = decodeSaslName(field.slice(3), 'the authorization id');
  else if (field !== '') throw malformed('the GS2 header has an invalid authorization id field');
  return { header: message.slice(0, end + 1), authzid, rest: message.slice(end + 1) };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Strict base64 (RFC 4648 §4, padded): Buffer.from(…, 'base64') skips invalid characters silently, so a
 * mangled proof would be decoded into something else instead of being refused.
 */
export function decodeBase64(text: string, what: string): Buffer {
  if (!BASE64.test(text)) throw malformed(`${what} is not valid base64`);
  const bytes = Buffer.from(text, 'base64');
  // Non-zero padding bits decode to the same bytes as another text: accept only the canonical one.
  if (bytes.toString('base64') !== text) throw malformed(`${what} is not canonical base64`);
  return bytes;
}
