import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../src/protocol/acl.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { DescribeGroups, JoinGroup, ListGroups, OffsetCommit, type JoinGroupResponse } from '../../src/protocol/messages/index.js';
import { connect, LatencyProbe, startBrokerProcess } from './attack-support.js';

/**
 * Attacks on the consumer group coordinator (docs/security/limits.md#consumer-groups), each against a
 * broker process with default settings unless stated: the attack is refused with the code the bound
 * documents, the broker's memory and disk stay bounded, and a well-behaved client's latency stays
 * within twice its baseline (or 50 ms more, on a loaded machine).
 */

const MiB = 1024 * 1024;

const allow = (resourceType: ResourceType, resourceName: string, operation: AclOperation) => ({
  resourceType,
  resourceName,
  patternType: PatternType.LITERAL,
  host: '*',
  operation,
  permission: AclPermissionType.ALLOW,
});
/** READ on every group (`*`): the attacker is allowed to use groups, and abuses that. */
const ANY_GROUP = allow(ResourceType.GROUP, '*', AclOperation.READ);

function joinBody(groupId: string, memberId: string, metadata: Buffer, sessionTimeoutMs = 30_000) {
  return { groupId, sessionTimeoutMs, rebalanceTimeoutMs: 30_000, memberId, groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata }], reason: null };
}

