import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { advance, at, DELAY_MS, GROUP, harness, join, memberIds, protocols, SESSION_MS, settle, stableGroup, stateOf, sync } from './harness.js';

/** The GroupMembership contract the offset handlers rely on (src/groups/membership.ts). */
describe('GroupCoordinator as GroupMembership: checkCommit and hasMembers', () => {
  it('a standalone commit (generation −1, no member id) is allowed for an unknown group', () => {
    const h = harness();
    assert.equal(h.coordinator.checkCommit('manual', '', -1, null), ErrorCode.NONE);
    assert.equal(h.coordinator.hasMembers('manual'), false);
    assert.deepEqual(h.coordinator.list(), [], 'a standalone commit creates no group in the coordinator');
  });

  it('a generation on an unknown group is an old one: ILLEGAL_GENERATION (Kafka handleCommitOffsets)', () => {
    const h = harness();
    assert.equal(h.coordinator.checkCommit('gone', 'm-1', 4, null), ErrorCode.ILLEGAL_GENERATION);
    assert.equal(h.coordinator.checkCommit('gone', '', 0, null), ErrorCode.ILLEGAL_GENERATION);
  });

  it('a standalone commit is allowed while the group is Empty', async () => {
    const h = harness();
    // The group has committed offsets, so it stays (Empty) when its members are gone.
    h.offsets.add(GROUP);
    const g = await stableGroup(h, 1);
    h.coordinator.leave(GROUP, g.leader, null);
    assert.equal(stateOf(h), 'Empty');
    assert.equal(h.coordinator.hasMembers(GROUP), false);
    assert.equal(h.coordinator.checkCommit(GROUP, '', -1, null), ErrorCode.NONE);
    // The last member's late commit: the group has no members any more.
    assert.equal(h.coordinator.checkCommit(GROUP, g.leader, g.generationId, null), ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('a standalone commit is refused with UNKNOWN_MEMBER_ID while the group has members, in every state', async () => {
    const h = harness();
    await join(h, { clientId: 'a' });
    assert.equal(stateOf(h), 'PreparingRebalance');
    assert.equal(h.coordinator.hasMembers(GROUP), true);
    assert.equal(h.coordinator.checkCommit(GROUP, '', -1, null), ErrorCode.UNKNOWN_MEMBER_ID);
    await advance(h, DELAY_MS);
    assert.equal(stateOf(h), 'CompletingRebalance');
    assert.equal(h.coordinator.checkCommit(GROUP, '', -1, null), ErrorCode.UNKNOWN_MEMBER_ID);
    const [m] = h.coordinator.describe(GROUP).members;
    assert.ok(m !== undefined);
    await sync(h, m.memberId, 1);
    assert.equal(stateOf(h), 'Stable');
    assert.equal(h.coordinator.checkCommit(GROUP, '', -1, null), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(h.coordinator.hasMembers(GROUP), true);
  });

  it('a member of the group commits in Stable; another generation → ILLEGAL_GENERATION; a stranger → UNKNOWN_MEMBER_ID', async () => {
    const h = harness();
    const g = await stableGroup(h, 2);
    const follower = at(g.members, 1).memberId;
    assert.equal(h.coordinator.checkCommit(GROUP, follower, g.generationId, null), ErrorCode.NONE);
    assert.equal(h.coordinator.checkCommit(GROUP, follower, g.generationId - 1, null), ErrorCode.ILLEGAL_GENERATION);
    assert.equal(h.coordinator.checkCommit(GROUP, follower, g.generationId + 1, null), ErrorCode.ILLEGAL_GENERATION);
    assert.equal(h.coordinator.checkCommit(GROUP, follower, -1, null), ErrorCode.ILLEGAL_GENERATION);
    assert.equal(h.coordinator.checkCommit(GROUP, 'ghost', g.generationId, null), ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('REBALANCE_IN_PROGRESS in CompletingRebalance (the member has no assignment yet)', async () => {
    const h = harness();
    const a = await join(h, { clientId: 'a' });
    const b = await join(h, { clientId: 'b' });
    await advance(h, DELAY_MS);
    assert.equal(stateOf(h), 'CompletingRebalance');
    assert.equal(h.coordinator.checkCommit(GROUP, b.value.memberId, b.value.generationId, null), ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(h.coordinator.checkCommit(GROUP, a.value.memberId, a.value.generationId, null), ErrorCode.REBALANCE_IN_PROGRESS);
    // The generation is checked first.
    assert.equal(h.coordinator.checkCommit(GROUP, b.value.memberId, b.value.generationId - 1, null), ErrorCode.ILLEGAL_GENERATION);
  });

  it('allowed in PreparingRebalance with the current generation (the heartbeat tells the member to rejoin)', async () => {
    const h = harness();
    const g = await stableGroup(h, 2);
    const follower = at(g.members, 1).memberId;
    await join(h, { memberId: g.leader, protocols: protocols('range', 'roundrobin') });
    assert.equal(stateOf(h), 'PreparingRebalance');
    assert.equal(h.coordinator.checkCommit(GROUP, follower, g.generationId, null), ErrorCode.NONE);
    assert.equal(h.coordinator.checkCommit(GROUP, follower, g.generationId + 1, null), ErrorCode.ILLEGAL_GENERATION);
  });

  it('a member’s commits count as heartbeats: they keep it alive past its session timeout', async () => {
    const h = harness();
    // The group has committed offsets, so it stays (Empty) when its members are gone.
    h.offsets.add(GROUP);
    const g = await stableGroup(h, 1);
    for (let i = 0; i < 5; i++) {
      await advance(h, SESSION_MS - 1);
      assert.equal(h.coordinator.checkCommit(GROUP, g.leader, g.generationId, null), ErrorCode.NONE);
    }
    assert.equal(stateOf(h), 'Stable');
    assert.equal(h.coordinator.hasMembers(GROUP), true);
    // A refused commit is no heartbeat.
    await advance(h, SESSION_MS - 1);
    assert.equal(h.coordinator.checkCommit(GROUP, g.leader, g.generationId + 1, null), ErrorCode.ILLEGAL_GENERATION);
    await advance(h, 1);
    assert.equal(stateOf(h), 'Empty');
  });

  it('hasMembers: false for unknown groups and pending ids, true from the first join, false once all have gone', async () => {
    const h = harness();
    assert.equal(h.coordinator.hasMembers('nope'), false);
    const pending = await join(h, { requireKnownMemberId: true });
    assert.equal(pending.value.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.equal(h.coordinator.hasMembers(GROUP), false, 'a pending id is not a member');
    await advance(h, SESSION_MS);
    const j = await join(h);
    assert.equal(h.coordinator.hasMembers(GROUP), true, 'a member waiting in the join phase counts');
    h.coordinator.leave(GROUP, memberIds(h)[0] ?? '', null);
    await settle();
    assert.equal(j.value.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(h.coordinator.hasMembers(GROUP), false);
  });
});
