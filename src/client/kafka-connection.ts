import type { Socket } from 'node:net';
import { isFault } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { decodeResponse } from '../protocol/frames.js';
import { ApiVersions } from '../protocol/messages/api-versions.js';
import { SaslAuthenticate } from '../protocol/messages/sasl-authenticate.js';
import { SaslHandshake } from '../protocol/messages/sasl-handshake.js';
import type { ApiSchema, RequestOf, ResponseOf } from '../protocol/messages/schema.js';
import { formatBrokerAddress, usesTls, type BrokerAddress, type ClientConfig, type SaslSettings } from './client-config.js';
import { ClientError, ConnectionError, describeError, KafkaError } from './errors.js';
import { FramedSocket } from './framed-socket.js';
import { openSocket } from './open-socket.js';
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
  /** When the response is due (Date.now() ms). */
  readonly deadline: number;
  readonly settle: (frame: Buffer) => void;
  readonly fail: (err: Error) => void;
}

interface VersionRange {
  readonly min: number;
  readonly max: number;
}

/**
 * One connection to one broker, the project's one wire client: the admin CLI, the benchmarks and the
 * tests all speak Kafka through it. `connect` opens it, learns the broker's API versions (ApiVersions
 * first, as librdkafka and the Java client do) and authenticates when the protocol is SASL_*. Each
 * request then uses the highest version both sides support, unless the caller names one. Requests
 * may be issued concurrently (pipelined): Kafka answers in order on a connection, so responses are
 * matched against the oldest outstanding request and a correlation id out of order ends the
 * connection.
 */
export class KafkaConnection {
  readonly address: BrokerAddress;
  readonly #wire: FramedSocket;
  readonly #options: Required<ConnectionOptions>;
  readonly #pending: Pending[] = [];
  readonly #brokerVersions = new Map<number, VersionRange>();
  /**
   * One timer for all outstanding requests, due when the oldest is: responses come in order, so no
   * other can be late before it. Pipelined requests then cost no timer each.
   */
  #timer: NodeJS.Timeout | undefined;
  #closed: Error | undefined;

  private constructor(address: BrokerAddress, socket: Socket, options: Required<ConnectionOptions>) {
    this.address = address;
    this.#options = options;
    this.#wire = new FramedSocket(socket, options, {
      frame: (frame) => {
        this.#onFrame(frame);
      },
      broken: (err) => {
        this.#fail(err instanceof ClientError ? err : new ClientError(`bad response from ${formatBrokerAddress(address)}: ${describeError(err)}`));
      },
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

  /**
   * Sends a request and resolves with the response body. `version` pins the version (tests that
   * check how the broker answers one); it is sent as given, not checked against the broker's range.
   */
  request<A extends ApiSchema>(api: A, body: RequestOf<A>, version?: number): Promise<ResponseOf<A>> {
    let sendAt: number;
    try {
      sendAt = version ?? this.versionFor(api);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new ClientError(String(err)));
    }
    return this.#send(api, sendAt, body) as Promise<ResponseOf<A>>;
  }

  /** Ends the connection; outstanding requests fail. */
  close(): void {
    this.#fail(new ClientError('connection closed'));
  }

  #send(api: ApiSchema, version: number, body: object, decode?: (frame: Buffer) => Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    const what = `${api.name} v${version}`;
    const decodeFrame = decode ?? ((f: Buffer) => decodeResponse(api, version, f).body);
    return new Promise((resolve, reject) => {
      let correlationId: number;
      try {
        correlationId = this.#wire.writeRequest(api, version, body);
      } catch (err) {
        reject(new ClientError(`cannot encode ${what}: ${describeError(err)}`));
        return;
      }
      this.#pending.push({
        correlationId,
        what,
        deadline: Date.now() + this.#options.requestTimeoutMs,
        fail: reject,
        settle: (f) => {
          try {
            resolve(decodeFrame(f));
          } catch (err) {
            reject(new ClientError(`cannot decode the ${what} response: ${isFault(err) ? err.toString() : describeError(err)}`));
          }
        },
      });
      this.#timer ??= setTimeout(this.#checkDeadline, this.#options.requestTimeoutMs);
    });
  }

  #onFrame(frame: Buffer): void {
    const head = this.#pending.shift();
    if (head === undefined) throw new ClientError('the broker sent a response to no request');
    if (frame.length < 4 || frame.readInt32BE(0) !== head.correlationId) {
      this.#pending.unshift(head);
      throw new ClientError(`the broker answered ${head.what} out of order (correlation id mismatch)`);
    }
    if (this.#pending.length === 0) this.#stopTimer();
    head.settle(frame);
  }

  /** The timer fired: the oldest request is late (give the connection up), or the timer moves to its deadline. */
  readonly #checkDeadline = (): void => {
    this.#timer = undefined;
    const head = this.#pending[0];
    if (head === undefined) return;
    const left = head.deadline - Date.now();
    if (left > 0) {
      this.#timer = setTimeout(this.#checkDeadline, left);
      return;
    }
    // A late answer would arrive out of step with the requests behind it: give up the connection.
    this.#fail(new ClientError(`${head.what} to ${formatBrokerAddress(this.address)} timed out after ${this.#options.requestTimeoutMs} ms`));
  };

  #stopTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #fail(err: Error): void {
    if (this.#closed !== undefined) return;
    this.#closed = err;
    this.#stopTimer();
    this.#wire.socket.destroy();
    for (const p of this.#pending.splice(0)) p.fail(err);
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
