import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { advance, at, DELAY_MS, GROUP, harness, join, protocols, stableGroup, stateOf, sync } from './harness.js';

describe('GroupCoordinator DescribeGroups', () => {
  it('an unknown group is Dead, with nothing in it; one that only has committed offsets is Empty', () => {
    const h = harness();
    assert.deepEqual(h.coordinator.describe('nope'), { groupId: 'nope', state: 'Dead', protocolType: '', protocolName: '', members: [] });
    h.offsets.add('restored');
    assert.deepEqual(h.coordinator.describe('restored'), { groupId: 'restored', state: 'Empty', protocolType: '', protocolName: '', members: [] });
  });

  it('names each state as Kafka does; protocol, member metadata and assignments only once Stable', async () => {
    const h = harness();
    const a = await join(h, { clientId: 'a', clientHost: '/10.0.0.1', protocols: [{ name: 'range', metadata: Buffer.from('a-meta') }] });
    const b = await join(h, { clientId: 'b', clientHost: '/10.0.0.2', protocols: [{ name: 'range', metadata: Buffer.from('b-meta') }] });

    const preparing = h.coordinator.describe(GROUP);
    assert.equal(preparing.state, 'PreparingRebalance');
    assert.equal(preparing.protocolType, 'consumer');
    assert.equal(preparing.protocolName, '');
    assert.deepEqual(
      preparing.members.map((m) => [m.clientId, m.clientHost, m.groupInstanceId, m.metadata.length, m.assignment.length]),
      [
        ['a', '/10.0.0.1', null, 0, 0],
        ['b', '/10.0.0.2', null, 0, 0],
      ],
    );

    await advance(h, DELAY_MS);
    const completing = h.coordinator.describe(GROUP);
    assert.equal(completing.state, 'CompletingRebalance');
    assert.equal(completing.protocolName, '');
    assert.ok(completing.members.every((m) => m.metadata.length === 0 && m.assignment.length === 0));

    const [la, fb] = [a.value.memberId, b.value.memberId];
    await sync(h, la, 1, {
      assignments: [
        { memberId: la, assignment: Buffer.from('A') },
        { memberId: fb, assignment: Buffer.from('B') },
      ],
    });
    const stable = h.coordinator.describe(GROUP);
    assert.equal(stable.state, 'Stable');
    assert.equal(stable.protocolType, 'consumer');
    assert.equal(stable.protocolName, 'range');
    assert.deepEqual(stable.members, [
      { memberId: la, groupInstanceId: null, clientId: 'a', clientHost: '/10.0.0.1', metadata: Buffer.from('a-meta'), assignment: Buffer.from('A') },
      { memberId: fb, groupInstanceId: null, clientId: 'b', clientHost: '/10.0.0.2', metadata: Buffer.from('b-meta'), assignment: Buffer.from('B') },
    ]);

    // With committed offsets an emptied group stays, Empty; without, it is forgotten (Dead), as in Kafka.
    h.offsets.add(GROUP);
    h.coordinator.leave(GROUP, la, null);
    h.coordinator.leave(GROUP, fb, null);
    assert.deepEqual(h.coordinator.describe(GROUP), { groupId: GROUP, state: 'Empty', protocolType: 'consumer', protocolName: '', members: [] });
  });

  it('forgets a group that empties without committed offsets, so unused group ids do not pile up in memory', async () => {
    const h = harness();
    const g = await stableGroup(h, 1);
    h.coordinator.leave(GROUP, g.leader, null);
    assert.equal(h.coordinator.describe(GROUP).state, 'Dead');
    assert.deepEqual(h.coordinator.list(), []);
    // Refused joins and expired KIP-394 member ids leave nothing behind either.
    for (let i = 0; i < 50; i++) {
      await join(h, { groupId: `typo-${i}`, protocolType: '' });
      await join(h, { groupId: `pending-${i}`, requireKnownMemberId: true });
    }
    await advance(h, 60_000);
    assert.deepEqual(h.coordinator.list(), []);
  });

  it('reports the metadata of the chosen protocol', async () => {
    const h = harness();
    await stableGroup(h, 2, () => ({ protocols: protocols('roundrobin', 'range') }));
    const d = h.coordinator.describe(GROUP);
    assert.equal(d.protocolName, 'roundrobin');
    assert.ok(d.members.every((m) => m.metadata.equals(Buffer.from('roundrobin-meta'))));
  });
});

describe('GroupCoordinator ListGroups', () => {
  it('lists the groups in memory with their state and protocol type, plus offsets-only groups as Empty with their saved protocol type, sorted', async () => {
    const h = harness();
    assert.deepEqual(h.coordinator.list(), []);
    await stableGroup(h, 1);
    await join(h, { groupId: 'b-connect', protocolType: 'connect' });
    h.offsets.add('a-restored');
    h.saved.set('a-restored', { protocolType: 'consumer', generationId: 3 });
    h.offsets.add('a-simple'); // only ever committed without joining: no protocol type, as in Kafka
    h.offsets.add(GROUP); // in memory too: listed once, with its live state
    assert.deepEqual(h.coordinator.list(), [
      { groupId: 'a-restored', protocolType: 'consumer', state: 'Empty' },
      { groupId: 'a-simple', protocolType: '', state: 'Empty' },
      { groupId: 'b-connect', protocolType: 'connect', state: 'PreparingRebalance' },
      { groupId: GROUP, protocolType: 'consumer', state: 'Stable' },
    ]);
  });

  it('lists a group whose members have all gone as Empty (it has offsets), and forgets a deleted one', async () => {
    const h = harness();
    const g = await stableGroup(h, 1);
    h.offsets.add(GROUP);
    h.coordinator.leave(GROUP, g.leader, null);
    assert.deepEqual(h.coordinator.list(), [{ groupId: GROUP, protocolType: 'consumer', state: 'Empty' }]);
    assert.equal(h.coordinator.delete(GROUP), ErrorCode.NONE);
    assert.deepEqual(h.coordinator.list(), []);
  });
});

