import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { advance, at, DELAY_MS, GROUP, harness, join, memberIds, SESSION_MS, settle, stableGroup, stateOf, sync } from './harness.js';

describe('GroupCoordinator session expiry', () => {
  it('a member without heartbeats expires → rebalance → the others must rejoin; the last expiry empties the group', async () => {
    const h = harness();
    // The group has committed offsets, so it stays (Empty) when its members are gone.
    h.offsets.add(GROUP);
    const g = await stableGroup(h, 2);
    const [a, b] = [at(g.members, 0).memberId, at(g.members, 1).memberId];
    // b heartbeats, a stays silent: a's session (started by its SyncGroup) runs out.
    for (let t = 0; t < 9000; t += 3000) {
      await advance(h, 3000);
      assert.equal(h.coordinator.heartbeat(GROUP, b, g.generationId, null), ErrorCode.NONE);
    }
    await advance(h, SESSION_MS - 9000 - 1);
    assert.equal(stateOf(h), 'Stable');
    await advance(h, 1);
    assert.equal(stateOf(h), 'PreparingRebalance');
    assert.deepEqual(memberIds(h), [b]);
    assert.ok(h.logger.entries.some((e) => e.msg === 'member session expired' && (e.obj as { member?: string }).member === a));
    assert.equal(h.coordinator.heartbeat(GROUP, a, g.generationId, null), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(h.coordinator.heartbeat(GROUP, b, g.generationId, null), ErrorCode.REBALANCE_IN_PROGRESS);
    // b does not rejoin and stops heartbeating: its session ends before the join deadline.
    await advance(h, SESSION_MS - 1);
    assert.equal(stateOf(h), 'PreparingRebalance');
    await advance(h, 1);
    assert.equal(stateOf(h), 'Empty');
    assert.deepEqual(memberIds(h), []);
    assert.equal(h.clock.pending, 0, 'no timer outlives the members');
    // The empty group moved to the next generation; a new member starts the one after.
    const next = await join(h);
    await advance(h, DELAY_MS);
    assert.equal(next.value.generationId, g.generationId + 2);
  });

  it('the remaining member rejoining after an expiry completes the rebalance without waiting', async () => {
    const h = harness();
    const g = await stableGroup(h, 2);
    const b = at(g.members, 1).memberId;
    await advance(h, SESSION_MS - 1);
    assert.equal(h.coordinator.heartbeat(GROUP, b, g.generationId, null), ErrorCode.NONE);
    await advance(h, 1);
    assert.equal(stateOf(h), 'PreparingRebalance');
    const rejoin = await join(h, { memberId: b });
    assert.equal(rejoin.value.errorCode, ErrorCode.NONE);
    assert.equal(rejoin.value.generationId, g.generationId + 1);
    assert.equal(rejoin.value.leader, b, 'the leader expired: the remaining member leads');
    assert.deepEqual(
      rejoin.value.members.map((m) => m.memberId),
      [b],
    );
  });

  it('a member that never sends SyncGroup expires after its session timeout; parked SyncGroups get REBALANCE_IN_PROGRESS', async () => {
    const h = harness();
    const a = await join(h, { clientId: 'a' });
    const b = await join(h, { clientId: 'b' });
    await advance(h, DELAY_MS);
    const [leader, follower, gen] = [a.value.memberId, b.value.memberId, a.value.generationId];
    // The follower syncs soon after; the leader never does.
    await advance(h, 100);
    const parked = await sync(h, follower, gen);
    await advance(h, SESSION_MS - 100 - 1);
    assert.equal(parked.settled, false);
    assert.equal(stateOf(h), 'CompletingRebalance');
    await advance(h, 1);
    assert.equal(parked.value.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(stateOf(h), 'PreparingRebalance');
    assert.deepEqual(memberIds(h), [follower]);
    assert.equal(h.coordinator.heartbeat(GROUP, leader, gen, null), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(h.coordinator.heartbeat(GROUP, follower, gen, null), ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoin = await join(h, { memberId: follower });
    assert.equal(rejoin.value.generationId, gen + 1);
    assert.equal(rejoin.value.leader, follower);
  });

  it('a follower that neither syncs nor heartbeats after the join expires too', async () => {
    const h = harness();
    const a = await join(h, { clientId: 'a' });
    const b = await join(h, { clientId: 'b' });
    await advance(h, DELAY_MS);
    const [leader, follower, gen] = [a.value.memberId, b.value.memberId, a.value.generationId];
    await advance(h, 5000);
    await sync(h, leader, gen, { assignments: [{ memberId: follower, assignment: Buffer.from('f') }] });
    assert.equal(stateOf(h), 'Stable');
    await advance(h, SESSION_MS - 5000);
    assert.equal(stateOf(h), 'PreparingRebalance');
    assert.deepEqual(memberIds(h), [leader]);
  });

  it('a follower parked in SyncGroup is not expired while the leader takes longer than the follower’s session', async () => {
    // The parked request blocks the client's connection, so it cannot heartbeat; Kafka counts a member
    // awaiting sync as alive (MemberMetadata.hasSatisfiedHeartbeat) and restarts its session when answered.
    const h = harness();
    const a = await join(h, { clientId: 'a', sessionTimeoutMs: 30_000 });
    const b = await join(h, { clientId: 'b', sessionTimeoutMs: 6000 });
    await advance(h, DELAY_MS);
    const [leader, follower, gen] = [a.value.memberId, b.value.memberId, a.value.generationId];
    const parked = await sync(h, follower, gen);
    await advance(h, 20_000);
    assert.equal(parked.settled, false);
    assert.deepEqual(memberIds(h), [leader, follower]);
    await sync(h, leader, gen, { assignments: [{ memberId: follower, assignment: Buffer.from('f') }] });
    assert.equal(parked.value.errorCode, ErrorCode.NONE);
    assert.deepEqual(parked.value.assignment, Buffer.from('f'));
    // Its session starts afresh when answered: a full 6 s to heartbeat.
    await advance(h, 6000 - 1);
    assert.equal(h.coordinator.heartbeat(GROUP, follower, gen, null), ErrorCode.NONE);
    assert.equal(stateOf(h), 'Stable');
    await advance(h, 6000);
    assert.equal(stateOf(h), 'PreparingRebalance', 'without heartbeats it expires as usual');
  });

  it('a member parked in JoinGroup is not expired by a session a heartbeat or commit restarted', async () => {
    const h = harness();
    // The third member's long session keeps it in the group until the join deadline.
    const g = await stableGroup(h, 3, (i) => ({ sessionTimeoutMs: i === 2 ? 60_000 : 6000, rebalanceTimeoutMs: 20_000 }));
    const [a, b] = [at(g.members, 0).memberId, at(g.members, 1).memberId];
    const rejoinA = await join(h, { memberId: a, sessionTimeoutMs: 6000, rebalanceTimeoutMs: 20_000 });
    // A heartbeat (another connection of the same client) while its JoinGroup waits.
    assert.equal(h.coordinator.heartbeat(GROUP, a, g.generationId, null), ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(h.coordinator.checkCommit(GROUP, a, g.generationId, null), ErrorCode.NONE);
    const rejoinB = await join(h, { memberId: b, sessionTimeoutMs: 6000, rebalanceTimeoutMs: 20_000 });
    await advance(h, 20_000);
    assert.equal(rejoinA.value.errorCode, ErrorCode.NONE);
    assert.equal(rejoinB.value.errorCode, ErrorCode.NONE);
    assert.deepEqual(memberIds(h), [a, b]);
  });
});

describe('GroupCoordinator LeaveGroup', () => {
  it('by member id: NONE, and the group rebalances without it', async () => {
    const h = harness();
    const g = await stableGroup(h, 2);
    const [a, b] = [at(g.members, 0).memberId, at(g.members, 1).memberId];
    assert.equal(h.coordinator.leave(GROUP, b, null), ErrorCode.NONE);
    assert.equal(stateOf(h), 'PreparingRebalance');
    assert.deepEqual(memberIds(h), [a]);
    assert.equal(h.coordinator.heartbeat(GROUP, a, g.generationId, null), ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(h.coordinator.heartbeat(GROUP, b, g.generationId, null), ErrorCode.UNKNOWN_MEMBER_ID);
    const rejoin = await join(h, { memberId: a });
    assert.equal(rejoin.value.generationId, g.generationId + 1);
    assert.equal(rejoin.value.members.length, 1);
  });

  it('the leader leaving hands leadership to a remaining member', async () => {
    const h = harness();
    const g = await stableGroup(h, 2);
    const b = at(g.members, 1).memberId;
    assert.equal(h.coordinator.leave(GROUP, g.leader, null), ErrorCode.NONE);
    const rejoin = await join(h, { memberId: b });
    assert.equal(rejoin.value.leader, b);
  });

  it('unknown group, unknown member, or neither member id nor instance id → UNKNOWN_MEMBER_ID', async () => {
    const h = harness();
    assert.equal(h.coordinator.leave('nope', 'm', null), ErrorCode.UNKNOWN_MEMBER_ID);
    await stableGroup(h, 1);
    assert.equal(h.coordinator.leave(GROUP, 'ghost', null), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(h.coordinator.leave(GROUP, '', null), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(h.coordinator.leave(GROUP, '', 'no-such-instance'), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(stateOf(h), 'Stable');
  });

  it('the last member leaving makes the group Empty, in the next generation', async () => {
    const h = harness();
    // The group has committed offsets, so it stays (Empty) when its members are gone.
    h.offsets.add(GROUP);
    const g = await stableGroup(h, 1);
    assert.equal(h.coordinator.leave(GROUP, g.leader, null), ErrorCode.NONE);
    assert.equal(stateOf(h), 'Empty');
    assert.equal(h.coordinator.hasMembers(GROUP), false);
    assert.equal(h.clock.pending, 0);
    // A second leave is a stranger's.
    assert.equal(h.coordinator.leave(GROUP, g.leader, null), ErrorCode.UNKNOWN_MEMBER_ID);
    const next = await join(h);
    await advance(h, DELAY_MS);
    assert.equal(next.value.generationId, g.generationId + 2, 'Empty took a generation, the new join the next');
  });

  it('leaving during PreparingRebalance lets the join complete without the member', async () => {
    const h = harness();
    const g = await stableGroup(h, 3);
    const [a, b, c] = [at(g.members, 0).memberId, at(g.members, 1).memberId, at(g.members, 2).memberId];
    const ja = await join(h, { memberId: a });
    const jb = await join(h, { memberId: b });
    assert.equal(ja.settled, false);
    assert.equal(h.coordinator.leave(GROUP, c, null), ErrorCode.NONE);
    await advance(h, 0);
    assert.equal(ja.value.errorCode, ErrorCode.NONE);
    assert.equal(jb.value.generationId, g.generationId + 1);
    assert.deepEqual(
      ja.value.members.map((m) => m.memberId),
      [a, b],
    );
  });

  it('a member leaving while its JoinGroup is parked gets UNKNOWN_MEMBER_ID for it', async () => {
    const h = harness();
    const g = await stableGroup(h, 2);
    const [a, b] = [at(g.members, 0).memberId, at(g.members, 1).memberId];
    const ja = await join(h, { memberId: a });
    assert.equal(h.coordinator.leave(GROUP, a, null), ErrorCode.NONE);
    await settle();
    assert.equal(ja.value.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    const jb = await join(h, { memberId: b });
    assert.equal(jb.value.leader, b);
  });

  it('leaving during CompletingRebalance answers the parked SyncGroups with REBALANCE_IN_PROGRESS', async () => {
    const h = harness();
    await join(h, { clientId: 'a' });
    const b = await join(h, { clientId: 'b' });
    const c = await join(h, { clientId: 'c' });
    await advance(h, DELAY_MS);
    const parked = await sync(h, b.value.memberId, b.value.generationId);
    assert.equal(h.coordinator.leave(GROUP, c.value.memberId, null), ErrorCode.NONE);
    await settle();
    assert.equal(parked.value.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(stateOf(h), 'PreparingRebalance');
  });

  it('a pending (KIP-394) member may leave: the join phase stops waiting for it', async () => {
    const h = harness();
    const g = await stableGroup(h, 1);
    const pending = await join(h, { requireKnownMemberId: true });
    const leader = await join(h, { memberId: g.leader });
    assert.equal(leader.settled, false);
    assert.equal(h.coordinator.leave(GROUP, pending.value.memberId, null), ErrorCode.NONE);
    await advance(h, 0);
    assert.equal(leader.value.errorCode, ErrorCode.NONE);
    assert.equal(leader.value.generationId, g.generationId + 1);
  });
});
