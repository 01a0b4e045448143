import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { advance, at, DELAY_MS, GROUP, harness, join, memberIds, protocols, SESSION_MS, stableGroup, stateOf, sync } from './harness.js';

/** group.instance.id of member i: every member of these groups is static. */
const instance = (i: number): { groupInstanceId: string } => ({ groupInstanceId: `i${i}` });

describe('GroupCoordinator static membership (KIP-345)', () => {
  it('a static member joins without the KIP-394 round trip and is listed with its instance id', async () => {
    const h = harness();
    const j = await join(h, { ...instance(0), requireKnownMemberId: true });
    assert.equal(j.settled, false);
    await advance(h, DELAY_MS);
    assert.equal(j.value.errorCode, ErrorCode.NONE);
    assert.deepEqual(j.value.members, [{ memberId: j.value.memberId, groupInstanceId: 'i0', metadata: Buffer.from('range-meta') }]);
    assert.equal(h.coordinator.describe(GROUP).members[0]?.groupInstanceId, 'i0');
  });

  it('a restarted static member (empty member id, same protocols) gets a new id, the current generation and its assignment, without a rebalance', async () => {
    const h = harness();
    const g = await stableGroup(h, 2, instance);
    const old = at(g.members, 1).memberId;
    const j = await join(h, { ...instance(1), clientId: 'c1' });
    assert.equal(j.value.errorCode, ErrorCode.NONE);
    const fresh = j.value.memberId;
    assert.notEqual(fresh, old);
    assert.match(fresh, /^c1-/);
    assert.equal(j.value.generationId, g.generationId);
    assert.equal(j.value.leader, g.leader);
    assert.equal(j.value.protocolName, 'range');
    assert.deepEqual(j.value.members, []);
    assert.equal(stateOf(h), 'Stable');
    assert.deepEqual(memberIds(h), [g.leader, fresh]);
    assert.equal(h.coordinator.heartbeat(GROUP, g.leader, g.generationId, 'i0'), ErrorCode.NONE, 'the others see no rebalance');
    const s = await sync(h, fresh, g.generationId, instance(1));
    assert.equal(s.value.errorCode, ErrorCode.NONE);
    assert.deepEqual(s.value.assignment, Buffer.from('a1'));
    assert.equal(h.coordinator.heartbeat(GROUP, fresh, g.generationId, 'i1'), ErrorCode.NONE);
  });

  it('the replaced member id is fenced: heartbeat, sync, commit, join and leave with it → FENCED_INSTANCE_ID', async () => {
    const h = harness();
    const g = await stableGroup(h, 2, instance);
    const old = at(g.members, 1).memberId;
    await join(h, instance(1));
    assert.equal(h.coordinator.heartbeat(GROUP, old, g.generationId, 'i1'), ErrorCode.FENCED_INSTANCE_ID);
    assert.equal((await sync(h, old, g.generationId, instance(1))).value.errorCode, ErrorCode.FENCED_INSTANCE_ID);
    assert.equal(h.coordinator.checkCommit(GROUP, old, g.generationId, 'i1'), ErrorCode.FENCED_INSTANCE_ID);
    const rejoin = await join(h, { ...instance(1), memberId: old });
    assert.equal(rejoin.value.errorCode, ErrorCode.FENCED_INSTANCE_ID);
    assert.equal(h.coordinator.leave(GROUP, old, 'i1'), ErrorCode.FENCED_INSTANCE_ID);
    // Without its instance id the old id is just unknown.
    assert.equal(h.coordinator.heartbeat(GROUP, old, g.generationId, null), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(stateOf(h), 'Stable', 'none of this disturbs the group');
    assert.equal(memberIds(h).length, 2);
  });

  it('a restarted static leader is not told to lead a Stable group (Kafka before JoinGroup v9), and leads the next rebalance', async () => {
    const h = harness();
    const g = await stableGroup(h, 2, instance);
    const follower = at(g.members, 1).memberId;
    const j = await join(h, { ...instance(0), clientId: 'c0' });
    const fresh = j.value.memberId;
    assert.equal(j.value.errorCode, ErrorCode.NONE);
    assert.equal(j.value.generationId, g.generationId);
    assert.equal(j.value.leader, g.leader, 'the old leader id, not its own: it skips the assignment');
    assert.deepEqual(j.value.members, []);
    assert.equal(stateOf(h), 'Stable');
    assert.deepEqual((await sync(h, fresh, g.generationId, instance(0))).value.assignment, Buffer.from('a0'));
    // The next rebalance: the new id leads.
    const f = await join(h, { ...instance(1), memberId: follower, protocols: protocols('range', 'roundrobin') });
    const l = await join(h, { ...instance(0), memberId: fresh });
    assert.equal(f.value.leader, fresh);
    assert.equal(l.value.members.length, 2);
  });

  it('a static member rejoining with other protocols while Stable starts a rebalance in its new id', async () => {
    const h = harness();
    const g = await stableGroup(h, 2, instance);
    const old = at(g.members, 1).memberId;
    const j = await join(h, { ...instance(1), protocols: protocols('range', 'roundrobin') });
    assert.equal(j.settled, false);
    assert.equal(stateOf(h), 'PreparingRebalance');
    assert.equal(h.coordinator.heartbeat(GROUP, old, g.generationId, 'i1'), ErrorCode.FENCED_INSTANCE_ID);
    const l = await join(h, { ...instance(0), memberId: g.leader });
    assert.equal(j.value.generationId, g.generationId + 1);
    assert.notEqual(j.value.memberId, old);
    assert.deepEqual(
      l.value.members.map((m) => [m.memberId, m.groupInstanceId]),
      [
        [g.leader, 'i0'],
        [j.value.memberId, 'i1'],
      ],
    );
  });

  it('a static member rejoining during CompletingRebalance starts a rebalance; its old parked SyncGroup is fenced', async () => {
    const h = harness();
    const a = await join(h, { ...instance(0), clientId: 'a' });
    const b = await join(h, { ...instance(1), clientId: 'b' });
    const c = await join(h, { ...instance(2), clientId: 'c' });
    await advance(h, DELAY_MS);
    const gen = a.value.generationId;
    const parkedB = await sync(h, b.value.memberId, gen, instance(1));
    const parkedC = await sync(h, c.value.memberId, gen, instance(2));
    const restarted = await join(h, instance(1));
    assert.equal(parkedB.value.errorCode, ErrorCode.FENCED_INSTANCE_ID);
    assert.equal(parkedC.value.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(stateOf(h), 'PreparingRebalance');
    await join(h, { ...instance(0), memberId: a.value.memberId });
    await join(h, { ...instance(2), memberId: c.value.memberId });
    assert.equal(restarted.value.errorCode, ErrorCode.NONE);
    assert.equal(restarted.value.generationId, gen + 1);
  });

  it('a static member rejoining during PreparingRebalance fences its old parked JoinGroup and takes its place', async () => {
    const h = harness();
    const g = await stableGroup(h, 3, instance);
    const [old, c] = [at(g.members, 1).memberId, at(g.members, 2).memberId];
    const l = await join(h, { ...instance(0), memberId: g.leader });
    const parkedOld = await join(h, { ...instance(1), memberId: old });
    assert.equal(stateOf(h), 'PreparingRebalance');
    const restarted = await join(h, instance(1));
    assert.equal(parkedOld.value.errorCode, ErrorCode.FENCED_INSTANCE_ID);
    assert.equal(restarted.settled, false, 'still waiting for the third member');
    await join(h, { ...instance(2), memberId: c });
    assert.equal(restarted.value.errorCode, ErrorCode.NONE);
    assert.equal(restarted.value.generationId, g.generationId + 1);
    assert.deepEqual(
      l.value.members.map((m) => [m.memberId, m.groupInstanceId]),
      [
        [g.leader, 'i0'],
        [c, 'i2'],
        [restarted.value.memberId, 'i1'],
      ],
    );
  });

  it('leaves by instance id alone (member id empty): the group rebalances, and the instance id is free again', async () => {
    const h = harness();
    const g = await stableGroup(h, 2, instance);
    assert.equal(h.coordinator.leave(GROUP, '', 'i1'), ErrorCode.NONE);
    assert.equal(stateOf(h), 'PreparingRebalance');
    assert.deepEqual(memberIds(h), [g.leader]);
    assert.equal(h.coordinator.leave(GROUP, '', 'i1'), ErrorCode.UNKNOWN_MEMBER_ID, 'gone already');
    const l = await join(h, { ...instance(0), memberId: g.leader });
    assert.equal(l.value.generationId, g.generationId + 1);
    // Back with the same instance id: a new member, so a rebalance.
    const back = await join(h, instance(1));
    assert.equal(back.settled, false);
    assert.equal(stateOf(h), 'PreparingRebalance');
  });

  it('leaves by member id and instance id together', async () => {
    const h = harness();
    const g = await stableGroup(h, 2, instance);
    assert.equal(h.coordinator.leave(GROUP, at(g.members, 1).memberId, 'i1'), ErrorCode.NONE);
    assert.deepEqual(memberIds(h), [g.leader]);
  });

  it('a static member whose session expires is removed and its instance id freed', async () => {
    const h = harness();
    const g = await stableGroup(h, 2, instance);
    const old = at(g.members, 1).memberId;
    await advance(h, SESSION_MS - 1);
    assert.equal(h.coordinator.heartbeat(GROUP, g.leader, g.generationId, 'i0'), ErrorCode.NONE);
    await advance(h, 1);
    assert.deepEqual(memberIds(h), [g.leader]);
    assert.equal(h.coordinator.heartbeat(GROUP, old, g.generationId, 'i1'), ErrorCode.UNKNOWN_MEMBER_ID, 'not fenced: the instance id is free');
  });
});