describe('GroupCoordinator DeleteGroups', () => {
  it('NON_EMPTY_GROUP while the group has members, in every state; its offsets stay', async () => {
    const h = harness();
    h.offsets.add(GROUP);
    const a = await join(h, { clientId: 'a' });
    assert.equal(stateOf(h), 'PreparingRebalance');
    assert.equal(h.coordinator.delete(GROUP), ErrorCode.NON_EMPTY_GROUP);
    await advance(h, DELAY_MS);
    assert.equal(stateOf(h), 'CompletingRebalance');
    assert.equal(h.coordinator.delete(GROUP), ErrorCode.NON_EMPTY_GROUP);
    await sync(h, a.value.memberId, a.value.generationId);
    assert.equal(stateOf(h), 'Stable');
    assert.equal(h.coordinator.delete(GROUP), ErrorCode.NON_EMPTY_GROUP);
    assert.deepEqual(h.deletedOffsets, []);
    assert.ok(h.offsets.has(GROUP));
  });

  it('GROUP_ID_NOT_FOUND for a group neither in memory nor with offsets', () => {
    const h = harness();
    assert.equal(h.coordinator.delete('nope'), ErrorCode.GROUP_ID_NOT_FOUND);
  });

  it('NONE for an Empty group: its offsets are deleted and it is gone', async () => {
    const h = harness();
    h.offsets.add(GROUP);
    const g = await stableGroup(h, 1);
    h.coordinator.leave(GROUP, g.leader, null);
    assert.equal(h.coordinator.delete(GROUP), ErrorCode.NONE);
    assert.deepEqual(h.deletedOffsets, [GROUP]);
    assert.equal(h.offsets.has(GROUP), false);
    assert.equal(stateOf(h), 'Dead');
    assert.equal(h.coordinator.delete(GROUP), ErrorCode.GROUP_ID_NOT_FOUND, 'deleted already');
    // Its old members are strangers now; a new join starts a new group from generation 0.
    assert.equal(h.coordinator.heartbeat(GROUP, g.leader, g.generationId, null), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await join(h, { memberId: g.leader })).value.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    const fresh = await join(h);
    await advance(h, DELAY_MS);
    assert.equal(fresh.value.generationId, 1);
  });

  it('NONE for an Empty group with offsets, and for a group that only has offsets; an emptied group without offsets is gone', async () => {
    const h = harness();
    const g = await stableGroup(h, 1);
    h.offsets.add(GROUP);
    h.coordinator.leave(GROUP, g.leader, null);
    assert.equal(h.coordinator.delete(GROUP), ErrorCode.NONE);
    h.offsets.add('restored');
    assert.equal(h.coordinator.delete('restored'), ErrorCode.NONE);
    assert.deepEqual(h.deletedOffsets, [GROUP, 'restored']);
    const other = await join(h, { groupId: 'unused', clientId: 'u' });
    await advance(h, DELAY_MS);
    assert.equal(h.coordinator.leave('unused', other.value.memberId, null), ErrorCode.NONE);
    assert.equal(h.coordinator.delete('unused'), ErrorCode.GROUP_ID_NOT_FOUND);
    assert.equal(h.coordinator.describe('restored').state, 'Dead');
  });
});

describe('GroupCoordinator close', () => {
  it('answers parked JoinGroups and SyncGroups with COORDINATOR_NOT_AVAILABLE and cancels every timer', async () => {
    const h = harness();
    // Group g: a follower parked in SyncGroup. Group h2: two members parked in the join phase.
    const a = await join(h, { clientId: 'a' });
    const b = await join(h, { clientId: 'b' });
    await advance(h, DELAY_MS);
    const parkedSync = await sync(h, b.value.memberId, b.value.generationId);
    const j1 = await join(h, { groupId: 'h2', clientId: 'x' });
    const j2 = await join(h, { groupId: 'h2', clientId: 'y' });
    const pending = await join(h, { groupId: 'h3', requireKnownMemberId: true });
    assert.equal(pending.value.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.ok(h.clock.pending > 0);

    h.coordinator.close();
    await advance(h, 0);
    assert.equal(parkedSync.value.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    assert.equal(j1.value.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    assert.equal(j2.value.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    assert.equal(j1.value.memberId, at(h.coordinator.describe('h2').members, 0).memberId);
    assert.equal(h.clock.pending, 0, 'no session, join or pending-member timer left');
    assert.equal(a.value.errorCode, ErrorCode.NONE);
  });
});
