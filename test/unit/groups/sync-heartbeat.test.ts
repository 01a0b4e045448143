import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { advance, at, DELAY_MS, GROUP, harness, join, protocols, SESSION_MS, stableGroup, stateOf, sync, type Harness } from './harness.js';

/** Two members through the join phase: the group waits in CompletingRebalance for the leader's SyncGroup. */
async function joined(h: Harness): Promise<{ leader: string; follower: string; generationId: number }> {
  const a = await join(h, { clientId: 'a' });
  const b = await join(h, { clientId: 'b' });
  await advance(h, DELAY_MS);
  assert.equal(stateOf(h), 'CompletingRebalance');
  return { leader: a.value.memberId, follower: b.value.memberId, generationId: a.value.generationId };
}

describe('GroupCoordinator SyncGroup', () => {
  it('answers an unknown group or member with UNKNOWN_MEMBER_ID', async () => {
    const h = harness();
    assert.equal((await sync(h, 'm', 1, { groupId: 'nope' })).value.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    const g = await stableGroup(h, 1);
    assert.equal((await sync(h, 'ghost', g.generationId)).value.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('answers a member of a group that became Empty with UNKNOWN_MEMBER_ID', async () => {
    const h = harness();
    // The group has committed offsets, so it stays (Empty) when its members are gone.
    h.offsets.add(GROUP);
    const g = await stableGroup(h, 1);
    h.coordinator.leave(GROUP, g.leader, null);
    assert.equal(stateOf(h), 'Empty');
    assert.equal((await sync(h, g.leader, g.generationId)).value.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await sync(h, g.leader, g.generationId + 1)).value.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('answers another generation with ILLEGAL_GENERATION', async () => {
    const h = harness();
    const { leader, generationId } = await joined(h);
    for (const gen of [generationId - 1, generationId + 1, -1]) {
      const s = await sync(h, leader, gen, { assignments: [{ memberId: leader, assignment: Buffer.from('x') }] });
      assert.equal(s.value.errorCode, ErrorCode.ILLEGAL_GENERATION, `generation ${gen}`);
    }
    assert.equal(stateOf(h), 'CompletingRebalance', 'a refused leader sync assigns nothing');
  });

  it('v5+: answers another protocol type or name with INCONSISTENT_GROUP_PROTOCOL; null (v<5) skips the check', async () => {
    const h = harness();
    const { leader, generationId } = await joined(h);
    const wrongType = await sync(h, leader, generationId, { protocolType: 'connect', protocolName: 'range' });
    assert.equal(wrongType.value.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const wrongName = await sync(h, leader, generationId, { protocolType: 'consumer', protocolName: 'roundrobin' });
    assert.equal(wrongName.value.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal(stateOf(h), 'CompletingRebalance');
    const right = await sync(h, leader, generationId, { protocolType: 'consumer', protocolName: 'range' });
    assert.equal(right.value.errorCode, ErrorCode.NONE);
    assert.equal(right.value.protocolType, 'consumer');
    assert.equal(right.value.protocolName, 'range');
  });

  it('answers REBALANCE_IN_PROGRESS during PreparingRebalance', async () => {
    const h = harness();
    const g = await stableGroup(h, 2);
    await join(h, { memberId: g.leader });
    assert.equal(stateOf(h), 'PreparingRebalance');
    const s = await sync(h, at(g.members, 1).memberId, g.generationId);
    assert.equal(s.value.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(s.value.assignment.length, 0);
  });

  it('parks followers until the leader’s SyncGroup, then gives everyone its own assignment', async () => {
    const h = harness();
    const { leader, follower, generationId } = await joined(h);
    const f = await sync(h, follower, generationId);
    await advance(h, 2000);
    assert.equal(f.settled, false);
    assert.equal(stateOf(h), 'CompletingRebalance');
    const l = await sync(h, leader, generationId, {
      assignments: [
        { memberId: leader, assignment: Buffer.from('for the leader') },
        { memberId: follower, assignment: Buffer.from('for the follower') },
      ],
    });
    assert.deepEqual(l.value, { errorCode: ErrorCode.NONE, protocolType: 'consumer', protocolName: 'range', assignment: Buffer.from('for the leader') });
    assert.deepEqual(f.value, { errorCode: ErrorCode.NONE, protocolType: 'consumer', protocolName: 'range', assignment: Buffer.from('for the follower') });
    assert.equal(stateOf(h), 'Stable');
  });

  it('gives empty bytes to a member the leader left out, and ignores assignments for strangers', async () => {
    const h = harness();
    const { leader, follower, generationId } = await joined(h);
    const f = await sync(h, follower, generationId);
    const l = await sync(h, leader, generationId, {
      assignments: [
        { memberId: leader, assignment: Buffer.from('all of it') },
        { memberId: 'stranger', assignment: Buffer.from('nothing') },
      ],
    });
    assert.equal(l.value.errorCode, ErrorCode.NONE);
    assert.equal(f.value.errorCode, ErrorCode.NONE);
    assert.deepEqual(f.value.assignment, Buffer.alloc(0));
    assert.deepEqual(
      h.coordinator.describe(GROUP).members.map((m) => m.memberId),
      [leader, follower],
    );
  });

  it('a follower syncing after the leader gets its stored assignment at once (Stable)', async () => {
    const h = harness();
    const { leader, follower, generationId } = await joined(h);
    await sync(h, leader, generationId, { assignments: [{ memberId: follower, assignment: Buffer.from('f') }] });
    const f = await sync(h, follower, generationId);
    assert.deepEqual(f.value.assignment, Buffer.from('f'));
    // Again, and a leader's sync while Stable assigns nothing new.
    const l = await sync(h, leader, generationId, { assignments: [{ memberId: follower, assignment: Buffer.from('changed') }] });
    assert.deepEqual(l.value.assignment, Buffer.alloc(0));
    assert.deepEqual((await sync(h, follower, generationId)).value.assignment, Buffer.from('f'));
  });

  it('a second SyncGroup from a parked member answers the first with REBALANCE_IN_PROGRESS', async () => {
    const h = harness();
    const { leader, follower, generationId } = await joined(h);
    const first = await sync(h, follower, generationId);
    const second = await sync(h, follower, generationId);
    assert.equal(first.value.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    await sync(h, leader, generationId, { assignments: [{ memberId: follower, assignment: Buffer.from('f') }] });
    assert.deepEqual(second.value.assignment, Buffer.from('f'));
  });

  it('a new member joining during CompletingRebalance answers the parked SyncGroups with REBALANCE_IN_PROGRESS', async () => {
    const h = harness();
    const { leader, follower, generationId } = await joined(h);
    const f = await sync(h, follower, generationId);
    const newcomer = await join(h, { clientId: 'new' });
    assert.equal(f.value.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(stateOf(h), 'PreparingRebalance');
    // The leader's assignment for the old generation comes too late.
    const l = await sync(h, leader, generationId, { assignments: [{ memberId: follower, assignment: Buffer.from('f') }] });
    assert.equal(l.value.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    await join(h, { memberId: leader });
    await join(h, { memberId: follower });
    assert.equal(newcomer.value.generationId, generationId + 1);
  });
});

describe('GroupCoordinator Heartbeat', () => {
  it('UNKNOWN_MEMBER_ID for an unknown group, an unknown member, and an Empty group', async () => {
    const h = harness();
    // The group has committed offsets, so it stays (Empty) when its members are gone.
    h.offsets.add(GROUP);
    assert.equal(h.coordinator.heartbeat('nope', 'm', 1, null), ErrorCode.UNKNOWN_MEMBER_ID);
    const g = await stableGroup(h, 1);
    assert.equal(h.coordinator.heartbeat(GROUP, 'ghost', g.generationId, null), ErrorCode.UNKNOWN_MEMBER_ID);
    h.coordinator.leave(GROUP, g.leader, null);
    assert.equal(stateOf(h), 'Empty');
    assert.equal(h.coordinator.heartbeat(GROUP, g.leader, g.generationId + 1, null), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(h.coordinator.heartbeat(GROUP, '', -1, null), ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('a pending (KIP-394) member id is not a member yet: UNKNOWN_MEMBER_ID', async () => {
    const h = harness();
    const pending = await join(h, { requireKnownMemberId: true });
    assert.equal(h.coordinator.heartbeat(GROUP, pending.value.memberId, 0, null), ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('ILLEGAL_GENERATION for heartbeats from old generations', async () => {
    const h = harness();
    const g = await stableGroup(h, 2);
    const follower = at(g.members, 1).memberId;
    await join(h, { memberId: g.leader });
    const f = await join(h, { memberId: follower });
    const next = f.value.generationId;
    assert.equal(next, g.generationId + 1);
    assert.equal(h.coordinator.heartbeat(GROUP, follower, g.generationId, null), ErrorCode.ILLEGAL_GENERATION);
    assert.equal(h.coordinator.heartbeat(GROUP, follower, next + 1, null), ErrorCode.ILLEGAL_GENERATION);
    assert.equal(h.coordinator.heartbeat(GROUP, follower, next, null), ErrorCode.NONE);
  });

  it('NONE in CompletingRebalance and Stable, REBALANCE_IN_PROGRESS in PreparingRebalance', async () => {
    const h = harness();
    const { leader, follower, generationId } = await joined(h);
    assert.equal(h.coordinator.heartbeat(GROUP, leader, generationId, null), ErrorCode.NONE);
    assert.equal(h.coordinator.heartbeat(GROUP, follower, generationId, null), ErrorCode.NONE);
    await sync(h, leader, generationId, { assignments: [] });
    assert.equal(stateOf(h), 'Stable');
    assert.equal(h.coordinator.heartbeat(GROUP, follower, generationId, null), ErrorCode.NONE);
    await join(h, { memberId: follower, protocols: protocols('range', 'roundrobin') });
    assert.equal(stateOf(h), 'PreparingRebalance');
    assert.equal(h.coordinator.heartbeat(GROUP, leader, generationId, null), ErrorCode.REBALANCE_IN_PROGRESS);
    // The generation check comes first, as in Kafka.
    assert.equal(h.coordinator.heartbeat(GROUP, leader, generationId - 1, null), ErrorCode.ILLEGAL_GENERATION);
  });

  it('heartbeats keep a member alive over many session timeouts', async () => {
    const h = harness();
    const g = await stableGroup(h, 2);
    for (let elapsed = 0; elapsed < 5 * SESSION_MS; elapsed += 3000) {
      await advance(h, 3000);
      for (const m of g.members) assert.equal(h.coordinator.heartbeat(GROUP, m.memberId, g.generationId, null), ErrorCode.NONE);
    }
    assert.equal(stateOf(h), 'Stable');
    assert.equal(h.coordinator.describe(GROUP).members.length, 2);
  });

  it('a heartbeat just before the session timeout is in time; one session timeout later, without one, the member is gone', async () => {
    const h = harness();
    // The group has committed offsets, so it stays (Empty) when its members are gone.
    h.offsets.add(GROUP);
    const g = await stableGroup(h, 1);
    await advance(h, SESSION_MS - 1);
    assert.equal(h.coordinator.heartbeat(GROUP, g.leader, g.generationId, null), ErrorCode.NONE);
    await advance(h, SESSION_MS - 1);
    assert.equal(stateOf(h), 'Stable');
    await advance(h, 1);
    assert.equal(stateOf(h), 'Empty');
    assert.equal(h.coordinator.heartbeat(GROUP, g.leader, g.generationId, null), ErrorCode.UNKNOWN_MEMBER_ID);
  });
});
