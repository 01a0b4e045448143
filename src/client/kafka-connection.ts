import { readFileSync } from 'node:fs';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectOptions } from 'node:tls';
import { isFault } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { decodeResponse, encodeRequest } from '../protocol/frames.js';
import { ApiVersions } from '../protocol/messages/api-versions.js';
import { SaslAuthenticate } from '../protocol/messages/sasl-authenticate.js';
import { SaslHandshake } from '../protocol/messages/sasl-handshake.js';
import type { ApiSchema, RequestOf, ResponseOf } from '../protocol/messages/schema.js';
import { FrameSplitter } from '../protocol/frame-splitter.js';
import { formatBrokerAddress, usesTls, type BrokerAddress, type ClientConfig, type SaslSettings } from './client-config.js';
import { ClientError, ConnectionError, KafkaError } from './errors.js';
import { ScramClient } from './scram-client.js';

export interface ConnectionOptions {
  /** Sent as the request header's client id. */
  readonly clientId?: string;
  readonly connectTimeoutMs?: number;
  /** How long one request may wait for its response before the connection is given up. */
  readonly requestTimeoutMs?: number;
  /** Largest response frame accepted; the size prefix is checked before anything is buffered. */
  readonly maxResponseBytes?: number;
}

const DEFAULTS = {
  clientId: 'parapet-admin',
  connectTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxResponseBytes: 100 * 1024 * 1024,
} as const;

/** What ApiVersions v3 sends as the client software (KIP-511; Kafka checks it against `[a-zA-Z0-9.-]`). */
const SOFTWARE_NAME = 'parapet-admin';
const SOFTWARE_VERSION = '0.1.0';

interface Pending {
  readonly correlationId: number;
  readonly what: string;
  readonly settle: (frame: Buffer) => void;
  readonly fail: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface VersionRange {
  readonly min: number;
  readonly max: number;
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  // A system error's message repeats its code and address ("connect ECONNREFUSED 127.0.0.1:1").
  if (code !== undefined && 'syscall' in err) return code;
  return code === undefined ? err.message : `${code}: ${err.message}`;
}

function readPem(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ClientError(`cannot read ${key} ${path}: ${describeError(err)}`);
  }
}

