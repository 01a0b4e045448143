import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { IP_ENTITY_MESSAGE, QuotaKeys } from '../../../src/quotas/entities.js';
import { DEFAULT_QUOTA_CONFIG, type QuotaConfig } from '../../../src/quotas/quota-config.js';
import { QuotaManager, type AlterEntry } from '../../../src/quotas/quota-manager.js';
import { MemoryQuotaStore } from '../../../src/quotas/quota-store.js';
import { MetadataStore } from '../../../src/storage/metadata-store.js';

const P = QuotaKeys.PRODUCER_BYTE_RATE;
const NO_DEFAULTS: QuotaConfig = { ...DEFAULT_QUOTA_CONFIG, producerByteRate: 0, consumerByteRate: 0, requestPercentage: 0, controllerMutationRate: 0 };

function manager(config: Partial<QuotaConfig> = {}, clock = { now: 0 }) {
  return new QuotaManager({ config: { ...NO_DEFAULTS, ...config }, store: new MemoryQuotaStore(), now: () => clock.now });
}

const user = (name: string | null) => ({ entityType: 'user', entityName: name });
const client = (name: string | null) => ({ entityType: 'client-id', entityName: name });
const set = (entity: AlterEntry['entity'], value: number, key: string = P): AlterEntry => ({ entity, ops: [{ key, value, remove: false }] });

describe('QuotaManager: Kafka’s precedence of quota entities', () => {
  it('applies the most specific entity set for the key, in Kafka’s documented order', () => {
    const q = manager({ producerByteRate: 9 });
    const levels: [AlterEntry['entity'], number][] = [
      [[client(null)], 8],
      [[client('app')], 7],
      [[user(null)], 6],
      [[user(null), client(null)], 5],
      [[user(null), client('app')], 4],
      [[user('alice')], 3],
      [[user('alice'), client(null)], 2],
      [[user('alice'), client('app')], 1],
    ];
    assert.equal(q.resolve(P, 'alice', 'app')?.limit, 9, 'the config file’s default when nothing is stored');
    assert.equal(q.resolve(P, 'alice', 'app')?.source, 'config default');
    // Set from the least to the most specific: each one takes over.
    for (const [entity, value] of levels) {
      assert.deepEqual(q.alter([set(entity, value)], false), [null]);
      assert.equal(q.resolve(P, 'alice', 'app')?.limit, value, JSON.stringify(entity));
    }
    assert.equal(q.resolve(P, 'alice', 'app')?.source, 'user=alice client-id=app');
    assert.equal(q.resolve(P, 'bob', 'app')?.limit, 4, 'bob: /users/<default>/clients/app');
    assert.equal(q.resolve(P, 'bob', 'other')?.limit, 5);
    // Per key: a user’s produce quota does not hide the default of another key.
    assert.equal(q.resolve(QuotaKeys.CONSUMER_BYTE_RATE, 'alice', 'app'), null);
  });

  it('shares a measure per user under a user entity, and per (user, client) under a client default', () => {
    const q = manager();
    q.alter([set([user(null)], 1000)], false);
    assert.notEqual(q.resolve(P, 'alice', 'a')?.measure, q.resolve(P, 'bob', 'a')?.measure, 'each user its own');
    assert.equal(q.resolve(P, 'alice', 'a')?.measure, q.resolve(P, 'alice', 'b')?.measure, 'one user’s clients share');
    q.alter([set([user('alice'), client(null)], 1000)], false);
    assert.notEqual(q.resolve(P, 'alice', 'a')?.measure, q.resolve(P, 'alice', 'b')?.measure, 'each client of alice its own');
  });

  it('throttles the user over its rate and not another user, with its own measure', () => {
    const clock = { now: 0 };
    const q = manager({ producerByteRate: 1000 }, clock);
    assert.equal(q.record(P, 'alice', 'c', 10_000), 0, '10,000 B over the 10 s minimum window: at the quota');
    assert.equal(q.record(P, 'alice', 'c', 10_000), 10_000);
    assert.equal(q.record(P, 'bob', 'c', 5000), 0);
  });

  it('keeps at most maxTrackedClients measures, forgetting the least recently used', () => {
    const q = manager({ producerByteRate: 1000, maxTrackedClients: 100 });
    for (let i = 0; i < 1000; i++) q.record(P, `u${i}`, 'c', 1);
    assert.equal(q.trackedMeasures, 100);
  });

  it('measures nothing when quotas are off', () => {
    const q = manager({ enabled: false, producerByteRate: 1 });
    assert.equal(q.record(P, 'alice', 'c', 1e9), 0);
    assert.equal(q.mutations('alice', 'c').debtMs(), 0);
  });
});

