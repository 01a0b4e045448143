import { createServer, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { errorResponse } from '../../src/protocol/error-responses.js';
import { decodeRequest, encodeResponse } from '../../src/protocol/frames.js';
import { ApiVersions } from '../../src/protocol/messages/api-versions.js';
import { DescribeAcls } from '../../src/protocol/messages/describe-acls.js';
import { DescribeConfigs } from '../../src/protocol/messages/describe-configs.js';
import { DescribeUserScramCredentials } from '../../src/protocol/messages/describe-user-scram-credentials.js';
import { Metadata } from '../../src/protocol/messages/metadata.js';
import { SaslHandshake } from '../../src/protocol/messages/sasl-handshake.js';
import type { ApiSchema } from '../../src/protocol/messages/schema.js';

/**
 * A scripted Kafka-protocol peer for the posture tests: it answers the few APIs a scan asks, the way
 * an Apache Kafka 3.x broker answers them with its defaults (a PLAINTEXT listener, no authorizer:
 * DescribeAcls gets SECURITY_DISABLED, SaslHandshake ILLEGAL_SASL_STATE), or, with `sasl`, like a
 * SASL_PLAINTEXT listener (the mechanisms listed, nothing else before a login). It is not a broker.
 */
export interface KafkaPeerOptions {
  /** Broker configs DescribeConfigs shows (Kafka 3.x defaults by default; see KAFKA_3_DEFAULTS). */
  readonly configs?: Readonly<Record<string, string | null>>;
  /** SCRAM users and their iterations (mechanism 1: SHA-256, 2: SHA-512). */
  readonly scramUsers?: readonly { readonly name: string; readonly mechanism: 1 | 2; readonly iterations: number }[];
  /** A SASL listener offering these mechanisms (SaslHandshake lists them; nothing else is served). */
  readonly sasl?: readonly string[];
}

/** What DescribeConfigs shows of an Apache Kafka 3.x broker started with its shipped server.properties (KRaft). */
export const KAFKA_3_DEFAULTS: Readonly<Record<string, string | null>> = {
  'auto.create.topics.enable': 'true',
  'min.insync.replicas': '1',
  'unclean.leader.election.enable': 'false',
  'authorizer.class.name': '',
  'sasl.enabled.mechanisms': 'GSSAPI',
  'ssl.client.auth': 'none',
  'super.users': null,
  'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL',
  'zookeeper.connect': null,
};

const SERVED: readonly ApiSchema[] = [ApiVersions, SaslHandshake, Metadata, DescribeConfigs, DescribeAcls, DescribeUserScramCredentials];

export async function startKafkaPeer(t: TestContext, options: KafkaPeerOptions = {}): Promise<{ port: number }> {
  let port = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      // Kafka closes a connection whose size prefix is over socket.request.max.bytes (100 MiB): a TLS
      // ClientHello read as a size is 0x16030100 (369 MB).
      if (buffer.length >= 4 && buffer.readInt32BE(0) > 100 * 1024 * 1024) {
        socket.destroy();
        return;
      }
      while (buffer.length >= 4 && buffer.length >= 4 + buffer.readInt32BE(0)) {
        const frame = buffer.subarray(4, 4 + buffer.readInt32BE(0));
        buffer = buffer.subarray(4 + frame.length);
        const answer = respond(frame, port, options);
        if (answer === null) {
          socket.destroy();
          return;
        }
        socket.write(Buffer.concat(answer));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { port };
}

function respond(frame: Buffer, port: number, o: KafkaPeerOptions): Buffer[] | null {
  let decoded;
  try {
    decoded = decodeRequest(frame);
  } catch {
    return null;
  }
  if (decoded.kind !== 'request') return null;
  const { header, api } = decoded;
  const reply = (body: object) => encodeResponse(api, header.apiVersion, header.correlationId, body);
  switch (api.apiKey) {
    case ApiVersions.apiKey:
      return reply({ errorCode: 0, throttleTimeMs: 0, apiKeys: SERVED.map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion })) });
    case SaslHandshake.apiKey:
      // Kafka on a PLAINTEXT listener: "Unexpected handshake request"; on a SASL one: the mechanisms it has.
      return o.sasl === undefined ? reply({ errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] }) : reply({ errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: [...o.sasl] });
    default:
      break;
  }
  // A SASL listener serves nothing else before a login: Kafka closes the connection.
  if (o.sasl !== undefined) return null;
  switch (api.apiKey) {
    case Metadata.apiKey:
      return reply({ throttleTimeMs: 0, brokers: [{ nodeId: 1, host: '127.0.0.1', port, rack: null }], clusterId: 'kafka-peer', controllerId: 1, topics: [] });
    case DescribeAcls.apiKey:
      return reply(errorResponse(DescribeAcls, ErrorCode.SECURITY_DISABLED, { errorMessage: 'No Authorizer is configured.' }));
    case DescribeConfigs.apiKey: {
      const configs = { listeners: `PLAINTEXT://127.0.0.1:${port}`, ...KAFKA_3_DEFAULTS, ...o.configs };
      const body = decoded.body as { resources: { resourceType: number; resourceName: string }[] };
      return reply({
        throttleTimeMs: 0,
        results: body.resources.map((r) => ({
          errorCode: 0,
          errorMessage: null,
          resourceType: r.resourceType,
          resourceName: r.resourceName,
          configs: Object.entries(configs).map(([name, value]) => ({ name, value, readOnly: true, isDefault: true, configSource: 5, isSensitive: false, synonyms: [], configType: 2, documentation: null })),
        })),
      });
    }
    case DescribeUserScramCredentials.apiKey: {
      const users = o.scramUsers ?? [];
      return reply({
        throttleTimeMs: 0,
        errorCode: 0,
        errorMessage: null,
        results: [...new Set(users.map((u) => u.name))].map((name) => ({
          user: name,
          errorCode: 0,
          errorMessage: null,
          credentialInfos: users.filter((u) => u.name === name).map((u) => ({ mechanism: u.mechanism, iterations: u.iterations })),
        })),
      });
    }
    default:
      return null;
  }
}
