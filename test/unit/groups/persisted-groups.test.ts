import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { advance, DELAY_MS, GROUP, harness, join, stableGroup, stateOf, sync } from './harness.js';

/**
 * What the coordinator saves of a group so that, after a restart, a group known only by its committed
 * offsets describes as Kafka's does: Empty with the protocol type its members used ("consumer"), and
 * a simple group (commits without ever joining) with "". A harness built on the same fake store plays
 * the restarted broker.
 */
describe('GroupCoordinator: group metadata that outlives the broker', () => {
  it('saves the protocol type and generation each time a generation completes, also when it empties', async () => {
    const h = harness();
    const g = await stableGroup(h, 2);
    assert.deepEqual(h.saved.get(GROUP), { protocolType: 'consumer', generationId: g.generationId });
    h.offsets.add(GROUP);
    const [first, second] = g.members.map((m) => m.memberId);
    h.coordinator.leave(GROUP, first ?? '', null);
    const rejoin = await join(h, { memberId: second ?? '' });
    assert.equal(rejoin.value.generationId, g.generationId + 1);
    assert.deepEqual(h.saved.get(GROUP), { protocolType: 'consumer', generationId: g.generationId + 1 }, 'the rebalance without the leaver');
    h.coordinator.leave(GROUP, second ?? '', null);
    assert.equal(stateOf(h), 'Empty');
    assert.deepEqual(h.saved.get(GROUP), { protocolType: 'consumer', generationId: g.generationId + 2 }, 'the empty generation');
  });

  it('a restarted coordinator describes and lists a group known by its offsets with its saved protocol type', async () => {
    const before = harness();
    before.offsets.add(GROUP);
    await stableGroup(before, 1, () => ({ protocolType: 'connect' }));
    // The restart: only the store's contents carry over.
    const after = harness();
    for (const id of before.offsets) after.offsets.add(id);
    for (const [id, saved] of before.saved) after.saved.set(id, saved);
    after.offsets.add('simple');
    assert.deepEqual(after.coordinator.describe(GROUP), { groupId: GROUP, state: 'Empty', protocolType: 'connect', protocolName: '', members: [] });
    assert.deepEqual(after.coordinator.describe('simple'), { groupId: 'simple', state: 'Empty', protocolType: '', protocolName: '', members: [] });
    assert.deepEqual(after.coordinator.list(), [
      { groupId: GROUP, protocolType: 'connect', state: 'Empty' },
      { groupId: 'simple', protocolType: '', state: 'Empty' },
    ]);
  });

  it('a group rejoining after a restart continues from its saved generation, and may change protocol type once empty', async () => {
    const h = harness();
    h.offsets.add(GROUP);
    h.saved.set(GROUP, { protocolType: 'connect', generationId: 7 });
    const j = await join(h);
    await advance(h, DELAY_MS);
    assert.equal(j.value.errorCode, ErrorCode.NONE);
    assert.equal(j.value.generationId, 8);
    assert.equal(j.value.protocolType, 'consumer');
    await sync(h, j.value.memberId, 8);
    assert.deepEqual(h.saved.get(GROUP), { protocolType: 'consumer', generationId: 8 });
    // A member from before the restart, with the old generation, is a stranger.
    assert.equal(h.coordinator.checkCommit(GROUP, 'old-member', 7, null), ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('keeps nothing of a group without offsets: forgotten when it empties, with its saved metadata', async () => {
    const h = harness();
    const g = await stableGroup(h, 1);
    assert.ok(h.saved.has(GROUP));
    h.coordinator.leave(GROUP, g.leader, null);
    assert.equal(stateOf(h), 'Dead');
    assert.equal(h.saved.has(GROUP), false);
    // Nor of groups whose join is refused or whose pending member ids expire.
    for (let i = 0; i < 20; i++) {
      await join(h, { groupId: `typo-${i}`, protocolType: '' });
      await join(h, { groupId: `pending-${i}`, requireKnownMemberId: true });
    }
    await advance(h, 60_000);
    assert.equal(h.saved.size, 0);
  });

  it('DeleteGroups deletes the saved metadata with the offsets: a new group of that id starts at generation 1', async () => {
    const h = harness();
    h.offsets.add(GROUP);
    const g = await stableGroup(h, 1);
    h.coordinator.leave(GROUP, g.leader, null);
    assert.ok(h.saved.has(GROUP));
    assert.equal(h.coordinator.delete(GROUP), ErrorCode.NONE);
    assert.equal(h.saved.has(GROUP), false);
    h.offsets.add(GROUP); // a simple consumer commits under the same id
    assert.equal(h.coordinator.describe(GROUP).protocolType, '');
    const fresh = await join(h);
    await advance(h, DELAY_MS);
    assert.equal(fresh.value.generationId, 1);
  });

  it('forgets an Empty group in memory once its last offsets are gone (expiry, topic deletion)', async () => {
    const h = harness();
    h.offsets.add(GROUP);
    const g = await stableGroup(h, 1);
    h.coordinator.leave(GROUP, g.leader, null);
    assert.equal(stateOf(h), 'Empty');
    h.coordinator.offsetsGone(GROUP);
    assert.equal(stateOf(h), 'Empty', 'it still has offsets');
    h.offsets.delete(GROUP);
    h.coordinator.offsetsGone(GROUP);
    assert.equal(stateOf(h), 'Dead');
    assert.deepEqual(h.coordinator.list(), []);
  });

  it('never forgets a group with members that way', async () => {
    const h = harness();
    await stableGroup(h, 1);
    h.coordinator.offsetsGone(GROUP);
    assert.equal(stateOf(h), 'Stable');
  });
});
