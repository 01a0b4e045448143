/**
 * The attacker of limits-names.test.ts as its own process, so that encoding its 25 MB request and
 * decoding the 25 MB answer do not block the test process, whose latency probe must measure only
 * what the broker makes others wait. Reads `{ config, topics, length }` as JSON on standard input
 * (the config as readClientConfig's fields, the password in clear: the pipe is private to the test),
 * writes `{ ms, count, codes }` as JSON on standard output.
 */
import { Secret, type ClientConfig } from '../../src/client/client-config.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { Metadata } from '../../src/protocol/messages/index.js';

interface Input {
  readonly config: Omit<ClientConfig, 'sasl'> & { sasl: { mechanism: 'SCRAM-SHA-512'; username: string; password: string } };
  readonly topics: number;
  readonly length: number;
}

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Input;
const config: ClientConfig = { ...input.config, sasl: { ...input.config.sasl, password: new Secret(input.config.sasl.password) } };
const address = config.bootstrapServers[0];
if (address === undefined) throw new Error('no bootstrap server');
const connection = await KafkaConnection.connect(address, config, { clientId: 'mallory', requestTimeoutMs: 120_000 });
// Names that differ only in their last characters: the worst case for comparing colliding keys.
const stem = 'x'.repeat(input.length - 6);
const topics = Array.from({ length: input.topics }, (_, i) => ({ name: `${stem}${String(i).padStart(6, '0')}` }));
const started = performance.now();
const response = await connection.request(Metadata, { topics, allowAutoTopicCreation: true });
const ms = performance.now() - started;
connection.close();
process.stdout.write(JSON.stringify({ ms, count: response.topics.length, codes: [...new Set(response.topics.map((t) => t.errorCode))] }));
