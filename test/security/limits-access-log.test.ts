import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readClientConfig } from '../../src/client/client-config.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { Metadata } from '../../src/protocol/messages/index.js';
import { DEFAULT_ACCESS_LOG_CONFIG } from '../../src/security/access-log/access-log-config.js';
import { startSecureBroker } from '../helpers/secure-broker.js';
import { appAcls } from '../interop/security-support.js';
import { connect } from './attack-support.js';

/**
 * The access log's bounds under attack (docs/security/least-privilege.md#its-bounds): a client naming
 * thousands of topics that do not exist makes a row of each denied name; it keeps at most
 * maxEntriesPerPrincipal of them, the rest are dropped and counted, and another principal's
 * observations are untouched.
 */

const USERS = { alice: 'alice-access-log-pw-1', mallory: 'mallory-access-log-pw-1' };
const PER_PRINCIPAL = 50;

interface AccessAnswer {
  dropped: number;
  entries: { principal: string; resourceName: string; allowed: boolean; count: number }[];
}

describe('the access log under a client naming endless resources', () => {
  it('keeps at most maxEntriesPerPrincipal rows of the attacker, counts what it drops, and keeps the others’ rows', async (t) => {
    const b = await startSecureBroker(t, {
      users: USERS,
      acls: appAcls('User:alice', 'orders', 'g'),
      broker: { accessLog: { ...DEFAULT_ACCESS_LOG_CONFIG, maxEntriesPerPrincipal: PER_PRINCIPAL, flushIntervalMs: 200 } },
    });
    const alice = await connect(t, readClientConfig(b.clientConfig('alice', USERS.alice)));
    const seen = await alice.request(Metadata, { topics: [{ name: 'orders' }], allowAutoTopicCreation: false });
    assert.equal(seen.topics[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'allowed to describe, not created');

    const mallory = await connect(t, readClientConfig(b.clientConfig('mallory', USERS.mallory)));
    const NAMES = 2000;
    for (let i = 0; i < NAMES; i += 100) {
      const topics = Array.from({ length: 100 }, (_, j) => ({ name: `guess-${i + j}` }));
      const answer = await mallory.request(Metadata, { topics, allowAutoTopicCreation: false });
      assert.ok(answer.topics.every((x) => x.errorCode === ErrorCode.TOPIC_AUTHORIZATION_FAILED));
    }

    const url = b.broker.adminUrl ?? '';
    const headers = { authorization: `Basic ${Buffer.from(`admin:${b.adminPassword}`).toString('base64')}` };
    const read = async (principal: string) => (await (await fetch(`${url}/v1/access?principal=${principal}`, { headers })).json()) as AccessAnswer;
    const attacker = await read('User:mallory');
    assert.equal(attacker.entries.length, PER_PRINCIPAL);
    assert.ok(attacker.entries.every((e) => !e.allowed && e.resourceName.startsWith('guess-')));
    assert.equal(attacker.dropped, NAMES - PER_PRINCIPAL);
    const victim = await read('User:alice');
    assert.deepEqual(
      victim.entries.map((e) => [e.resourceName, e.allowed, e.count]),
      [['orders', true, 1]],
    );
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, new RegExp(`^parapet_access_log_dropped_total ${NAMES - PER_PRINCIPAL}$`, 'm'));
    const warned = b.logger.entries.filter((e) => e.level === 'warn' && e.msg.startsWith('access log: at its bounds'));
    assert.equal(warned.length, 1, 'one warning, not one per drop');
  });
});
