import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_GROUP_SIZE_LIMITS, MEMBER_OVERHEAD_BYTES, PENDING_MEMBER_OVERHEAD_BYTES } from '../../../src/groups/limits.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { advance, at, DELAY_MS, GROUP, harness, join, joinRequest, memberIds, PRINCIPAL, settle, stableGroup, stateOf, sync, track } from './harness.js';

/** One protocol whose metadata has `bytes` bytes (the name "range" counts too: 5 more). */
const sized = (bytes: number, fill = 1) => [{ name: 'range', metadata: Buffer.alloc(bytes, fill) }];

describe('GroupCoordinator bounds: protocol metadata (docs/security/limits.md#consumer-groups)', () => {
  it('refuses a member whose protocols exceed maxMemberMetadataBytes with MESSAGE_TOO_LARGE, creating nothing', async () => {
    const h = harness({ maxMemberMetadataBytes: 1000 });
    const big = await join(h, { protocols: sized(996) });
    assert.equal(big.value.errorCode, ErrorCode.MESSAGE_TOO_LARGE);
    assert.equal(stateOf(h), 'Dead');
    assert.equal(h.registry.size, 0);
    assert.deepEqual(h.registry.usage(PRINCIPAL), { groups: 0, memoryBytes: 0, offsetBytes: 0 });
    const fits = await join(h, { protocols: sized(995) });
    await advance(h, DELAY_MS);
    assert.equal(fits.value.errorCode, ErrorCode.NONE);
  });

  it('refuses more protocols than maxProtocolsPerMember with MESSAGE_TOO_LARGE', async () => {
    const h = harness({ maxProtocolsPerMember: 3 });
    const names = ['a', 'b', 'c', 'd'].map((name) => ({ name, metadata: Buffer.alloc(1) }));
    assert.equal((await join(h, { protocols: names })).value.errorCode, ErrorCode.MESSAGE_TOO_LARGE);
    const three = await join(h, { protocols: names.slice(0, 3) });
    await advance(h, DELAY_MS);
    assert.equal(three.value.errorCode, ErrorCode.NONE);
  });

  it('keeps the group’s metadata within maxGroupMetadataBytes: the leader’s JoinGroup response stays under it', async () => {
    const h = harness({ maxGroupMetadataBytes: 1000 });
    const joins = [];
    for (let i = 0; i < 3; i++) joins.push(await join(h, { clientId: `c${i}`, protocols: sized(295) }));
    // 3 × 300 bytes are in; a fourth member would make 1200.
    const fourth = await join(h, { clientId: 'c3', protocols: sized(295) });
    assert.equal(fourth.value.errorCode, ErrorCode.MESSAGE_TOO_LARGE);
    await advance(h, DELAY_MS);
    const leader = joins.map((j) => j.value).find((o) => o.members.length > 0);
    assert.ok(leader !== undefined);
    assert.equal(leader.members.length, 3);
    assert.equal(leader.members.reduce((sum, m) => sum + m.metadata.length, 0), 3 * 295);
  });

  it('a member rejoining with larger metadata past maxGroupMetadataBytes is refused and keeps its old metadata', async () => {
    const h = harness({ maxGroupMetadataBytes: 1000 });
    const g = await stableGroup(h, 2, () => ({ protocols: sized(295) }));
    const follower = at(g.members, 1).memberId;
    const grown = await join(h, { memberId: follower, protocols: sized(700) });
    assert.equal(grown.value.errorCode, ErrorCode.MESSAGE_TOO_LARGE);
    assert.equal(stateOf(h), 'Stable', 'a refused rejoin does not start a rebalance');
    assert.equal(h.coordinator.describe(GROUP).members[1]?.metadata.length, 295);
  });

  it('a pending id whose rejoin is refused does not hold up the join phase until its deadline', async () => {
    const h = harness({ maxGroupMetadataBytes: 1000 });
    const a = await join(h, { clientId: 'a', requireKnownMemberId: true });
    const b = await join(h, { clientId: 'b', requireKnownMemberId: true });
    const joined = await join(h, { memberId: a.value.memberId, requireKnownMemberId: true, protocols: sized(600) });
    const refused = await join(h, { memberId: b.value.memberId, requireKnownMemberId: true, protocols: sized(600) });
    assert.equal(refused.value.errorCode, ErrorCode.MESSAGE_TOO_LARGE);
    await advance(h, DELAY_MS);
    assert.equal(joined.settled && joined.value.errorCode, ErrorCode.NONE, 'completed after the initial delay, not the rebalance timeout');
  });

  it('refuses leader assignments over the bounds: every waiting member gets MESSAGE_TOO_LARGE and the group rebalances', async () => {
    const h = harness({ maxMemberMetadataBytes: 1000 });
    const a = await join(h, { clientId: 'a' });
    const b = await join(h, { clientId: 'b' });
    await advance(h, DELAY_MS);
    const [leader, follower] = [a.value, b.value];
    const waiting = await sync(h, follower.memberId, follower.generationId);
    const tooBig = await sync(h, leader.memberId, leader.generationId, {
      assignments: [
        { memberId: leader.memberId, assignment: Buffer.alloc(10) },
        { memberId: follower.memberId, assignment: Buffer.alloc(1001) },
      ],
    });
    assert.equal(tooBig.value.errorCode, ErrorCode.MESSAGE_TOO_LARGE);
    assert.equal(waiting.value.errorCode, ErrorCode.MESSAGE_TOO_LARGE);
    assert.equal(stateOf(h), 'PreparingRebalance');
  });

  it('keeps its own copies of metadata and assignments, never views of the request', async () => {
    const h = harness();
    const metadata = Buffer.from('subscription');
    const assignment = Buffer.from('assignment');
    const j = await join(h, { protocols: [{ name: 'range', metadata }] });
    await advance(h, DELAY_MS);
    await sync(h, j.value.memberId, j.value.generationId, { assignments: [{ memberId: j.value.memberId, assignment }] });
    metadata.fill(0);
    assignment.fill(0);
    const described = h.coordinator.describe(GROUP).members[0];
    assert.equal(described?.metadata.toString(), 'subscription');
    assert.equal(described.assignment.toString(), 'assignment');
  });
});