/** How many answers carried each error code (a request that failed counts under `failed`). */
function tally(results: readonly PromiseSettledResult<{ errorCode: number }>[]): Map<number | 'failed', number> {
  const counts = new Map<number | 'failed', number>();
  for (const r of results) {
    const key = r.status === 'fulfilled' ? r.value.errorCode : 'failed';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** The probe's medians stay within max(2×, +50 ms) of the baseline's. */
async function assertProbeWithin(probe: LatencyProbe, baseline: { metadataMs: number; produceMs: number }, when: string): Promise<void> {
  const now = await probe.median(7);
  for (const key of ['metadataMs', 'produceMs'] as const) {
    const bound = Math.max(2 * baseline[key], baseline[key] + 50);
    assert.ok(now[key] <= bound, `${when}: ${key} ${now[key].toFixed(1)} ms, baseline ${baseline[key].toFixed(1)} ms`);
  }
}

describe('consumer group limits (docs/security/limits.md#consumer-groups)', () => {
  it('refuses oversized metadata, full groups, too many groups and pending member ids per principal; memory stays bounded', async (t) => {
    const broker = await startBrokerProcess(t);
    const admin = await broker.admin();
    await admin.createTopic('probe', 1);
    const alice = await broker.addUser('alice', 'alice-password-1', [allow(ResourceType.TOPIC, 'probe', AclOperation.WRITE)]);
    const mallory = await broker.addUser('mallory', 'mallory-password-1', [ANY_GROUP]);
    const trudy = await broker.addUser('trudy', 'trudy-password-1', [ANY_GROUP]);
    const eve = await broker.addUser('eve', 'eve-password-1', [ANY_GROUP]);
    const probe = await LatencyProbe.open(t, alice, 'probe');
    const baseline = await probe.median(9);

    // 1. Ten members with 16 MiB of protocol metadata each (before the bounds: all accepted, a 160 MiB
    //    JoinGroup response to the leader, +433 MB of RSS, the probe 100× slower).
    let rssBefore = broker.rssBytes();
    const big = Buffer.alloc(16 * MiB, 7);
    const members = await Promise.all(Array.from({ length: 10 }, (_, i) => connect(t, mallory, `big-${i}`)));
    const ids = await Promise.all(members.map((c) => c.request(JoinGroup, joinBody('big', '', Buffer.alloc(0)))));
    // One at a time: ten 16 MiB requests in flight at once hold 160 MiB of frames whatever the
    // coordinator does (the request size bounds are another section); what is measured here is what
    // the coordinator keeps of them.
    const bigJoins: JoinGroupResponse[] = [];
    for (const [i, c] of members.entries()) bigJoins.push(await c.request(JoinGroup, joinBody('big', ids[i]?.memberId ?? '', big)));
    assert.deepEqual(bigJoins.map((r) => r.errorCode), Array(10).fill(ErrorCode.MESSAGE_TOO_LARGE));
    const inspector = await connect(t, broker.adminConfig, 'inspector');
    const described = await inspector.request(DescribeGroups, { groups: ['big'], includeAuthorizedOperations: false });
    assert.equal(described.groups[0]?.members.length, 0);
    const rssBig = broker.rssBytes() - rssBefore;
    t.diagnostic(`10 × 16 MiB JoinGroup: RSS +${(rssBig / MiB).toFixed(0)} MiB`);
    assert.ok(rssBig < 64 * MiB, `RSS grew ${rssBig / MiB} MiB`);
    for (const c of members) c.close();

    // Within the bounds (1 MiB a member, 4 MiB a group), the leader's response stays under 4 MiB.
    const fits = Buffer.alloc(1_000_000, 3);
    const five = await Promise.all(Array.from({ length: 5 }, (_, i) => connect(t, mallory, `fit-${i}`)));
    const fiveIds = await Promise.all(five.map((c) => c.request(JoinGroup, joinBody('fit', '', Buffer.alloc(0)))));
    const settled = await Promise.all(five.map((c, i) => c.request(JoinGroup, joinBody('fit', fiveIds[i]?.memberId ?? '', fits))));
    assert.deepEqual(settled.map((r) => r.errorCode).sort(), [0, 0, 0, 0, ErrorCode.MESSAGE_TOO_LARGE]);
    const leader = settled.find((r: JoinGroupResponse) => r.members.length > 0);
    const leaderBytes = leader?.members.reduce((sum, m) => sum + m.metadata.length + m.memberId.length, 0) ?? 0;
    assert.ok(leaderBytes > 3_000_000 && leaderBytes < 4 * MiB, `leader response carries ${leaderBytes} bytes`);
    for (const c of five) c.close();

    // 2. Members past group.max.size (1000): pending member ids count, the 1001st gets 81.
    const crowd = await connect(t, mallory, 'crowd');
    const crowdJoins = await Promise.allSettled(Array.from({ length: 1001 }, () => crowd.request(JoinGroup, joinBody('crowd', '', Buffer.from('m')))));
    assert.deepEqual(
      [...tally(crowdJoins)],
      [
        [ErrorCode.MEMBER_ID_REQUIRED, 1000],
        [ErrorCode.GROUP_MAX_SIZE_REACHED, 1],
      ],
    );

    // 3. 20,000 groups by one principal, each kept by a pending member id with a 30-minute session
    //    (before: all 20,000 kept for 30 minutes). The principal holds 1000; the rest get 44.
    rssBefore = broker.rssBytes();
    const many = await connect(t, trudy, 'many');
    const manyJoins: PromiseSettledResult<{ errorCode: number }>[] = [];
    for (let batch = 0; batch < 20; batch++) {
      manyJoins.push(...(await Promise.allSettled(Array.from({ length: 1000 }, (_, i) => many.request(JoinGroup, joinBody(`many-${batch * 1000 + i}`, '', Buffer.from('m'), 1_800_000))))));
    }
    assert.deepEqual(
      [...tally(manyJoins)],
      [
        [ErrorCode.MEMBER_ID_REQUIRED, 1000],
        [ErrorCode.POLICY_VIOLATION, 19_000],
      ],
    );
    const listed = await inspector.request(ListGroups, { statesFilter: [] });
    assert.equal(listed.groups.filter((g) => g.groupId.startsWith('many-')).length, 1000);
    const rssMany = broker.rssBytes() - rssBefore;
    t.diagnostic(`20,000 groups by one principal: RSS +${(rssMany / MiB).toFixed(0)} MiB`);
    assert.ok(rssMany < 64 * MiB, `RSS grew ${rssMany / MiB} MiB`);
    await assertProbeWithin(probe, baseline, 'after 20,000 groups');

    // 4. Pending member ids with 30 KB client ids (before: all kept, RSS +107 MB). Client ids are cut to
    //    maxClientIdLength (255) when the request is read, so what each pending id holds is small; the
    //    principal's memory budget (32 MiB) and groupMaxSize would bound them whatever their size.
    rssBefore = broker.rssBytes();
    const longId = 'x'.repeat(30_000);
    const pending = await connect(t, eve, longId);
    const pendingJoins: PromiseSettledResult<{ errorCode: number }>[] = [];
    for (let batch = 0; batch < 4; batch++) {
      pendingJoins.push(...(await Promise.allSettled(Array.from({ length: 1000 }, (_, i) => pending.request(JoinGroup, joinBody(`eve-${i % 10}`, '', Buffer.from('m'), 1_800_000))))));
    }
    const accepted = tally(pendingJoins).get(ErrorCode.MEMBER_ID_REQUIRED) ?? 0;
    t.diagnostic(`pending member ids with 30 KB client ids accepted: ${accepted} of ${pendingJoins.length}`);
    assert.equal(accepted, 4000, 'cut to 255 characters, 4000 pending ids fit the budget');
    const rssPending = broker.rssBytes() - rssBefore;
    t.diagnostic(`4000 pending ids with 30 KB client ids: RSS +${(rssPending / MiB).toFixed(0)} MiB`);
    assert.ok(rssPending < 80 * MiB, `RSS grew ${rssPending / MiB} MiB`);
    await assertProbeWithin(probe, baseline, 'after the pending member ids');

    assert.match(broker.output(), /consumer group request refused by a limit/);
    assert.equal(await broker.stop(), 0);
  });

  it('bounds the committed offsets one principal can store: groups, then bytes; metadata.db stays small', async (t) => {
    const broker = await startBrokerProcess(t, { configYaml: 'groupMaxOffsetBytesPerPrincipal: 8388608' });
    const admin = await broker.admin();
    await admin.createTopic('probe', 1);
    await admin.createTopic('ledger', 50);
    const alice = await broker.addUser('alice', 'alice-password-1', [allow(ResourceType.TOPIC, 'probe', AclOperation.WRITE)]);
    const readLedger = allow(ResourceType.TOPIC, 'ledger', AclOperation.READ);
    const oscar = await broker.addUser('oscar', 'oscar-password-1', [ANY_GROUP, readLedger]);
    const olga = await broker.addUser('olga', 'olga-password-1', [ANY_GROUP, readLedger]);
    const probe = await LatencyProbe.open(t, alice, 'probe');
    const baseline = await probe.median(9);
    const dbBytes = () => ['metadata.db', 'metadata.db-wal'].reduce((sum, f) => sum + (statSync(join(broker.dataDir, f), { throwIfNoEntry: false })?.size ?? 0), 0);
    const dbBefore = dbBytes();
    const metadata = 'm'.repeat(4000);
    const commitBody = (groupId: string, partitions: number) => ({
      groupId,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [{ name: 'ledger', partitions: Array.from({ length: partitions }, (_, p) => ({ partitionIndex: p, committedOffset: 1n, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: metadata })) }],
    });
    // A commit that failed as a whole counts as −2, a code no partition carries.
    const codes = (r: PromiseSettledResult<{ topics: { partitions: { errorCode: number }[] }[] }>): number[] =>
      r.status === 'fulfilled' ? r.value.topics.flatMap((topic) => topic.partitions.map((p) => p.errorCode)) : [-2];

    // 2000 groups with a 4 KB offset each (before the bounds: 20,000 took metadata.db to +93 MB).
    const manyGroups = await connect(t, oscar, 'oscar');
    const perGroup: PromiseSettledResult<{ topics: { partitions: { errorCode: number }[] }[] }>[] = [];
    for (let batch = 0; batch < 4; batch++) {
      perGroup.push(...(await Promise.allSettled(Array.from({ length: 500 }, (_, i) => manyGroups.request(OffsetCommit, commitBody(`o-${batch * 500 + i}`, 1))))));
    }
    const groupCodes = perGroup.flatMap(codes);
    assert.equal(groupCodes.filter((c) => c === ErrorCode.NONE).length, 1000);
    assert.equal(groupCodes.filter((c) => c === ErrorCode.POLICY_VIOLATION).length, 1000);

    // Few groups, many partitions: 50 × 4 KB a commit, until the principal's 8 MiB are used.
    const wideGroups = await connect(t, olga, 'olga');
    const wide: PromiseSettledResult<{ topics: { partitions: { errorCode: number }[] }[] }>[] = [];
    for (let i = 0; i < 100; i++) wide.push(...(await Promise.allSettled([wideGroups.request(OffsetCommit, commitBody(`w-${i}`, 50))])));
    const wideCodes = wide.flatMap(codes);
    const stored = wideCodes.filter((c) => c === ErrorCode.NONE).length;
    // Each counts 64 bytes, its group id, "ledger" and its 4000 bytes of metadata.
    assert.ok(stored > 2000 && stored * (64 + 3 + 6 + 4000) <= 8 * MiB, `${stored} partitions stored`);
    assert.equal(wideCodes.filter((c) => c === ErrorCode.INVALID_COMMIT_OFFSET_SIZE).length, 5000 - stored);
    // A partition already stored can still be committed again.
    const again = await wideGroups.request(OffsetCommit, commitBody('w-0', 50));
    assert.ok(again.topics[0]?.partitions.every((p) => p.errorCode === ErrorCode.NONE));

    const grown = dbBytes() - dbBefore;
    t.diagnostic(`metadata.db (with its WAL) grew ${(grown / MiB).toFixed(1)} MiB`);
    // oscar's 1000 groups (~4 MiB) and olga's 8 MiB, as SQLite lays them out.
    assert.ok(grown < 40 * MiB, `metadata.db grew ${grown / MiB} MiB`);
    await assertProbeWithin(probe, baseline, 'after the commits');
    assert.equal(await broker.stop(), 0);
  });
});
