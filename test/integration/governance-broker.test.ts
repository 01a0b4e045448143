import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../src/protocol/acl.js';
import { Fetch } from '../../src/protocol/messages/fetch.js';
import { Produce } from '../../src/protocol/messages/produce.js';
import { splitBatches } from '../../src/records/batch.js';
import { buildBatch, readRecords, type BatchRecord } from '../../src/records/record.js';
import { readWireFormat, writeWireFormat } from '../../src/schemas/wire-format.js';
import type { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ok, parapet } from '../helpers/admin-cli.js';
import { connect, createTopic } from '../helpers/client.js';
import { startSecureBroker } from '../helpers/secure-broker.js';

/**
 * Data governance as a broker wires it (src/broker/broker.ts), no stage injected: masking policies from
 * the config file and from `parapet mask` against the broker's own admin endpoint, wire-format records
 * masked through a schema registered in the broker's own registry, for one principal and not another.
 */

const CARD = '4111111111111234';
const SCHEMA = { type: 'object', properties: { card: { type: 'object', properties: { number: { type: 'string' } } }, email: { type: 'string' }, name: { type: 'string' } } };

const grant = (user: string, operation: AclOperation) => ({ resourceType: ResourceType.TOPIC, resourceName: 'cards', patternType: PatternType.PREFIXED, principal: `User:${user}`, host: '*', operation, permission: AclPermissionType.ALLOW });

async function readAll(conn: KafkaConnection, topic: string): Promise<BatchRecord[]> {
  const body = await conn.request(Fetch, { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: '' }, 12);
  const p = body.responses[0]?.partitions[0];
  assert.equal(p?.errorCode, 0);
  const out: BatchRecord[] = [];
  for (const batch of splitBatches(p.records ?? Buffer.alloc(0))) out.push(...(await readRecords(batch)));
  return out;
}

/** A record's value as JSON, behind its wire-format header when it has one. */
function json(record: BatchRecord | undefined): unknown {
  const value = record?.value ?? assert.fail('no value');
  const framed = readWireFormat(value);
  return JSON.parse((framed.kind === 'framed' ? framed.payload : value).toString('utf8'));
}

describe('data governance in a broker', () => {
  it('masks for alice and not for bob, from the config file, through the registry, and from parapet mask', async (t) => {
    const b = await startSecureBroker(t, {
      users: { alice: 'alice-password-1', bob: 'bob-password-1' },
      acls: ['alice', 'bob'].flatMap((u) => [grant(u, AclOperation.READ)]),
      broker: {
        masking: {
          principalGroups: { auditors: ['User:bob'] },
          policies: [{ name: 'cards', topics: ['cards-*'], exempt: ['Group:auditors'], fields: [{ path: 'card.number', rule: 'keep-last 4' }, { path: 'email', rule: 'hash' }] }],
        },
      },
    });
    const url = b.broker.adminUrl ?? assert.fail('no admin endpoint');
    const basic = `Basic ${Buffer.from(`admin:${b.adminPassword}`).toString('base64')}`;
    const registered = await fetch(`${url}/subjects/cards-json-value/versions`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schemaType: 'JSON', schema: JSON.stringify(SCHEMA) }),
    });
    assert.equal(registered.status, 200);
    const { id } = (await registered.json()) as { id: number };

    await createTopic(b.adminProperties, 'cards-json');
    const admin = await connect(b.adminProperties);
    const alice = await connect(b.clientConfig('alice', 'alice-password-1'));
    const bob = await connect(b.clientConfig('bob', 'bob-password-1'));
    t.after(() => {
      for (const c of [admin, alice, bob]) c.close();
    });
    const doc = { card: { number: CARD }, email: 'ann@example.com', name: 'Ann' };
    const records = [{ value: writeWireFormat(id, Buffer.from(JSON.stringify(doc))) }, { value: JSON.stringify(doc) }, { value: 'not json' }];
    const produced = await admin.request(Produce, { transactionalId: null, acks: -1, timeoutMs: 10_000, topicData: [{ name: 'cards-json', partitionData: [{ index: 0, records: await buildBatch({ records }) }] }] }, 8);
    assert.equal(produced.responses[0]?.partitionResponses[0]?.errorCode, 0);

    const seenByAlice = await readAll(alice, 'cards-json');
    const hash = (json(seenByAlice[0]) as { email: string }).email;
    assert.match(hash, /^[0-9a-f]{64}$/);
    assert.deepEqual(json(seenByAlice[0]), { card: { number: '************1234' }, email: hash, name: 'Ann' }, 'masked through the registered schema');
    assert.equal(readWireFormat(seenByAlice[0]?.value ?? Buffer.alloc(0)).kind, 'framed', 'still in the wire format, for her deserializer');
    assert.deepEqual(json(seenByAlice[1]), { card: { number: '************1234' }, email: hash, name: 'Ann' }, 'plain JSON masked alike; equal emails hash alike');
    assert.deepEqual(seenByAlice[2]?.value, Buffer.alloc(0), 'what cannot be parsed is masked whole');
    assert.equal(seenByAlice[2].headers.find((h) => h.key === 'parapet.masked')?.value?.toString(), 'not-json');
    const seenByBob = await readAll(bob, 'cards-json');
    assert.deepEqual(json(seenByBob[0]), doc, 'bob is exempt through his group');
    assert.deepEqual(seenByBob[2]?.value?.toString(), 'not json');

    // A policy added with the CLI, against the broker's own endpoint as its admin: applies to the next fetch.
    const as = ['--admin-url', url, '--client-config', b.adminProperties];
    ok(await parapet(['mask', 'add', 'names', ...as, '--topic', 'cards-json', '--field', 'name=redact', '--only', 'User:bob']));
    assert.deepEqual(json((await readAll(bob, 'cards-json'))[0]), { card: { number: CARD }, email: 'ann@example.com' });
    assert.match(ok(await parapet(['mask', 'list', ...as])), /^names\s+cli \(User:admin\)/m);
    ok(await parapet(['mask', 'remove', 'names', ...as]));
    assert.deepEqual(json((await readAll(bob, 'cards-json'))[0]), doc);
  });
});
