import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fails, ok, parapet } from '../helpers/admin-cli.js';
import { startBroker } from '../helpers/broker.js';
import type { TopicPolicy } from '../../src/topics/topic-policies.js';
import { python } from './support.js';

/**
 * Topic policies (issue 18, item 4) through real admin clients: each rule kind refuses its violation
 * with POLICY_VIOLATION (44) and a message naming the policy, as confluent-kafka's AdminClient reports
 * it (CreateTopics with and without validate_only, CreatePartitions, AlterConfigs), and as `parapet
 * topic alter` reports IncrementalAlterConfigs (confluent-kafka 1.7 cannot send it); compliant requests pass.
 */

const POLICIES: TopicPolicy[] = [
  { name: 'orders-partitions', topics: 'orders.*', partitions: { min: 3, max: 12 } },
  { name: 'lower-case-names', topics: '*', namePattern: '^[a-z][a-z0-9._-]*$' },
  { name: 'logs-retention', topics: 'logs.*', retentionMs: { min: 3_600_000, max: 604_800_000 } },
  { name: 'pii-encrypted', topics: '*', tags: ['pii', 'pci'], requireEncryption: true },
];

/** Every step's outcome: [label, error code or 0, message]. */
const SCRIPT = `
import json, sys
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic, NewPartitions, ConfigResource
cfg = json.load(sys.stdin)
admin = AdminClient({'bootstrap.servers': cfg['bootstrap']})
out = []
def outcome(label, futures):
    for _, f in futures.items():
        try:
            f.result(10)
            out.append([label, 0, ''])
        except KafkaException as e:
            err = e.args[0]
            out.append([label, err.code(), err.str()])
def create(label, name, n, config={}, validate_only=False):
    outcome(label, admin.create_topics([NewTopic(name, n, 1, config=config)], validate_only=validate_only))
create('partitions-low', 'orders.eu', 1)
create('partitions-low-validate-only', 'orders.eu', 1, validate_only=True)
create('partitions-ok', 'orders.eu', 3)
create('name', 'Orders_EU', 1)
create('retention-long', 'logs.app', 1, {'retention.ms': '-1'})
create('retention-ok', 'logs.app', 1, {'retention.ms': '86400000'})
create('encryption-tagged', 'customers', 1, {'tags': 'pii', 'encryption': 'none'})
create('encryption-untagged-ok', 'scratch', 1, {'encryption': 'none'})
create('tagged-ok', 'customers', 1, {'tags': 'pii'})
outcome('add-partitions-high', admin.create_partitions([NewPartitions('orders.eu', 13)]))
outcome('add-partitions-ok', admin.create_partitions([NewPartitions('orders.eu', 6)]))
outcome('alter-retention-short', admin.alter_configs([ConfigResource('topic', 'logs.app', set_config={'retention.ms': '60000'})]))
outcome('alter-retention-ok', admin.alter_configs([ConfigResource('topic', 'logs.app', set_config={'retention.ms': '7200000'})]))
md = admin.list_topics(timeout=10)
out.append(['partitions', len(md.topics['orders.eu'].partitions), ''])
out.append(['topics', 0, ','.join(sorted(t for t in md.topics if not t.startswith('__')))])
print(json.dumps(out))
`;

describe('topic policies through real admin clients', () => {
  it('each rule refuses its violation with POLICY_VIOLATION naming the policy; compliant requests pass', async (t) => {
    const { bootstrap } = await startBroker(t, { topicPolicies: POLICIES });
    const steps = JSON.parse(await python(SCRIPT, { input: JSON.stringify({ bootstrap }), timeoutMs: 30_000 })) as [string, number, string][];
    const got = new Map(steps.map(([label, code, message]) => [label, { code, message }]));
    const refused = (label: string, message: RegExp) => {
      assert.equal(got.get(label)?.code, 44, `${label}: ${JSON.stringify(got.get(label))}`);
      assert.match(got.get(label)?.message ?? '', message, label);
    };
    refused('partitions-low', /^topic policy "orders-partitions": orders\.eu would have 1 partitions; allowed: 3 to 12$/);
    refused('partitions-low-validate-only', /^topic policy "orders-partitions"/);
    refused('name', /^topic policy "lower-case-names": topic name Orders_EU does not match/);
    refused('retention-long', /^topic policy "logs-retention": retention\.ms=-1 \(forever\) is not allowed: 3600000 ms to 604800000 ms$/);
    refused('encryption-tagged', /^topic policy "pii-encrypted": encryption=none is not allowed for topics tagged pii or pci/);
    refused('add-partitions-high', /^topic policy "orders-partitions": orders\.eu would have 13 partitions/);
    refused('alter-retention-short', /^topic policy "logs-retention": retention\.ms=60000 is not allowed/);
    for (const label of ['partitions-ok', 'retention-ok', 'encryption-untagged-ok', 'tagged-ok', 'add-partitions-ok', 'alter-retention-ok']) {
      assert.deepEqual(got.get(label), { code: 0, message: '' }, label);
    }
    assert.equal(got.get('partitions')?.code, 6);
    assert.equal(got.get('topics')?.message, 'customers,logs.app,orders.eu,scratch');

    // IncrementalAlterConfigs, through the CLI: the tagged topic cannot be set to clear text.
    const dir = mkdtempSync(join(tmpdir(), 'parapet-policies-'));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const file = join(dir, 'admin.properties');
    writeFileSync(file, `bootstrap.servers=${bootstrap}\nsecurity.protocol=PLAINTEXT\n`, { mode: 0o600 });
    fails(
      await parapet(['topic', 'alter', 'customers', '--config', 'encryption=none', '--client-config', file]),
      1,
      /^parapet: alter configs of topic "customers" failed: POLICY_VIOLATION \(44\): topic policy "pii-encrypted": encryption=none is not allowed/,
    );
    ok(await parapet(['topic', 'alter', 'customers', '--config', 'retention.ms=86400000', '--client-config', file]));
    // CreateTopics through the CLI, as docs/governance/topic-policies.md shows it.
    fails(
      await parapet(['topic', 'create', 'orders.us', '--partitions', '1', '--client-config', file]),
      1,
      /^parapet: create topic "orders\.us" failed: POLICY_VIOLATION \(44\): topic policy "orders-partitions": orders\.us would have 1 partitions; allowed: 3 to 12\n$/,
    );
    ok(await parapet(['topic', 'create', 'orders.us', '--partitions', '3', '--client-config', file]));
  });
});