describe('GroupCoordinator bounds: members and pending member ids', () => {
  it('refuses members past maxGroupSize with GROUP_MAX_SIZE_REACHED (Kafka’s group.max.size)', async () => {
    const h = harness({ maxGroupSize: 3 });
    const g = await stableGroup(h, 3);
    const extra = await join(h, { clientId: 'extra' });
    assert.equal(extra.value.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
    assert.equal(extra.value.memberId, '');
    assert.equal(stateOf(h), 'Stable', 'the refusal does not disturb the group');
    // A member of the group still rejoins, and a static member still takes its own place.
    const again = await join(h, { memberId: at(g.members, 1).memberId, protocols: [{ name: 'range', metadata: Buffer.from('range-meta') }] });
    assert.equal(again.settled && again.value.errorCode, ErrorCode.NONE);
  });

  it('counts pending member ids (KIP-394) towards maxGroupSize, and lets a pending id join the place it holds', async () => {
    const h = harness({ maxGroupSize: 2 });
    const first = await join(h, { requireKnownMemberId: true });
    const second = await join(h, { requireKnownMemberId: true });
    assert.equal(first.value.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.equal(second.value.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.equal((await join(h, { requireKnownMemberId: true })).value.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
    const a = await join(h, { memberId: first.value.memberId, requireKnownMemberId: true });
    const b = await join(h, { memberId: second.value.memberId, requireKnownMemberId: true });
    await advance(h, DELAY_MS);
    assert.equal(a.value.errorCode, ErrorCode.NONE);
    assert.equal(b.value.errorCode, ErrorCode.NONE);
    assert.equal(memberIds(h).length, 2);
  });

  it('a static member of a full group restarts into its own place; a new instance id is refused', async () => {
    const h = harness({ maxGroupSize: 2 });
    const g = await stableGroup(h, 2, (i) => ({ groupInstanceId: `i${i}` }));
    const restarted = await join(h, { groupInstanceId: 'i1', protocols: [{ name: 'range', metadata: Buffer.from('range-meta') }] });
    assert.equal(restarted.value.errorCode, ErrorCode.NONE);
    assert.notEqual(restarted.value.memberId, at(g.members, 1).memberId);
    assert.equal((await join(h, { groupInstanceId: 'i2' })).value.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
  });

  it('expires a pending member id after pendingMemberTimeoutMs, even with a 30-minute session; the group goes with it', async () => {
    const h = harness({ pendingMemberTimeoutMs: 5000 });
    const pending = await join(h, { sessionTimeoutMs: 1_800_000, requireKnownMemberId: true });
    assert.equal(pending.value.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.equal(h.registry.size, 1);
    assert.ok(h.registry.usage(PRINCIPAL).memoryBytes >= PENDING_MEMBER_OVERHEAD_BYTES);
    await advance(h, 4999);
    assert.equal(h.registry.size, 1);
    await advance(h, 1);
    assert.equal(stateOf(h), 'Dead');
    assert.equal(h.registry.size, 0);
    assert.deepEqual(h.registry.usage(PRINCIPAL), { groups: 0, memoryBytes: 0, offsetBytes: 0 });
    assert.equal(h.clock.pending, 0);
    const late = await join(h, { memberId: pending.value.memberId, requireKnownMemberId: true });
    assert.equal(late.value.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('a pending member id expires after its session timeout when that is shorter, as in Kafka', async () => {
    const h = harness({ pendingMemberTimeoutMs: 30_000 });
    await join(h, { sessionTimeoutMs: 6000, requireKnownMemberId: true });
    await advance(h, 6000);
    assert.equal(stateOf(h), 'Dead');
  });
});

describe('GroupCoordinator bounds: what one principal may hold', () => {
  it('refuses a group past maxGroupsPerPrincipal with POLICY_VIOLATION; existing groups and other principals are unaffected', async () => {
    const h = harness({}, { maxGroupsPerPrincipal: 2 });
    assert.equal((await join(h, { groupId: 'g1', requireKnownMemberId: true })).value.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.equal((await join(h, { groupId: 'g2', requireKnownMemberId: true })).value.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    const third = await join(h, { groupId: 'g3', requireKnownMemberId: true });
    assert.equal(third.value.errorCode, ErrorCode.POLICY_VIOLATION);
    assert.equal(stateOf(h, 'g3'), 'Dead');
    assert.deepEqual(h.registry.usage(PRINCIPAL).groups, 2);
    // Joining a group that exists is not holding another one.
    assert.equal((await join(h, { groupId: 'g1', requireKnownMemberId: true })).value.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.equal((await join(h, { groupId: 'g3', principal: 'User:other', requireKnownMemberId: true })).value.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.equal(h.registry.ownerOf('g3'), 'User:other');
    // Once a group is gone (its pending ids expired), the principal may create another.
    await advance(h, 30_000);
    assert.equal(h.registry.size, 0);
    assert.equal((await join(h, { groupId: 'g4', requireKnownMemberId: true })).value.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  });

  it('refuses a new group past maxGroups, whoever asks', async () => {
    const h = harness({}, { maxGroups: 2 });
    await join(h, { groupId: 'g1', principal: 'User:a', requireKnownMemberId: true });
    await join(h, { groupId: 'g2', principal: 'User:b', requireKnownMemberId: true });
    assert.equal((await join(h, { groupId: 'g3', principal: 'User:c', requireKnownMemberId: true })).value.errorCode, ErrorCode.POLICY_VIOLATION);
  });

  it('charges pending ids (with their client id) and members to maxMemoryBytesPerPrincipal, and gives it all back', async () => {
    const clientId = 'x'.repeat(30_000);
    const perPending = PENDING_MEMBER_OVERHEAD_BYTES + clientId.length + 37;
    const h = harness({}, { maxMemoryBytesPerPrincipal: 3 * perPending });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const p = await join(h, { groupId: `g${i}`, clientId, requireKnownMemberId: true });
      assert.equal(p.value.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
      ids.push(p.value.memberId);
    }
    assert.equal(h.registry.usage(PRINCIPAL).memoryBytes, 3 * perPending);
    const refused = await join(h, { groupId: 'g0', clientId, requireKnownMemberId: true });
    assert.equal(refused.value.errorCode, ErrorCode.POLICY_VIOLATION);
    // Another principal has its own budget.
    assert.equal((await join(h, { groupId: 'g0', principal: 'User:other', clientId, requireKnownMemberId: true })).value.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    for (const [i, id] of ids.entries()) assert.equal(h.coordinator.leave(`g${i}`, id, null), ErrorCode.NONE);
    assert.equal(h.registry.usage(PRINCIPAL).memoryBytes, 0);
  });

  it('charges a member its ids, metadata and assignment; leaving gives the charge back', async () => {
    const h = harness();
    const g = await stableGroup(h, 2, () => ({ protocols: sized(1000) }));
    const usage = h.registry.usage(PRINCIPAL).memoryBytes;
    assert.ok(usage >= 2 * (MEMBER_OVERHEAD_BYTES + 1005 + 2), `charged ${usage}`);
    for (const m of g.members) h.coordinator.leave(GROUP, m.memberId, null);
    await advance(h, DELAY_MS);
    assert.equal(stateOf(h), 'Dead');
    assert.deepEqual(h.registry.usage(PRINCIPAL), { groups: 0, memoryBytes: 0, offsetBytes: 0 });
  });

  it('a member of a group at the principal’s memory bound still leaves and rejoins', async () => {
    const h = harness({}, { maxMemoryBytesPerPrincipal: 3 * (MEMBER_OVERHEAD_BYTES + 200) });
    const g = await stableGroup(h, 2);
    const third = await join(h, { clientId: 'c2', protocols: sized(2000) });
    assert.equal(third.value.errorCode, ErrorCode.POLICY_VIOLATION);
    const rejoin = await join(h, { memberId: at(g.members, 1).memberId, protocols: [{ name: 'range', metadata: Buffer.from('range-meta') }] });
    assert.equal(rejoin.value.errorCode, ErrorCode.NONE);
  });

  it('logs a refusal once per second at most, saying which limit and how many refusals it stands for', async () => {
    const h = harness({}, { maxGroupsPerPrincipal: 1 });
    await join(h, { groupId: 'g1', requireKnownMemberId: true });
    for (let i = 0; i < 5; i++) await join(h, { groupId: `x${i}`, requireKnownMemberId: true });
    await advance(h, 1000);
    await join(h, { groupId: 'y', requireKnownMemberId: true });
    const lines = h.logger.entries.filter((e) => e.level === 'warn' && e.msg.startsWith('consumer group request refused by a limit'));
    assert.equal(lines.length, 2);
    assert.deepEqual(lines[0]?.obj, { api: 'JoinGroup', group: 'x0', principal: PRINCIPAL, limit: 'groupMaxGroupsPerPrincipal or groupMaxGroups', errorCode: ErrorCode.POLICY_VIOLATION });
    assert.equal((lines[1]?.obj as { alsoRefusedSinceLastLine?: number }).alsoRefusedSinceLastLine, 4);
  });
});

describe('GroupCoordinator bounds: a group at the default bounds', () => {
  it('forms with maxGroupSize members listing maxProtocolsPerMember protocols each', async () => {
    const h = harness();
    const protocols = Array.from({ length: DEFAULT_GROUP_SIZE_LIMITS.maxProtocolsPerMember }, (_, i) => ({ name: `p${i}`, metadata: Buffer.alloc(8) }));
    const joins = [];
    for (let i = 0; i < DEFAULT_GROUP_SIZE_LIMITS.maxGroupSize; i++) joins.push(track(h.coordinator.join(joinRequest({ clientId: `c${i}`, protocols }))));
    await settle();
    assert.equal((await join(h, { clientId: 'one-too-many', protocols })).value.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
    await advance(h, DELAY_MS);
    assert.ok(joins.every((j) => j.value.errorCode === ErrorCode.NONE));
    assert.equal(joins.filter((j) => j.value.members.length > 0).length, 1, 'one leader');
    assert.equal(joins[0]?.value.protocolName, 'p0');
  });
});
