import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname } from 'node:path';
import { inspect } from 'node:util';
import { ConfigError } from '../config-error.js';
import { isMalformedSecretRef, isSecretRef, parseSecretRef, readSecret } from '../secret-ref.js';
import { ClientError } from './errors.js';

/**
 * Client settings read from a librdkafka-style properties file, so that one file serves `parapet`,
 * `kcat -F` and confluent-kafka alike. Only the keys an admin connection needs are understood; the
 * others (producer tuning, `client.id`, …) are ignored, as librdkafka's own tools would use them.
 */

export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type SecurityProtocol = (typeof SECURITY_PROTOCOLS)[number];

export const CLIENT_SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type ClientSaslMechanism = (typeof CLIENT_SASL_MECHANISMS)[number];

export interface BrokerAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * A secret that stays out of `console.log`, `util.inspect`, `JSON.stringify` and template strings:
 * only {@link Secret.reveal} gives the value, at the one place that sends it.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return 'Secret([redacted])';
  }
}

export interface SaslSettings {
  readonly mechanism: ClientSaslMechanism;
  readonly username: string;
  readonly password: Secret;
  /** `sasl.password` as written when it is a reference (`${env:NAME}`, `${file:PATH}`) rather than the password. */
  readonly passwordReference?: string;
}

export interface TlsSettings {
  /** CA bundle (PEM) to verify the broker with; the system's CAs when absent. */
  readonly caLocation?: string;
  /** Client certificate and key (PEM) for mutual TLS. */
  readonly certificateLocation?: string;
  readonly keyLocation?: string;
}

export interface ClientConfig {
  /** Empty when the file names none: the caller must then be given `--bootstrap`. */
  readonly bootstrapServers: readonly BrokerAddress[];
  readonly securityProtocol: SecurityProtocol;
  /** Present exactly when the protocol is SASL_PLAINTEXT or SASL_SSL. */
  readonly sasl?: SaslSettings;
  readonly tls: TlsSettings;
}

export class ClientConfigError extends ClientError {
  override name = 'ClientConfigError';
}

const DEFAULT_KAFKA_PORT = 9092;

export function usesTls(protocol: SecurityProtocol): boolean {
  return protocol === 'SSL' || protocol === 'SASL_SSL';
}

export function usesSasl(protocol: SecurityProtocol): boolean {
  return protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';
}

/**
 * Parses `host:port[,host:port…]`. A `PROTOCOL://` prefix (Java's listener notation) is accepted and
 * ignored; IPv6 addresses go in brackets; a missing port means 9092, as in librdkafka.
 */
