import assert from 'node:assert/strict';
import { tracingChannel } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  AclOperations,
  AclPermissionTypes,
  Admin,
  ClientQuotaEntityTypes,
  ClientQuotaKeys,
  ClientQuotaMatchTypes,
  Producer,
  ProduceAcks,
  ResourcePatternTypes,
  ResourceTypes,
  type alterClientQuotasV1,
  type ClientQuotaEntityTypeValue,
  type ClientQuotaKeyValue,
  type describeClientQuotasV0,
} from '#platformatic-kafka';
import { DEFAULT_QUOTA_CONFIG } from '../../../src/quotas/quota-config.js';
import { IP_ENTITY_MESSAGE } from '../../../src/quotas/entities.js';
import { deliveredRate } from '../../abuse/quota-clients.js';
import { startSecureBroker, type SecureBroker } from '../../helpers/secure-broker.js';
import { errorChain } from '../security-support.js';

/**
 * @platformatic/kafka 1.35's Admin sets and reads client quotas (AlterClientQuotas v1,
 * DescribeClientQuotas v1, KIP-546) over SASL_SSL, and a quota it set holds its own Producer: the
 * broker answers the over-quota Produce at once with throttle_time_ms and then mutes the connection
 * for that long (KIP-219). platformatic does not wait by itself, so the mute is what holds it; its
 * Produce responses are read off the package's `plt:kafka:connections:api` diagnostics channel.
 *
 * The broker measures over 2 samples of 1 s (Kafka: 11), so the rate settles within seconds.
 */

const QUOTA = 256 * 1024;
const SECONDS = 9;
const MEASURED: [number, number] = [3, SECONDS];
const TOPIC = 'metered';

type AlterClientQuotasRequestEntry = alterClientQuotasV1.AlterClientQuotasRequestEntry;
type DescribeClientQuotasRequestComponent = describeClientQuotasV0.DescribeClientQuotasRequestComponent;
type DescribeClientQuotasResponseEntry = describeClientQuotasV0.DescribeClientQuotasResponseEntry;

const { USER, CLIENT_ID } = ClientQuotaEntityTypes;
const { PRODUCER_BYTE_RATE } = ClientQuotaKeys;
const { EXACT, DEFAULT, ANY } = ClientQuotaMatchTypes;

function adminOf(b: SecureBroker, username: string, password: string): Admin {
  return new Admin({ clientId: `pf-${username}`, bootstrapBrokers: [b.bootstrap], tls: { ca: readFileSync(b.caFile) }, sasl: { mechanism: 'SCRAM-SHA-512', username, password }, retries: 0 });
}

/** A described entry as one comparable line: `user=meter client-id=batch-loader producer_byte_rate=1024`. */
function line(e: DescribeClientQuotasResponseEntry): string {
  const entity = e.entity.map((c) => `${c.entityType}=${c.entityName ?? '<default>'}`);
  const values = e.values.map((v) => `${v.key}=${v.value}`).sort();
  return [...entity, ...values].join(' ');
}

async function described(admin: Admin, components: DescribeClientQuotasRequestComponent[], strict = false): Promise<string[]> {
  return (await admin.describeClientQuotas({ components, strict })).map(line).sort();
}

/** The ResponseError's decoded response and the protocol error ids in its chain. */
function failure(error: unknown): { response: unknown; ids: unknown[] } {
  const chain = errorChain(error);
  return { response: chain.find((e) => e.response !== undefined)?.response, ids: chain.map((e) => e.apiId).filter((id) => id !== undefined) };
}

const set = (entities: AlterClientQuotasRequestEntry['entities'], value: number): AlterClientQuotasRequestEntry => ({
  entities,
  ops: [{ key: PRODUCER_BYTE_RATE, value, remove: false }],
});