async function openSocket(address: BrokerAddress, config: ClientConfig, timeoutMs: number): Promise<Socket> {
  const where = formatBrokerAddress(address);
  let socket: Socket;
  let ready: string;
  if (usesTls(config.securityProtocol)) {
    const options: TlsConnectOptions = { host: address.host, port: address.port, minVersion: 'TLSv1.2', rejectUnauthorized: true };
    // SNI must not carry an IP address (RFC 6066 §3); Node then checks the IP against the certificate's IP SANs.
    if (isIP(address.host) === 0) options.servername = address.host;
    if (config.tls.caLocation !== undefined) options.ca = readPem('ssl.ca.location', config.tls.caLocation);
    if (config.tls.certificateLocation !== undefined) options.cert = readPem('ssl.certificate.location', config.tls.certificateLocation);
    if (config.tls.keyLocation !== undefined) options.key = readPem('ssl.key.location', config.tls.keyLocation);
    socket = tlsConnect(options);
    ready = 'secureConnect';
  } else {
    socket = netConnect({ host: address.host, port: address.port });
    ready = 'connect';
  }
  return new Promise<Socket>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ConnectionError(`cannot connect to ${where}: no connection after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new ConnectionError(`cannot connect to ${where}: ${describeError(err)}`));
    });
    socket.once(ready, () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      // Small admin requests must not wait for Nagle's algorithm.
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/**
 * One connection to one broker. `connect` opens it, learns the broker's API versions (ApiVersions
 * first, as librdkafka and the Java client do) and authenticates when the protocol is SASL_*. Each
 * request then uses the highest version both sides support. Requests may be issued concurrently:
 * Kafka answers in order on a connection, so responses are matched against the oldest outstanding
 * request and a correlation id out of order ends the connection.
 */
export class KafkaConnection {
  readonly address: BrokerAddress;
  readonly #socket: Socket;
  readonly #options: Required<ConnectionOptions>;
  readonly #splitter: FrameSplitter;
  readonly #pending: Pending[] = [];
  readonly #brokerVersions = new Map<number, VersionRange>();
  #nextCorrelationId = 1;
  #closed: Error | undefined;

  private constructor(address: BrokerAddress, socket: Socket, options: Required<ConnectionOptions>) {
    this.address = address;
    this.#socket = socket;
    this.#options = options;
    this.#splitter = new FrameSplitter(options.maxResponseBytes);
    socket.on('data', (chunk: Buffer) => {
      this.#onData(chunk);
    });
    socket.on('error', (err) => {
      this.#fail(new ClientError(`connection to ${formatBrokerAddress(address)} failed: ${describeError(err)}`));
    });
    socket.on('close', () => {
      this.#fail(new ClientError(`connection to ${formatBrokerAddress(address)} was closed by the broker`));
    });
  }

  static async connect(address: BrokerAddress, config: ClientConfig, options: ConnectionOptions = {}): Promise<KafkaConnection> {
    const resolved = { ...DEFAULTS, ...options };
    const socket = await openSocket(address, config, resolved.connectTimeoutMs);
    const connection = new KafkaConnection(address, socket, resolved);
    try {
      await connection.#negotiateVersions();
      if (config.sasl !== undefined) await connection.#authenticate(config.sasl, usesTls(config.securityProtocol));
    } catch (err) {
      connection.close();
      throw err;
    }
    return connection;
  }

  /** The broker's version range for an API, or undefined when it does not offer the API. */
  brokerVersions(api: ApiSchema): VersionRange | undefined {
    return this.#brokerVersions.get(api.apiKey);
  }

  /** The version a request of this API is sent at: the highest one both sides support. */
  versionFor(api: ApiSchema): number {
    const broker = this.#brokerVersions.get(api.apiKey);
    if (broker === undefined) {
      throw new ClientError(`the broker at ${formatBrokerAddress(this.address)} does not support ${api.name} (API key ${api.apiKey})`);
    }
    const version = Math.min(api.maxVersion, broker.max);
    if (version < Math.max(api.minVersion, broker.min)) {
      throw new ClientError(
        `no common ${api.name} version: the broker supports v${broker.min}-v${broker.max}, this client v${api.minVersion}-v${api.maxVersion}`,
      );
    }
    return version;
  }

  request<A extends ApiSchema>(api: A, body: RequestOf<A>): Promise<ResponseOf<A>> {
    let version: number;
    try {
      version = this.versionFor(api);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new ClientError(String(err)));
    }
    return this.#send(api, version, body) as Promise<ResponseOf<A>>;
  }

  /** Ends the connection; outstanding requests fail. */
  close(): void {
    this.#fail(new ClientError('connection closed'));
  }

  #send(api: ApiSchema, version: number, body: object, decode?: (frame: Buffer) => Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    const correlationId = this.#nextCorrelationId;
    this.#nextCorrelationId = correlationId === 0x7fffffff ? 1 : correlationId + 1;
    let frame: Buffer[];
    try {
      frame = encodeRequest(api, { apiVersion: version, correlationId, clientId: this.#options.clientId }, body);
    } catch (err) {
      return Promise.reject(new ClientError(`cannot encode ${api.name} v${version}: ${describeError(err)}`));
    }
    const what = `${api.name} v${version}`;
    const decodeFrame = decode ?? ((f: Buffer) => decodeResponse(api, version, f).body);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // A late answer would arrive out of step with the requests behind it: give up the connection.
        this.#fail(new ClientError(`${what} to ${formatBrokerAddress(this.address)} timed out after ${this.#options.requestTimeoutMs} ms`));
      }, this.#options.requestTimeoutMs);
      this.#pending.push({
        correlationId,
        what,
        timer,
        fail: reject,
        settle: (f) => {
          try {
            resolve(decodeFrame(f));
          } catch (err) {
            reject(new ClientError(`cannot decode the ${what} response: ${isFault(err) ? err.toString() : describeError(err)}`));
          }
        },
      });
      this.#socket.write(Buffer.concat(frame));
    });
  }

  #onData(chunk: Buffer): void {
    try {
      this.#splitter.push(chunk);
      for (let frame = this.#splitter.next(); frame !== null; frame = this.#splitter.next()) {
        const head = this.#pending.shift();
        if (head === undefined) throw new ClientError('the broker sent a response to no request');
        clearTimeout(head.timer);
        if (frame.length < 4 || frame.readInt32BE(0) !== head.correlationId) {
          this.#pending.unshift(head);
          throw new ClientError(`the broker answered ${head.what} out of order (correlation id mismatch)`);
        }
        head.settle(frame);
      }
    } catch (err) {
      this.#fail(
        err instanceof ClientError ? err : new ClientError(`bad response from ${formatBrokerAddress(this.address)}: ${describeError(err)}`),
      );
    }
  }

  #fail(err: Error): void {
    if (this.#closed !== undefined) return;
    this.#closed = err;
    this.#socket.destroy();
    for (const p of this.#pending.splice(0)) {
      clearTimeout(p.timer);
      p.fail(err);
    }
  }

  /**
   * ApiVersions at our highest version. A broker that does not know it answers in the v0 layout with
   * UNSUPPORTED_VERSION and its own range (KIP-511); both layouts start with the int16 error code
   * right after the response header (always v0 for ApiVersions), so the code tells which to decode.
   */
  async #negotiateVersions(): Promise<void> {
    let version = ApiVersions.maxVersion;
    for (let attempt = 0; attempt < 2; attempt++) {
      const requested = version;
      const body = await this.#send(ApiVersions, requested, { clientSoftwareName: SOFTWARE_NAME, clientSoftwareVersion: SOFTWARE_VERSION }, (frame) => {
        const fallback = frame.length >= 6 && frame.readInt16BE(4) === ErrorCode.UNSUPPORTED_VERSION;
        return decodeResponse(ApiVersions, fallback ? 0 : requested, frame).body;
      });
      const response = body as ResponseOf<typeof ApiVersions>;
      const ours = response.apiKeys.find((k) => k.apiKey === ApiVersions.apiKey);
      if (response.errorCode === ErrorCode.UNSUPPORTED_VERSION && ours !== undefined && ours.maxVersion < requested) {
        version = Math.max(ApiVersions.minVersion, ours.maxVersion);
        continue;
      }
      if (response.errorCode !== 0) throw new KafkaError('ApiVersions', response.errorCode);
      for (const k of response.apiKeys) this.#brokerVersions.set(k.apiKey, { min: k.minVersion, max: k.maxVersion });
      return;
    }
    throw new ClientError('the broker refused every ApiVersions version this client speaks');
  }

  /**
   * SaslHandshake v1 then SaslAuthenticate tokens (KIP-152). The v0 handshake's raw token framing is
   * not spoken: every broker since Kafka 1.0 offers v1.
   */
  async #authenticate(sasl: SaslSettings, encrypted: boolean): Promise<void> {
    if (sasl.mechanism === 'PLAIN' && !encrypted) {
      throw new ClientError('refusing to send a PLAIN password over an unencrypted connection: use security.protocol=SASL_SSL');
    }
    if (this.versionFor(SaslHandshake) < 1) throw new ClientError('the broker only offers SaslHandshake v0, which this client does not speak');
    const handshake = await this.request(SaslHandshake, { mechanism: sasl.mechanism });
    if (handshake.errorCode === ErrorCode.UNSUPPORTED_SASL_MECHANISM) {
      throw new ClientError(
        `the broker does not enable SASL mechanism ${sasl.mechanism} (it offers: ${handshake.mechanisms.join(', ') || 'none'})`,
      );
    }
    if (handshake.errorCode !== 0) throw new KafkaError('SASL handshake', handshake.errorCode);

    const exchange = async (token: Buffer): Promise<Buffer> => {
      const r = await this.request(SaslAuthenticate, { authBytes: token });
      if (r.errorCode === ErrorCode.SASL_AUTHENTICATION_FAILED) {
        throw new ClientError(`SASL ${sasl.mechanism} authentication as "${sasl.username}" failed: ${r.errorMessage ?? 'invalid credentials'}`);
      }
      if (r.errorCode !== 0) throw new KafkaError(`SASL ${sasl.mechanism} authentication`, r.errorCode, r.errorMessage);
      return r.authBytes;
    };
    // A broker reporting a session lifetime (KIP-368) expects re-authentication before it ends; the
    // admin commands finish long before any sensible lifetime, so none is scheduled.
    if (sasl.mechanism === 'PLAIN') {
      await exchange(Buffer.from(`\0${sasl.username}\0${sasl.password.reveal()}`, 'utf8'));
      return;
    }
    const scram = new ScramClient(sasl.mechanism, sasl.username, sasl.password.reveal());
    const serverFirst = await exchange(scram.clientFirst());
    const serverFinal = await exchange(scram.clientFinal(serverFirst));
    scram.verifyServerFinal(serverFinal);
  }
}

/** Connects to the first bootstrap server that answers; an authentication failure is not retried elsewhere. */
export async function connectToCluster(config: ClientConfig, options: ConnectionOptions = {}): Promise<KafkaConnection> {
  if (config.bootstrapServers.length === 0) throw new ClientError('no bootstrap servers: set bootstrap.servers or pass --bootstrap');
  const failures: string[] = [];
  for (const address of config.bootstrapServers) {
    try {
      return await KafkaConnection.connect(address, config, options);
    } catch (err) {
      if (!(err instanceof ConnectionError)) throw err;
      failures.push(err.message);
    }
  }
  throw new ConnectionError(failures.length === 1 ? (failures[0] ?? '') : `no bootstrap server answered: ${failures.join('; ')}`);
}
