import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it, type TestContext } from 'node:test';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import {
  AlterUserScramCredentials,
  CreateAcls,
  CreateTopics,
  DescribeConfigs,
  DescribeGroups,
  Fetch,
  FindCoordinator,
  InitProducerId,
  JoinGroup,
  ListOffsets,
  Metadata,
  OffsetCommit,
  OffsetFetch,
  Produce,
} from '../../src/protocol/messages/index.js';
import { buildBatchSync } from '../../src/records/record.js';
import { connect, LatencyProbe, startBrokerProcess, type BrokerProcess } from './attack-support.js';

/**
 * Names (docs/security/limits.md, "Names"): V8 hashes strings of more than 16,383 characters by their
 * length alone, so Map and Set keys made of long names collide, and each lookup compares them all. A
 * request naming many long names must be refused by name before any lookup, with Kafka's error code
 * per item, at no cost to other clients. The attacker needs no ACL: names are checked before authorization.
 */

const TOPICS = 1500;
const NAME_LENGTH = 17_000;
const ATTACKER = fileURLToPath(new URL('./name-attacker.js', import.meta.url));

/** User and system CPU time of a process, from /proc (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Runs name-attacker.ts as its own process (see there why) and returns what it reports. */
async function runAttacker(input: object): Promise<{ ms: number; count: number; codes: number[] }> {
  const child = spawn(process.execPath, [ATTACKER], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  child.stdin.end(JSON.stringify(input));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`the attacker exited with ${String(code)}: ${err}`);
  return JSON.parse(out) as { ms: number; count: number; codes: number[] };
}

async function brokerWithMallory(t: TestContext): Promise<{ broker: BrokerProcess; mallory: KafkaConnection; probe: LatencyProbe }> {
  const broker = await startBrokerProcess(t);
  await (await broker.admin()).createTopic('probe', 1);
  const probe = await LatencyProbe.open(t, broker.adminConfig, 'probe');
  // No ACL at all: every name below is refused before the authorizer would be asked.
  const mallory = await connect(t, await broker.addUser('mallory', 'mallory-password-1'), 'mallory');
  return { broker, mallory, probe };
}