describe('@platformatic/kafka client quotas', () => {
  it('its Admin sets, describes (exact/default/any) and removes quotas; ip entities and non-admins are refused', async (t) => {
    const b = await startSecureBroker(t, { users: { limited: 'limited-password-1' } });
    const admin = adminOf(b, 'admin', b.adminPassword);
    const limited = adminOf(b, 'limited', 'limited-password-1');
    // Closed in the test, before the broker (its t.after, registered first, runs first): a platformatic
    // client whose broker went away first keeps the process alive.
    try {

      const entries = [
        set([{ entityType: USER, entityName: 'meter' }], QUOTA),
        set([{ entityType: USER, entityName: 'meter' }, { entityType: CLIENT_ID, entityName: 'batch-loader' }], 2 * QUOTA),
        set([{ entityType: USER, entityName: null }], 8 * QUOTA),
      ];
      const answered = [
        { errorCode: 0, errorMessage: null, entity: [{ entityType: USER, entityName: 'meter' }] },
        { errorCode: 0, errorMessage: null, entity: [{ entityType: USER, entityName: 'meter' }, { entityType: CLIENT_ID, entityName: 'batch-loader' }] },
        { errorCode: 0, errorMessage: null, entity: [{ entityType: USER, entityName: null }] },
      ];
      const anyUser: DescribeClientQuotasRequestComponent[] = [{ entityType: USER, matchType: ANY }];

      assert.deepEqual(await admin.alterClientQuotas({ entries, validateOnly: true }), answered, 'validate-only: every entry valid');
      assert.deepEqual(await described(admin, anyUser), [], 'validate-only stored nothing');

      assert.deepEqual(await admin.alterClientQuotas({ entries }), answered);
      const all = [`user=<default> producer_byte_rate=${8 * QUOTA}`, `user=meter client-id=batch-loader producer_byte_rate=${2 * QUOTA}`, `user=meter producer_byte_rate=${QUOTA}`];
      assert.deepEqual(await described(admin, anyUser), all, 'any user');
      assert.deepEqual(await described(admin, [{ entityType: USER, matchType: EXACT, match: 'meter' }]), all.slice(1), 'exact user, not strict: its pair too');
      assert.deepEqual(await described(admin, [{ entityType: USER, matchType: EXACT, match: 'meter' }], true), [`user=meter producer_byte_rate=${QUOTA}`], 'exact user, strict');
      assert.deepEqual(await described(admin, [{ entityType: USER, matchType: DEFAULT }]), all.slice(0, 1), 'default user');
      assert.deepEqual(
        await described(admin, [{ entityType: USER, matchType: EXACT, match: 'meter' }, { entityType: CLIENT_ID, matchType: ANY }]),
        all.slice(1, 2),
        'user meter with any client id',
      );
      assert.deepEqual(await described(admin, [{ entityType: CLIENT_ID, matchType: DEFAULT }]), [], 'no client-id default was set');

      // remove: true (platformatic sends the value 0 with it, which the broker ignores).
      await admin.alterClientQuotas({
        entries: [
          { entities: [{ entityType: USER, entityName: 'meter' }, { entityType: CLIENT_ID, entityName: 'batch-loader' }], ops: [{ key: PRODUCER_BYTE_RATE, remove: true }] },
          { entities: [{ entityType: USER, entityName: null }], ops: [{ key: PRODUCER_BYTE_RATE, remove: true }] },
        ],
      });
      assert.deepEqual(await described(admin, anyUser), [`user=meter producer_byte_rate=${QUOTA}`], 'removed');

      // An ip entity is refused on its own entry; the valid entry beside it is stored.
      const ipEntry = {
        entities: [{ entityType: 'ip' as string as ClientQuotaEntityTypeValue, entityName: '127.0.0.1' }],
        ops: [{ key: 'connection_creation_rate' as string as ClientQuotaKeyValue, value: 10, remove: false as const }],
      };
      const ipRefusal = await admin.alterClientQuotas({ entries: [ipEntry, set([{ entityType: USER, entityName: 'other' }], QUOTA)] }).then(
        () => assert.fail('the ip entity was accepted'),
        (error: unknown) => failure(error),
      );
      assert.deepEqual(ipRefusal.ids, ['INVALID_REQUEST']);
      assert.deepEqual((ipRefusal.response as { entries: unknown }).entries, [
        { errorCode: 42, errorMessage: IP_ENTITY_MESSAGE, entity: [{ entityType: 'ip', entityName: '127.0.0.1' }] },
        { errorCode: 0, errorMessage: null, entity: [{ entityType: USER, entityName: 'other' }] },
      ]);
      assert.deepEqual(await described(admin, anyUser), [`user=meter producer_byte_rate=${QUOTA}`, `user=other producer_byte_rate=${QUOTA}`]);

      // A user without ALTER_CONFIGS / DESCRIBE_CONFIGS on the cluster.
      const denied = await limited.alterClientQuotas({ entries: [set([{ entityType: USER, entityName: 'limited' }], 100 * QUOTA)] }).then(
        () => assert.fail('a non-admin altered a quota'),
        (error: unknown) => failure(error),
      );
      assert.deepEqual(denied.ids, ['CLUSTER_AUTHORIZATION_FAILED']);
      const deniedDescribe = await limited.describeClientQuotas({ components: anyUser }).then(
        () => assert.fail('a non-admin described quotas'),
        (error: unknown) => failure(error),
      );
      assert.deepEqual(deniedDescribe.ids, ['CLUSTER_AUTHORIZATION_FAILED']);
      assert.deepEqual(await described(admin, [{ entityType: USER, matchType: EXACT, match: 'limited' }]), [], 'nothing stored for the refused request');
    } finally {
      await limited.close();
      await admin.close();
    }
  });

  it('a producer_byte_rate set by its Admin holds its Producer to the quota, with throttle_time_ms in the responses', async (t) => {
    const b = await startSecureBroker(t, {
      users: { meter: 'meter-password-1' },
      acls: [{ resourceType: ResourceTypes.TOPIC, resourceName: TOPIC, patternType: ResourcePatternTypes.LITERAL, principal: 'User:meter', host: '*', operation: AclOperations.WRITE, permission: AclPermissionTypes.ALLOW }],
      broker: { quotas: { ...DEFAULT_QUOTA_CONFIG, windowSamples: 2, windowSeconds: 1 } },
    });
    const admin = adminOf(b, 'admin', b.adminPassword);
    const producer = new Producer({ clientId: 'meter-app', bootstrapBrokers: [b.bootstrap], tls: { ca: readFileSync(b.caFile) }, sasl: { mechanism: 'SCRAM-SHA-512', username: 'meter', password: 'meter-password-1' }, retries: 0 });
    const throttles: number[] = [];
    type ApiContext = { apiKey?: number; result?: { throttleTimeMs?: number } };
    const api = tracingChannel<unknown, ApiContext>('plt:kafka:connections:api');
    const ignore = () => undefined;
    const onResponse = {
      start: ignore,
      end: ignore,
      asyncEnd: ignore,
      error: ignore,
      asyncStart(ctx: ApiContext): void {
        if (ctx.apiKey === 0 && ctx.result?.throttleTimeMs !== undefined) throttles.push(ctx.result.throttleTimeMs);
      },
    };
    api.subscribe(onResponse);
    try {
      await admin.createTopics({ topics: [TOPIC], partitions: 1, replicas: 1 });
      await admin.alterClientQuotas({ entries: [set([{ entityType: USER, entityName: 'meter' }], QUOTA)] });

      // Four sends of 16 KiB in flight at all times, as fast as the broker answers them.
      const value = Buffer.alloc(1024, 'x');
      const delivered: [number, number][] = [];
      const start = performance.now();
      const elapsed = () => (performance.now() - start) / 1000;
      const errors: string[] = [];
      const worker = async () => {
        while (elapsed() < SECONDS) {
          try {
            await producer.send({ acks: ProduceAcks.LEADER, messages: Array.from({ length: 16 }, () => ({ topic: TOPIC, partition: 0, value })) });
            delivered.push([elapsed(), 16 * value.length]);
          } catch (error) {
            errors.push(String(error));
            return;
          }
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
      delivered.sort((x, y) => x[0] - y[0]);

      const rate = deliveredRate({ delivered, throttles: [], statsThrottleMaxMs: 0, errors }, ...MEASURED);
      const perSecond = Array.from({ length: SECONDS }, (_, i) => Math.round(delivered.filter(([at]) => at >= i && at < i + 1).reduce((n, [, bytes]) => n + bytes, 0) / 1024));
      t.diagnostic(`${Math.round(rate)} B/s against a quota of ${QUOTA} (${((rate / QUOTA - 1) * 100).toFixed(1)}%); KiB per second: ${perSecond.join(' ')}`);
      t.diagnostic(`${throttles.filter((ms) => ms > 0).length} of ${throttles.length} Produce responses throttled, largest ${Math.max(0, ...throttles)} ms`);

      assert.deepEqual(errors, [], 'never failed or closed: held by the mute');
      assert.ok(Math.abs(rate / QUOTA - 1) <= 0.15, `the rate ${Math.round(rate)} B/s is within 15% of ${QUOTA}`);
      assert.ok(throttles.some((ms) => ms > 0), 'Produce responses carried throttle_time_ms > 0');
    } finally {
      api.unsubscribe(onResponse);
      await producer.close();
      await admin.close();
    }
  });
});