export function parseBootstrapServers(text: string): BrokerAddress[] {
  const servers: BrokerAddress[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim().replace(/^[A-Za-z_]+:\/\//, '');
    if (entry === '') continue;
    const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(entry);
    const host = m?.[1] ?? m?.[2];
    const port = m?.[3] === undefined ? DEFAULT_KAFKA_PORT : Number(m[3]);
    if (host === undefined || (m?.[1] !== undefined && isIP(host) !== 6) || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new ClientConfigError(`invalid bootstrap server "${entry}": expected HOST:PORT or [IPv6]:PORT`);
    }
    servers.push({ host, port });
  }
  if (servers.length === 0) throw new ClientConfigError('no bootstrap servers given');
  return servers;
}

export function formatBrokerAddress(address: BrokerAddress): string {
  return isIP(address.host) === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

function oneOf<T extends string>(allowed: readonly T[], value: string): T | undefined {
  const upper = value.toUpperCase();
  return allowed.find((a) => a === upper);
}

/**
 * Parses the text of a properties file. `origin` names the file in errors. Error messages quote
 * values of non-secret keys only: a line that cannot be parsed is reported by number alone, since it
 * might be a password that lost its key. `sasl.password` may be a reference, `${env:NAME}` or
 * `${file:PATH}` (owner-only; a relative path is taken from `baseDir`), read here.
 */
export function parseClientConfig(text: string, origin = 'client config', baseDir?: string): ClientConfig {
  const values = new Map<string, { value: string; line: number }>();
  const lines = text.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) throw new ClientConfigError(`${origin}: line ${index + 1} is not a key=value setting`);
    // librdkafka's tools trim both sides; the last occurrence of a key wins, as there.
    values.set(trimmed.slice(0, eq).trim(), { value: trimmed.slice(eq + 1).trim(), line: index + 1 });
  }
  const get = (key: string) => values.get(key);
  function fail(key: string, message: string): never {
    const at = values.get(key);
    throw new ClientConfigError(`${origin}${at === undefined ? '' : `: line ${at.line}`}: ${key} ${message}`);
  }

  let bootstrapServers: BrokerAddress[] = [];
  const bootstrap = get('bootstrap.servers');
  if (bootstrap !== undefined) {
    try {
      bootstrapServers = parseBootstrapServers(bootstrap.value);
    } catch (err) {
      fail('bootstrap.servers', err instanceof Error ? `is invalid: ${err.message}` : 'is invalid');
    }
  }

  // librdkafka's default; a file that names SASL credentials without a SASL protocol is refused below.
  let securityProtocol: SecurityProtocol = 'PLAINTEXT';
  const protocol = get('security.protocol');
  if (protocol !== undefined) {
    securityProtocol =
      oneOf(SECURITY_PROTOCOLS, protocol.value) ??
      fail('security.protocol', `must be one of ${SECURITY_PROTOCOLS.join(', ')} (got "${protocol.value}")`);
  }

  const tls: { caLocation?: string; certificateLocation?: string; keyLocation?: string } = {};
  for (const [key, field] of [
    ['ssl.ca.location', 'caLocation'],
    ['ssl.certificate.location', 'certificateLocation'],
    ['ssl.key.location', 'keyLocation'],
  ] as const) {
    const v = get(key);
    if (v === undefined) continue;
    if (v.value === '') fail(key, 'is empty');
    tls[field] = v.value;
  }
  if ((tls.certificateLocation === undefined) !== (tls.keyLocation === undefined)) {
    fail(tls.keyLocation === undefined ? 'ssl.certificate.location' : 'ssl.key.location', 'needs ssl.certificate.location and ssl.key.location together');
  }

  const mechanismKey = get('sasl.mechanisms') !== undefined ? 'sasl.mechanisms' : 'sasl.mechanism';
  const mechanismText = get(mechanismKey);
  const username = get('sasl.username');
  const password = get('sasl.password');
  if (!usesSasl(securityProtocol)) {
    const stray = [username === undefined ? undefined : 'sasl.username', password === undefined ? undefined : 'sasl.password'].find(
      (k) => k !== undefined,
    );
    if (stray !== undefined) fail(stray, `is set but security.protocol is ${securityProtocol}: use SASL_SSL (or SASL_PLAINTEXT) to authenticate`);
    return { bootstrapServers, securityProtocol, tls };
  }
  if (mechanismText === undefined) fail(mechanismKey, `must be set for ${securityProtocol}: one of ${CLIENT_SASL_MECHANISMS.join(', ')}`);
  const mechanism =
    oneOf(CLIENT_SASL_MECHANISMS, mechanismText.value) ??
    fail(mechanismKey, `must be one of ${CLIENT_SASL_MECHANISMS.join(', ')} (got "${mechanismText.value}")`);
  if (username === undefined || username.value === '') fail('sasl.username', `must be set for ${securityProtocol}`);
  if (password === undefined || password.value === '') fail('sasl.password', `must be set for ${securityProtocol}`);
  const reference = isSecretRef(password.value) ? password.value : undefined;
  return {
    bootstrapServers,
    securityProtocol,
    sasl: {
      mechanism,
      username: username.value,
      password: reference === undefined ? passwordOf(password.value, fail) : referencedPassword(reference, baseDir, fail),
      ...(reference === undefined ? {} : { passwordReference: reference }),
    },
    tls,
  };
}

function passwordOf(value: string, fail: (key: string, message: string) => never): Secret {
  // Quoting nothing of the value: it is meant as a reference, but it may be a password all the same.
  if (isMalformedSecretRef(value)) fail('sasl.password', 'looks like a reference but is not one: write ${env:NAME} or ${file:PATH}');
  return new Secret(value);
}

/**
 * The password a reference names. A file usually ends with a newline, which is not part of the
 * password; anything else that could not be sent as one line of a properties file is refused.
 */
function referencedPassword(reference: string, baseDir: string | undefined, fail: (key: string, message: string) => never): Secret {
  let text: string;
  try {
    text = readSecret(parseSecretRef(reference, 'sasl.password', baseDir), 'sasl.password').toString('utf8').replace(/\r?\n$/, '');
  } catch (err) {
    if (err instanceof ConfigError) fail('sasl.password', err.message.replace(/^sasl\.password: /, `= ${reference}: `));
    throw err;
  }
  if (text === '') fail('sasl.password', `= ${reference}: the password is empty`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00\r\n]/.test(text)) fail('sasl.password', `= ${reference}: the password must be one line`);
  return new Secret(text);
}

/**
 * Whether the text sets `sasl.password` to a password, judged before it is fully validated. A reference
 * (`${env:NAME}`, `${file:PATH}`) is not one: it says where the password is, and anyone may read that.
 */
function holdsPassword(text: string): boolean {
  return text.split(/\r?\n/).some((line) => {
    const m = /^\s*sasl\.password\s*=\s*(\S.*)$/.exec(line);
    return m?.[1] !== undefined && !isSecretRef(m[1].trim());
  });
}

/**
 * Reads and parses a client config file. A file that holds a password must be private to its owner
 * (no group or other permission bits), the rule ssh applies to private keys: a password readable by
 * every local account is a password already shared. A file whose `sasl.password` is a reference need
 * not be private; the file it names must be.
 */
export function readClientConfig(path: string): ClientConfig {
  let text: string;
  let mode: number;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = err instanceof Error && 'code' in err ? String(err.code) : 'unreadable';
    throw new ClientConfigError(`cannot read client config ${path}: ${code === 'ENOENT' ? 'no such file' : code}`);
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0 && holdsPassword(text)) {
    const octal = (mode & 0o777).toString(8).padStart(3, '0');
    throw new ClientConfigError(
      `client config ${path} holds sasl.password but its permissions (${octal}) let other users read it; run: chmod 600 ${path}`,
    );
  }
  return parseClientConfig(text, path, dirname(path));
}
