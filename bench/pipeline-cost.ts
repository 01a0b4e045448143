/**
 * What the audit trail, the metrics and the access log cost each request, in one process and without sockets: the same
 * produce requests (one small batch each, acks=1, the hot path) run through the whole pipeline of two
 * brokers with `Broker.inject`, one with none of them (insecure by name, as a baseline) and one as it
 * runs by default (and each alone), in short alternating rounds. Prints the median µs of CPU per request and
 * the ratio of the rates;
 * without the network and the client, this ratio is the worst the per-request cost can make it.
 *
 *   npm run bench:pipeline-cost [-- --requests 2000 --rounds 60]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Broker, DEFAULT_BROKER_CONFIG, type BrokerConfig } from '../src/broker/broker.js';
import { silentLogger } from '../src/logger.js';
import { encodeRequest } from '../src/protocol/frames.js';
import { CreateTopics } from '../src/protocol/messages/create-topics.js';
import { Produce } from '../src/protocol/messages/produce.js';
import { buildBatchSync } from '../src/records/record.js';
import { INSECURE_DEV_SECURITY } from '../src/security/config.js';
import { DEFAULT_AUDIT_CONFIG } from '../src/audit/audit-config.js';
import { DEFAULT_ENCRYPTION_AT_REST } from '../src/storage/crypto/key-setup.js';
import { DEFAULT_ACCESS_LOG_CONFIG } from '../src/security/access-log/access-log-config.js';

const { values: args } = parseArgs({ options: { requests: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '60' } } });
const REQUESTS = Number(args.requests);
const ROUNDS = Number(args.rounds);

const frame = (api: typeof Produce | typeof CreateTopics, version: number, body: object) => Buffer.concat(encodeRequest(api, { apiVersion: version, correlationId: 1, clientId: 'bench' }, body));
const batch = buildBatchSync({ records: Array.from({ length: 10 }, (_, i) => ({ value: Buffer.alloc(100, i) })) });
const produceFrame = frame(Produce, 9, { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: 'bench', partitionData: [{ index: 0, records: batch }] }] });

interface Variant {
  readonly name: string;
  readonly config: Partial<BrokerConfig>;
}
const noAudit = { ...DEFAULT_AUDIT_CONFIG, enabled: false };
const noMetrics = { ...DEFAULT_BROKER_CONFIG.adminEndpoint, enabled: false };
const withMetrics = { ...DEFAULT_BROKER_CONFIG.adminEndpoint, port: 0 };
const noAccessLog = { ...DEFAULT_ACCESS_LOG_CONFIG, enabled: false };
const VARIANTS: readonly Variant[] = [
  { name: 'off', config: { audit: noAudit, adminEndpoint: noMetrics, accessLog: noAccessLog } },
  { name: 'metrics', config: { audit: noAudit, adminEndpoint: withMetrics, accessLog: noAccessLog } },
  { name: 'audit', config: { adminEndpoint: noMetrics, accessLog: noAccessLog } },
  { name: 'access-log', config: { audit: noAudit, adminEndpoint: noMetrics } },
  { name: 'audit+metrics', config: { adminEndpoint: withMetrics, accessLog: noAccessLog } },
  { name: 'all (default)', config: { adminEndpoint: withMetrics } },
];

const root = mkdtempSync(join(tmpdir(), 'parapet-bench-pipeline-'));
process.env.PARAPET_BENCH_MASTER_KEY = Buffer.alloc(32, 7).toString('base64');
const brokers: { name: string; broker: Broker; costs: number[] }[] = [];
try {
  for (const v of VARIANTS) {
    const dataDir = join(root, v.name, 'data');
    const broker = new Broker(
      {
        ...DEFAULT_BROKER_CONFIG,
        listener: { host: '127.0.0.1', port: 0, protocol: 'PLAINTEXT' },
        security: INSECURE_DEV_SECURITY,
        encryptionAtRest: { ...DEFAULT_ENCRYPTION_AT_REST, masterKey: '${env:PARAPET_BENCH_MASTER_KEY}' },
        dataDir,
        ...v.config,
      },
      silentLogger,
      { events: { emit: () => undefined } },
    );
    await broker.start();
    await broker.inject(frame(CreateTopics, 5, { topics: [{ name: 'bench', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'encryption', value: 'none' }] }], timeoutMs: 1000, validateOnly: false }));
    brokers.push({ name: v.name, broker, costs: [] });
  }
  // Short rounds, the order rotating each round: drift (files growing, the page cache, the other
  // brokers' garbage) falls on every variant alike, and the median of many rounds sets it aside.
  for (let round = 0; round < ROUNDS; round++) {
    const order = brokers.map((_, i) => brokers[(i + round) % brokers.length] as (typeof brokers)[number]);
    for (const b of order) {
      const start = process.cpuUsage();
      for (let i = 0; i < REQUESTS; i++) await b.broker.inject(produceFrame);
      const used = process.cpuUsage(start);
      b.costs.push((used.user + used.system) / REQUESTS);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const base = median(brokers[0]?.costs ?? []);
  console.log(`pipeline cost of a produce request (10 × 100 B, acks=1) through Broker.inject, median of ${ROUNDS} rounds × ${REQUESTS}`);
  for (const b of brokers) {
    const m = median(b.costs);
    console.log(`${b.name.padEnd(16)} ${m.toFixed(2).padStart(7)} µs CPU per request   rate ratio ${(base / m).toFixed(3)}`);
  }
} finally {
  for (const b of brokers) await b.broker.close();
  rmSync(root, { recursive: true, force: true });
}