describe('QuotaManager: AlterClientQuotas and DescribeClientQuotas', () => {
  it('refuses what Kafka refuses, per entry, and applies the rest', () => {
    const q = manager();
    const outcomes = q.alter(
      [
        set([user('alice')], 1000),
        set([{ entityType: 'ip', entityName: '10.0.0.1' }], 5, 'connection_creation_rate'),
        set([user('bob')], 10.5),
        set([user('bob')], -1, QuotaKeys.REQUEST_PERCENTAGE),
        set([user('bob')], 1, 'no_such_key'),
        set([user('a'), user('b')], 1),
        set([{ entityType: 'group', entityName: 'g' }], 1),
        set([], 1),
        { entity: [user('carol')], ops: [{ key: P, value: 1, remove: false }, { key: P, value: 2, remove: false }] },
      ],
      false,
    );
    assert.equal(outcomes[0], null);
    assert.deepEqual(outcomes[1], { errorCode: 'INVALID_REQUEST', message: IP_ENTITY_MESSAGE });
    assert.match(outcomes[2]?.message ?? '', /whole number/);
    assert.match(outcomes[3]?.message ?? '', /positive/);
    assert.match(outcomes[4]?.message ?? '', /unknown quota key "no_such_key"/);
    assert.match(outcomes[5]?.message ?? '', /user type twice/);
    assert.match(outcomes[6]?.message ?? '', /unknown quota entity type "group"/);
    assert.match(outcomes[7]?.message ?? '', /names no entity type/);
    assert.match(outcomes[8]?.message ?? '', /named twice/);
    const all = q.describe([], false);
    assert.deepEqual(all.ok ? all.entries : null, [{ entity: [{ entityType: 'user', entityName: 'alice' }], values: [{ key: P, value: 1000 }] }]);
  });

  it('validateOnly checks and stores nothing; removing the last key removes the entity', () => {
    const q = manager();
    assert.deepEqual(q.alter([set([user('alice')], 1000)], true), [null]);
    assert.equal(q.resolve(P, 'alice', 'c'), null);
    q.alter([set([user('alice')], 1000)], false);
    q.alter([{ entity: [user('alice')], ops: [{ key: P, value: 0, remove: true }] }], false);
    const all = q.describe([], false);
    assert.deepEqual(all.ok ? all.entries : null, []);
  });

  it('keeps at most maxEntities entities: a new one beyond is a policy violation', () => {
    const q = manager({ maxEntities: 2 });
    const outcomes = q.alter([set([user('a')], 1), set([user('b')], 1), set([user('c')], 1), set([user('a')], 2)], false);
    assert.equal(outcomes[2]?.errorCode, 'POLICY_VIOLATION');
    assert.equal(outcomes[3], null, 'changing a stored entity is always possible');
  });

  it('filters as Kafka does: exact, default, any; strict leaves out entities with other types', () => {
    const q = manager();
    q.alter([set([user('alice')], 1), set([user(null)], 2), set([user('alice'), client('app')], 3), set([client('app')], 4)], false);
    const names = (components: Parameters<QuotaManager['describe']>[0], strict: boolean) => {
      const r = q.describe(components, strict);
      assert.ok(r.ok);
      return r.entries.map((e) => e.entity.map((c) => `${c.entityType}=${c.entityName ?? '<default>'}`).join(','));
    };
    assert.deepEqual(names([{ entityType: 'user', matchType: 0, match: 'alice' }], false).sort(), ['user=alice', 'user=alice,client-id=app']);
    assert.deepEqual(names([{ entityType: 'user', matchType: 0, match: 'alice' }], true), ['user=alice']);
    assert.deepEqual(names([{ entityType: 'user', matchType: 1, match: null }], false), ['user=<default>']);
    assert.deepEqual(names([{ entityType: 'user', matchType: 2, match: null }], true).sort(), ['user=<default>', 'user=alice']);
    assert.deepEqual(names([{ entityType: 'client-id', matchType: 2, match: null }], true), ['client-id=app']);
    assert.equal(q.describe([{ entityType: 'user', matchType: 0, match: null }], false).ok, false);
    assert.equal(q.describe([{ entityType: 'user', matchType: 7, match: null }], false).ok, false);
  });

  it('persists in the metadata store: a reopened broker applies the same quotas', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-quota-'));
    t.after(() => { rmSync(dir, { recursive: true, force: true }); });
    const store = new MetadataStore(dir);
    new QuotaManager({ config: NO_DEFAULTS, store }).alter([set([user('alice'), client(null)], 4096), set([client('we"ird\u0001')], 7)], false);
    store.close();
    const again = new MetadataStore(dir);
    t.after(() => { again.close(); });
    const q = new QuotaManager({ config: NO_DEFAULTS, store: again });
    assert.equal(q.resolve(P, 'alice', 'any')?.limit, 4096);
    assert.equal(q.resolve(P, 'bob', 'we"ird\u0001')?.limit, 7);
  });
});