describe('long names', () => {
  it('a Metadata request naming 1,500 distinct 17,000-character topics is answered with 17 each, and nobody waits', async (t) => {
    const broker = await startBrokerProcess(t);
    await (await broker.admin()).createTopic('probe', 1);
    const probe = await LatencyProbe.open(t, broker.adminConfig, 'probe');
    const mallory = await broker.addUser('mallory', 'mallory-password-1');
    const baseline = await probe.median(9);

    const cpuBefore = cpuMs(broker.pid);
    const attacker = runAttacker({ config: { ...mallory, sasl: { mechanism: 'SCRAM-SHA-512', username: 'mallory', password: 'mallory-password-1' } }, topics: TOPICS, length: NAME_LENGTH });
    const attack = { answered: false };
    void attacker.finally(() => {
      attack.answered = true;
    });
    // The probe keeps asking while the attack is in flight: its answers are what others waited.
    const during: number[] = [];
    while (!attack.answered || during.length < 5) during.push(await probe.metadataMs());
    const result = await attacker;
    const brokerCpuMs = cpuMs(broker.pid) - cpuBefore;

    assert.equal(result.count, TOPICS);
    assert.deepEqual(result.codes, [ErrorCode.INVALID_TOPIC_EXCEPTION]);
    const sorted = [...during].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
    const worst = sorted.at(-1) ?? Number.NaN;
    t.diagnostic(
      `baseline metadata ${baseline.metadataMs.toFixed(1)} ms; during the attack: median ${median.toFixed(1)} ms, worst ${worst.toFixed(1)} ms ` +
        `over ${during.length}; attack answered in ${result.ms.toFixed(0)} ms; broker CPU ${brokerCpuMs} ms`,
    );
    assert.ok(median <= Math.max(2 * baseline.metadataMs, baseline.metadataMs + 50), `probe median ${median} ms vs baseline ${baseline.metadataMs} ms`);
    // Before the name stage this request cost the broker 14-30 s of CPU, and the probe waited as long.
    // What is left is reading 25 MB of names and echoing them back (Kafka's answer names each topic),
    // whose TLS encryption takes a few hundred ms on a busy 2-core machine, as any 25 MB response would.
    assert.ok(brokerCpuMs < 5000, `the attack cost the broker ${brokerCpuMs} ms of CPU`);
    assert.ok(worst < 5000, `the probe waited ${worst} ms`);
  });

  it('long names in every other place are refused with the code Kafka clients expect, before authorization', async (t) => {
    const { mallory } = await brokerWithMallory(t);
    const long = 'x'.repeat(NAME_LENGTH);

    const produce = await mallory.request(Produce, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 1000,
      topicData: [{ name: long, partitionData: [{ index: 0, records: buildBatchSync({ records: [{ value: 'v' }] }) }] }],
    });
    assert.equal(produce.responses[0]?.partitionResponses[0]?.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    const txnProduce = await mallory.request(Produce, {
      transactionalId: long,
      acks: 1,
      timeoutMs: 1000,
      topicData: [{ name: 'probe', partitionData: [{ index: 0, records: buildBatchSync({ records: [{ value: 'v' }] }) }] }],
    });
    assert.equal(txnProduce.responses[0]?.partitionResponses[0]?.errorCode, ErrorCode.INVALID_REQUEST);

    const fetch = await mallory.request(Fetch, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: long, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1024 }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
    assert.equal(fetch.responses[0]?.partitions[0]?.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    const offsets = await mallory.request(ListOffsets, { replicaId: -1, isolationLevel: 0, topics: [{ name: long, partitions: [{ partitionIndex: 0, timestamp: -1n }] }] });
    assert.equal(offsets.topics[0]?.partitions[0]?.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);

    const group = 'g'.repeat(256);
    const commit = await mallory.request(OffsetCommit, {
      groupId: group,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [{ name: 'probe', partitions: [{ partitionIndex: 0, committedOffset: 0n, committedMetadata: null }] }],
    });
    assert.equal(commit.topics[0]?.partitions[0]?.errorCode, ErrorCode.INVALID_GROUP_ID);
    assert.equal((await mallory.request(OffsetFetch, { groups: [{ groupId: long, topics: null }], requireStable: false })).groups?.[0]?.errorCode, ErrorCode.INVALID_GROUP_ID);
    const coordinator = await mallory.request(FindCoordinator, { keyType: 0, coordinatorKeys: [long] });
    assert.equal(coordinator.coordinators?.[0]?.errorCode, ErrorCode.INVALID_GROUP_ID);
    const txnCoordinator = await mallory.request(FindCoordinator, { keyType: 1, coordinatorKeys: ['t'.repeat(1025)] });
    assert.equal(txnCoordinator.coordinators?.[0]?.errorCode, ErrorCode.INVALID_REQUEST);
    const join = (fields: object) =>
      mallory.request(JoinGroup, {
        groupId: 'g',
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 10_000,
        memberId: '',
        groupInstanceId: null,
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
        reason: null,
        ...fields,
      });
    assert.equal((await join({ groupId: long })).errorCode, ErrorCode.INVALID_GROUP_ID);
    assert.equal((await join({ memberId: long })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await join({ groupInstanceId: 'host:1' })).errorCode, ErrorCode.INVALID_CONFIG);
    assert.equal((await join({ protocols: [{ name: long, metadata: Buffer.alloc(0) }] })).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const described = await mallory.request(DescribeGroups, { groups: [long], includeAuthorizedOperations: false });
    assert.equal(described.groups[0]?.errorCode, ErrorCode.INVALID_GROUP_ID);
    assert.equal((await mallory.request(InitProducerId, { transactionalId: long, transactionTimeoutMs: 1000 })).errorCode, ErrorCode.INVALID_REQUEST);

    const created = await mallory.request(CreateTopics, { topics: [{ name: long, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
    assert.equal(created.topics[0]?.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    const configs = await mallory.request(DescribeConfigs, { resources: [{ resourceType: 2, resourceName: long, configurationKeys: null }], includeSynonyms: false, includeDocumentation: false });
    assert.equal(configs.results[0]?.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    const acl = await mallory.request(CreateAcls, {
      creations: [{ resourceType: 2, resourceName: long, resourcePatternType: 3, principal: 'User:mallory', host: '*', operation: 2, permissionType: 3 }],
    });
    assert.equal(acl.results[0]?.errorCode, ErrorCode.INVALID_REQUEST);
    const scram = await mallory.request(AlterUserScramCredentials, {
      deletions: [],
      upsertions: [{ name: long, mechanism: 2, iterations: 8192, salt: Buffer.alloc(32), saltedPassword: Buffer.alloc(64) }],
    });
    assert.equal(scram.results[0]?.errorCode, ErrorCode.UNACCEPTABLE_CREDENTIAL);

    // Valid names still reach the authorizer: without an ACL, mallory is denied as before.
    const denied = await mallory.request(Metadata, { topics: [{ name: 'probe' }], allowAutoTopicCreation: false });
    assert.equal(denied.topics[0]?.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  });

  it('the bounds are settings: a long client id is cut to maxClientIdLength, and group ids may reach maxGroupIdLength', async (t) => {
    const broker = await startBrokerProcess(t, { configYaml: 'maxClientIdLength: 100\nmaxGroupIdLength: 300' });
    const admin = await connect(t, broker.adminConfig, `c${'x'.repeat(NAME_LENGTH)}`);
    const join = (groupId: string) =>
      admin.request(JoinGroup, {
        groupId,
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 10_000,
        memberId: '',
        groupInstanceId: null,
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
        reason: null,
      });
    // KIP-394: the first join of a v4+ client is answered with its member id and MEMBER_ID_REQUIRED.
    const first = await join('g'.repeat(300));
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.match(first.memberId, /^cx{99}-[0-9a-f-]{36}$/, 'the member id is built from the cut client id');
    assert.equal((await join('g'.repeat(301))).errorCode, ErrorCode.INVALID_GROUP_ID);
  });
});
