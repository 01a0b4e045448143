import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { MaskingRegistry } from '../../src/governance/masking/registry.js';
import { AdminServer } from '../../src/metrics/admin-server.js';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../src/protocol/acl.js';
import { Fetch } from '../../src/protocol/messages/fetch.js';
import { Produce } from '../../src/protocol/messages/produce.js';
import { splitBatches } from '../../src/records/batch.js';
import { buildBatch, readRecords } from '../../src/records/record.js';
import type { SecurityEvent } from '../../src/security/events.js';
import type { Authorizer } from '../../src/security/types.js';
import { recordMasking } from '../../src/server/stages/record-masking.js';
import { MetadataStore } from '../../src/storage/metadata-store.js';
import { fails, ok, parapet } from '../helpers/admin-cli.js';
import { recordingLogger } from '../helpers/broker.js';
import { connect, createTopic } from '../helpers/client.js';
import { startSecureBroker } from '../helpers/secure-broker.js';

/**
 * `parapet mask add|list|remove` against the admin endpoint's masking routes (src/metrics/admin-masking.ts)
 * and the effect on the next fetch of a broker whose masking stage reads the same registry. The broker
 * wires the routes itself (src/broker/broker.ts); here an AdminServer is built with them, its guard
 * checking the bearer token and, for SCRAM users, the passwords this test knows.
 */

const TOKEN = 'masking-test-bearer-token-0123456789';
const CARD = '4111111111111234';

interface Endpoint {
  readonly url: string;
  readonly tokenFile: string;
  readonly events: SecurityEvent[];
  /** Properties of carol, who may DESCRIBE the CLUSTER but not ALTER it. */
  readonly carol: string;
}

async function endpoint(t: TestContext, registry: MaskingRegistry): Promise<Endpoint> {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-cli-mask-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
  chmodSync(tokenFile, 0o600);
  const carol = join(dir, 'carol.properties');
  writeFileSync(carol, 'bootstrap.servers=127.0.0.1:1\nsecurity.protocol=SASL_PLAINTEXT\nsasl.mechanisms=SCRAM-SHA-512\nsasl.username=carol\nsasl.password=carol-password-1\n', { mode: 0o600 });
  const events: SecurityEvent[] = [];
  // carol may look (DESCRIBE) but not change (ALTER): the CLUSTER ACLs the guard asks about.
  const authorizer: Authorizer = { authorize: (r) => r.principal === 'User:carol' && r.operation === AclOperation.DESCRIBE, authorizeAny: () => false };
  const server = new AdminServer({
    config: { enabled: true, host: '127.0.0.1', port: 0, bearerToken: `\${file:${tokenFile}}` },
    metrics: { metrics: () => Promise.resolve(''), contentType: 'text/plain' },
    checks: () => [],
    logger: recordingLogger(),
    routes: {
      guard: { verifyPassword: (user, password) => Promise.resolve(user === 'carol' && password === 'carol-password-1' ? 'User:carol' : null), authorizer, events: { emit: (e) => events.push(e) }, ratePerSecond: 1000 },
      masking: { registry },
    },
  });
  await server.start();
  t.after(() => server.close());
  return { url: server.url ?? '', tokenFile, events, carol };
}

