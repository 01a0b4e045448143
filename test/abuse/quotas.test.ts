import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../src/protocol/acl.js';
import { CLI } from '../helpers/cli-process.js';
import { startBrokerProcess } from '../security/attack-support.js';
import { deliveredRate, runKcatProducer, runProducer, type ProducerSettings } from './quota-clients.js';

/**
 * The quota case of the abuse suite (docs/security/network.md, "Quotas"): an administrator sets a
 * produce quota on one user with `parapet quota set` (AlterClientQuotas); that user's real producer
 * (confluent-kafka on librdkafka) sending as fast as it can is held to the quota, told so through
 * throttle_time_ms (its throttle_cb and librdkafka's statistics) and backs off by itself, never closed;
 * another user producing at the same time gets the rate it asks for, never throttled.
 *
 * The broker runs with a window of 2 samples of 1 s (Kafka's default is 11): the rate is measured
 * from 4 s to 18 s, seven windows after the first, where the quota's sawtooth (a burst as each
 * window's oldest sample expires, then throttles) averages out.
 */

const QUOTA = 512 * 1024;
const SECONDS = 18;
const MEASURED: [number, number] = [4, SECONDS];

function cli(args: readonly string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve) => child.once('close', (code) => { resolve({ code, out }); }));
}

describe('quotas under abuse: one producer over its byte rate', () => {
  it('is throttled to its quota and told so (throttle_cb, statistics) while another user producing at the same time is not', async (t) => {
    const began = Date.now();
    const broker = await startBrokerProcess(t, { configYaml: 'quotas:\n  windowSamples: 2\n  windowSeconds: 1' });
    const topic = 'metered';
    const admin = await broker.admin();
    await admin.createTopic(topic, 1);
    const write = [{ resourceType: ResourceType.TOPIC, resourceName: topic, patternType: PatternType.LITERAL, host: '*', operation: AclOperation.WRITE, permission: AclPermissionType.ALLOW }];
    await broker.addUser('greedy', 'greedy-password-1', write);
    await broker.addUser('steady', 'steady-password-1', write);
    await broker.addUser('kcat', 'kcat-password-1', write);

    const adminFlags = ['--data-dir', broker.dataDir, '--bootstrap', broker.bootstrap];
    const set = await cli(['quota', 'set', '--user', 'greedy', '--producer-byte-rate', String(QUOTA), ...adminFlags]);
    assert.equal(set.code, 0, set.out);
    // The same request through the admin client (what `parapet quota set` sends), without another process.
    await admin.quotas.alter({ user: 'kcat' }, { producer_byte_rate: QUOTA / 2 });
    const listed = await cli(['quota', 'list', ...adminFlags]);
    assert.match(listed.out, new RegExp(`^user=greedy +producer_byte_rate=${QUOTA}$`, 'm'));

    const common = { bootstrap: broker.bootstrap, caFile: broker.caFile, topic, seconds: SECONDS, messageBytes: 1000 };
    const greedy: ProducerSettings = { ...common, username: 'greedy', password: 'greedy-password-1', clientId: 'greedy-app', paceBytesPerSecond: 0 };
    // steady asks for twice greedy's quota: more than greedy may have, far below its own default (64 MiB/s).
    const steady: ProducerSettings = { ...common, username: 'steady', password: 'steady-password-1', clientId: 'steady-app', paceBytesPerSecond: 2 * QUOTA };
    t.diagnostic(`set up in ${Date.now() - began} ms`);
    const [g, s, k] = await Promise.all([runProducer(greedy), runProducer(steady), runKcatProducer({ bootstrap: broker.bootstrap, caFile: broker.caFile, topic, username: 'kcat', password: 'kcat-password-1', messages: 1500, messageBytes: 1000 })]);
    t.diagnostic(`kcat: 1.5 MB at ${QUOTA / 2} B/s took ${k.ms} ms; ${k.stderr.trim().split('\n').slice(0, 3).join(' | ')}`);

    const greedyRate = deliveredRate(g, ...MEASURED);
    const steadyRate = deliveredRate(s, ...MEASURED);
    t.diagnostic(`greedy: ${Math.round(greedyRate)} B/s against a quota of ${QUOTA} (${((greedyRate / QUOTA - 1) * 100).toFixed(1)}%); ${g.throttles.length} throttles, largest ${Math.max(0, ...g.throttles.map((x) => x[1]))} ms; statistics max ${g.statsThrottleMaxMs} ms`);
    const perSecond = Array.from({ length: SECONDS }, (_, i) => Math.round(deliveredRate(g, i, i + 1) / 1024));
    t.diagnostic(`greedy KiB per second: ${perSecond.join(' ')}; throttles at ${g.throttles.map(([at, ms]) => `${at.toFixed(1)}s:${ms}`).join(' ')}`);
    t.diagnostic(`steady: ${Math.round(steadyRate)} B/s asked ${2 * QUOTA}; ${s.throttles.length} throttles`);

    assert.deepEqual(g.errors, [], 'the throttled producer was never failed or closed: it backed off');
    assert.ok(Math.abs(greedyRate / QUOTA - 1) <= 0.1, `greedy's rate ${Math.round(greedyRate)} B/s is within 10% of ${QUOTA}`);
    assert.ok(g.throttles.length > 0 && g.throttles.some(([, ms]) => ms > 0), 'throttle_time_ms reached confluent-kafka’s throttle_cb');
    assert.ok(g.statsThrottleMaxMs > 0, 'and librdkafka’s statistics');
    assert.deepEqual(s.errors, []);
    assert.equal(s.throttles.filter(([, ms]) => ms > 0).length, 0, 'steady was never throttled');
    // kcat (librdkafka, acks=all): its 1.5 MB take about 1.5 MB / quota, all delivered; librdkafka logs the throttle.
    assert.equal(k.code, 0, k.stderr);
    assert.match(k.stderr, /throttled request for \d+ms/);
    assert.ok(k.ms >= 3500, `kcat was held to its quota: ${k.ms} ms for what takes ${Math.round((1.5e6 / (QUOTA / 2)) * 1000)} ms at the quota`);
    assert.ok(Math.abs(steadyRate / (2 * QUOTA) - 1) <= 0.1, `steady got what it asked for: ${Math.round(steadyRate)} B/s of ${2 * QUOTA}`);
  });
});