describe('parapet mask', () => {
  it('add, list and remove through the admin endpoint; the next fetch follows; refusals explained; audited', async (t) => {
    const storeDir = mkdtempSync(join(tmpdir(), 'parapet-cli-mask-store-'));
    const store = new MetadataStore(storeDir);
    t.after(() => {
      store.close();
      rmSync(storeDir, { recursive: true, force: true });
    });
    const registry = new MaskingRegistry({
      config: { principalGroups: { auditors: ['User:bob'] }, policies: [{ name: 'from-config', topics: ['config-only'], fields: [{ path: 'x', rule: 'mask' }] }] },
      store: store.masking,
      secret: Buffer.alloc(32, 1),
    });
    const b = await startSecureBroker(t, {
      users: { alice: 'alice-password-1' },
      acls: [{ resourceType: ResourceType.TOPIC, resourceName: 'payments', patternType: PatternType.LITERAL, principal: 'User:alice', host: '*', operation: AclOperation.READ, permission: AclPermissionType.ALLOW }],
      deps: { stages: [recordMasking({ policies: () => registry.current() })] },
    });
    const e = await endpoint(t, registry);
    const as = ['--admin-url', e.url, '--bearer-token-file', e.tokenFile];

    await createTopic(b.adminProperties, 'payments');
    const admin = await connect(b.adminProperties);
    t.after(() => {
      admin.close();
    });
    const produced = await admin.request(Produce, { transactionalId: null, acks: -1, timeoutMs: 10_000, topicData: [{ name: 'payments', partitionData: [{ index: 0, records: await buildBatch({ records: [{ value: JSON.stringify({ card: { number: CARD }, name: 'Ann' }) }] }) }] }] }, 8);
    assert.equal(produced.responses[0]?.partitionResponses[0]?.errorCode, 0);
    const alice = await connect(b.clientConfig('alice', 'alice-password-1'));
    t.after(() => {
      alice.close();
    });
    const aliceReads = async (): Promise<unknown> => {
      const body = await alice.request(Fetch, { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic: 'payments', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: '' }, 12);
      const [batch] = splitBatches(body.responses[0]?.partitions[0]?.records ?? Buffer.alloc(0));
      assert.ok(batch !== undefined);
      return JSON.parse((await readRecords(batch))[0]?.value?.toString() ?? 'null');
    };
    assert.deepEqual(await aliceReads(), { card: { number: CARD }, name: 'Ann' }, 'no policy yet');

    const added = ok(await parapet(['mask', 'add', 'cards', ...as, '--topic', 'payments', '--field', 'card.number=keep-last:4', '--field', 'name=redact', '--exempt', 'Group:auditors']));
    assert.match(added, /added masking policy cards: card\.number=keep-last:4, name=redact on payments, for everyone except Group:auditors; in force from the next fetch/);
    assert.deepEqual(await aliceReads(), { card: { number: '************1234' } }, 'the next fetch is masked');

    const listed = ok(await parapet(['mask', 'list', ...as]));
    assert.match(listed, /^NAME\s+SOURCE\s+TOPICS\s+APPLIES TO\s+EXEMPT\s+FIELDS/m);
    assert.match(listed, /^cards\s+cli \(User:admin-endpoint-token\)\s+payments\s+everyone\s+Group:auditors\s+card\.number=keep-last 4 name=redact$/m);
    assert.match(listed, /^from-config\s+config\s+config-only\s+everyone\s+-\s+x=mask$/m);
    const json = JSON.parse(ok(await parapet(['mask', 'list', ...as, '--json']))) as { policies: { name: string }[]; principalGroups: Record<string, string[]> };
    assert.deepEqual(json.policies.map((p) => p.name), ['from-config', 'cards']);
    assert.deepEqual(json.principalGroups, { auditors: ['User:bob'] });

    fails(await parapet(['mask', 'add', 'cards', ...as, '--topic', 'payments', '--field', 'a=mask']), 1, /a masking policy named cards exists: remove it first/);
    fails(await parapet(['mask', 'add', 'bad', ...as, '--topic', 'payments', '--field', 'a[0]=blur']), 1, /indexes and filters are not supported.*unknown rule "blur"/);
    fails(await parapet(['mask', 'add', 'nogroup', ...as, '--topic', 'payments', '--field', 'a=mask', '--exempt', 'Group:nope']), 1, /Group:nope: no such group/);
    fails(await parapet(['mask', 'add', 'x', ...as, '--field', 'a=mask']), 2, /give the topics/);
    fails(await parapet(['mask', 'add', 'x', ...as, '--topic', 't', '--field', 'nothing']), 2, /--field is PATH=RULE/);
    fails(await parapet(['mask', 'remove', 'from-config', ...as]), 1, /declared in the config file/);

    // carol authenticates with SCRAM credentials (HTTP Basic): DESCRIBE lets her list, not change.
    ok(await parapet(['mask', 'list', '--admin-url', e.url, '--client-config', e.carol]));
    fails(await parapet(['mask', 'remove', 'cards', '--admin-url', e.url, '--client-config', e.carol]), 1, /needs ALTER on the CLUSTER/);

    assert.match(ok(await parapet(['mask', 'remove', 'cards', ...as])), /removed masking policy cards/);
    assert.deepEqual(await aliceReads(), { card: { number: CARD }, name: 'Ann' }, 'removed: the next fetch is clear again');
    fails(await parapet(['mask', 'remove', 'cards', ...as]), 1, /no masking policy named "cards"/);

    const audited = e.events.flatMap((ev) => (ev.type === 'admin-request' ? [`${ev.method} ${ev.path} ${ev.status}`] : []));
    assert.ok(audited.includes('POST /v1/masking/policies 201'));
    assert.ok(audited.includes('DELETE /v1/masking/policies/cards 200'));
    assert.ok(audited.includes('DELETE /v1/masking/policies/cards 403'));
    assert.ok(audited.includes('POST /v1/masking/policies 409'));
    assert.ok(!JSON.stringify(e.events).includes(TOKEN), 'the token is never in the trail');
  });
});
