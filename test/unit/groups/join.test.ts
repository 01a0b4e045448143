import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import {
  advance,
  at,
  DELAY_MS,
  GROUP,
  harness,
  join,
  memberIds,
  protocols,
  SESSION_MS,
  stableGroup,
  stateOf,
  sync,
} from './harness.js';

const GENERATED_ID = /^rdkafka-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('GroupCoordinator JoinGroup: validation', () => {
  it('refuses an empty group id with INVALID_GROUP_ID and creates nothing', async () => {
    const h = harness();
    const j = await join(h, { groupId: '', memberId: 'm-1' });
    assert.equal(j.value.errorCode, ErrorCode.INVALID_GROUP_ID);
    assert.equal(j.value.memberId, 'm-1');
    assert.equal(j.value.generationId, -1);
    assert.deepEqual(h.coordinator.list(), []);
  });

  it('refuses session timeouts outside [min, max] with INVALID_SESSION_TIMEOUT; the bounds themselves are accepted', async () => {
    const h = harness();
    for (const sessionTimeoutMs of [5999, 1_800_001, 0, -1]) {
      const j = await join(h, { sessionTimeoutMs });
      assert.equal(j.value.errorCode, ErrorCode.INVALID_SESSION_TIMEOUT, `session ${sessionTimeoutMs}`);
    }
    assert.deepEqual(h.coordinator.list(), [], 'a refused join creates no group');
    for (const sessionTimeoutMs of [6000, 1_800_000]) {
      // KIP-394's immediate answer shows the request passed validation.
      const j = await join(h, { sessionTimeoutMs, requireKnownMemberId: true });
      assert.equal(j.value.errorCode, ErrorCode.MEMBER_ID_REQUIRED, `session ${sessionTimeoutMs}`);
    }
  });

  it('answers a member id on an unknown group with UNKNOWN_MEMBER_ID and creates no group', async () => {
    const h = harness();
    const j = await join(h, { memberId: 'ghost' });
    assert.equal(j.value.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(j.value.memberId, 'ghost');
    assert.equal(stateOf(h), 'Dead');
    assert.deepEqual(h.coordinator.list(), []);
  });

  it('answers an unknown member id on an existing group with UNKNOWN_MEMBER_ID', async () => {
    const h = harness();
    await stableGroup(h, 1);
    const j = await join(h, { memberId: 'ghost' });
    assert.equal(j.value.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(stateOf(h), 'Stable', 'no rebalance for a stranger');
  });

  it('refuses an empty protocol type or an empty protocol list on a new group with INCONSISTENT_GROUP_PROTOCOL', async () => {
    const h = harness();
    assert.equal((await join(h, { protocolType: '' })).value.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal((await join(h, { protocols: [] })).value.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.deepEqual(memberIds(h), []);
  });

  it('refuses another protocol type, or no protocol in common, with INCONSISTENT_GROUP_PROTOCOL', async () => {
    const h = harness();
    const first = await join(h, { protocols: protocols('range', 'roundrobin') });
    const otherType = await join(h, { protocolType: 'connect', protocols: protocols('range') });
    assert.equal(otherType.value.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const noCommon = await join(h, { protocols: protocols('sticky', 'RoundRobinAssigner') });
    assert.equal(noCommon.value.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const oneInCommon = await join(h, { protocols: protocols('sticky', 'roundrobin') });
    await advance(h, DELAY_MS);
    assert.equal(first.value.errorCode, ErrorCode.NONE);
    assert.equal(oneInCommon.value.errorCode, ErrorCode.NONE);
    assert.equal(first.value.protocolName, 'roundrobin');
    assert.equal(memberIds(h).length, 2);
  });
});

describe('GroupCoordinator JoinGroup: KIP-394 member ids', () => {
  it('v4+: a first join gets MEMBER_ID_REQUIRED with a `clientId-uuid` id; the rejoin with it joins', async () => {
    const h = harness();
    const first = await join(h, { clientId: 'rdkafka', requireKnownMemberId: true });
    assert.equal(first.value.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.match(first.value.memberId, GENERATED_ID);
    assert.equal(first.value.generationId, -1);
    assert.equal(stateOf(h), 'Empty', 'a pending member does not start a rebalance');
    assert.deepEqual(memberIds(h), []);

    const id = first.value.memberId;
    const rejoin = await join(h, { clientId: 'rdkafka', memberId: id, requireKnownMemberId: true });
    assert.equal(stateOf(h), 'PreparingRebalance');
    await advance(h, DELAY_MS);
    assert.equal(rejoin.value.errorCode, ErrorCode.NONE);
    assert.equal(rejoin.value.memberId, id);
    assert.equal(rejoin.value.generationId, 1);
    assert.equal(rejoin.value.leader, id);
    assert.equal(rejoin.value.protocolType, 'consumer');
    assert.equal(rejoin.value.protocolName, 'range');
    assert.deepEqual(rejoin.value.members, [{ memberId: id, groupInstanceId: null, metadata: Buffer.from('range-meta') }]);
  });

  it('below v4 never answers MEMBER_ID_REQUIRED: the first join is the join, with a generated id', async () => {
    const h = harness();
    const j = await join(h, { clientId: 'rdkafka', requireKnownMemberId: false });
    assert.equal(j.settled, false);
    await advance(h, DELAY_MS);
    assert.equal(j.value.errorCode, ErrorCode.NONE);
    assert.match(j.value.memberId, GENERATED_ID);
    assert.equal(j.value.generationId, 1);
  });

  it('forgets a pending member id after its session timeout: the late rejoin gets UNKNOWN_MEMBER_ID', async () => {
    const h = harness();
    const first = await join(h, { requireKnownMemberId: true });
    await advance(h, SESSION_MS);
    const late = await join(h, { memberId: first.value.memberId, requireKnownMemberId: true });
    assert.equal(late.value.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(h.clock.pending, 0, 'no timer left behind');
  });

  it('accepts the pending id until the session timeout', async () => {
    const h = harness();
    const first = await join(h, { requireKnownMemberId: true });
    await advance(h, SESSION_MS - 1);
    const rejoin = await join(h, { memberId: first.value.memberId, requireKnownMemberId: true });
    await advance(h, DELAY_MS);
    assert.equal(rejoin.value.errorCode, ErrorCode.NONE);
    assert.equal(rejoin.value.memberId, first.value.memberId);
  });

  it('a pending member holds the join phase until it rejoins, or until its id expires', async () => {
    const h = harness();
    const g = await stableGroup(h, 1);
    const pending = await join(h, { clientId: 'late', requireKnownMemberId: true });
    assert.equal(pending.value.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.equal(stateOf(h), 'Stable');
    // The leader rejoins: a rebalance that waits for the pending member too.
    const leader = await join(h, { memberId: g.leader });
    assert.equal(stateOf(h), 'PreparingRebalance');
    await advance(h, SESSION_MS - 1);
    assert.equal(leader.settled, false);
    await advance(h, 1);
    assert.equal(leader.value.errorCode, ErrorCode.NONE);
    assert.equal(leader.value.generationId, g.generationId + 1);
    assert.deepEqual(memberIds(h), [g.leader]);
  });

  it('a pending member that rejoins during a rebalance completes it', async () => {
    const h = harness();
    const g = await stableGroup(h, 1);
    const pending = await join(h, { clientId: 'late', requireKnownMemberId: true });
    const leader = await join(h, { memberId: g.leader, requireKnownMemberId: true });
    const late = await join(h, { clientId: 'late', memberId: pending.value.memberId, requireKnownMemberId: true });
    assert.equal(leader.value.errorCode, ErrorCode.NONE);
    assert.equal(late.value.errorCode, ErrorCode.NONE);
    assert.equal(late.value.generationId, g.generationId + 1);
    assert.deepEqual(memberIds(h), [g.leader, pending.value.memberId]);
  });
});

describe('GroupCoordinator JoinGroup: the join phase', () => {
  it('from Empty waits the initial rebalance delay even when everyone has joined, then completes at once', async () => {
    const h = harness();
    const a = await join(h, { clientId: 'a' });
    await advance(h, 1000);
    const b = await join(h, { clientId: 'b' });
    assert.equal(stateOf(h), 'PreparingRebalance');
    // b's join extended the delay: it ends DELAY_MS after b joined.
    await advance(h, DELAY_MS - 1);
    assert.equal(a.settled, false);
    assert.equal(b.settled, false);
    await advance(h, 1);
    assert.equal(a.value.errorCode, ErrorCode.NONE);
    assert.equal(b.value.errorCode, ErrorCode.NONE);
    assert.equal(stateOf(h), 'CompletingRebalance');
  });

  it('a member joining during the initial delay extends it (up to the rebalance timeout), so both land in one generation', async () => {
    const h = harness();
    const a = await join(h, { clientId: 'a' });
    await advance(h, 2500);
    const b = await join(h, { clientId: 'b' });
    await advance(h, 600); // 3100 ms: past the first delay, inside the extended one
    assert.equal(a.settled, false);
    await advance(h, 2400); // 5500 ms = b's join + the delay
    assert.deepEqual([a.value.generationId, b.value.generationId], [1, 1]);
    assert.equal(a.value.members.length + b.value.members.length, 2, 'the leader sees both members');
  });

  it('with no initial delay configured, a first join completes immediately', async () => {
    const h = harness({ initialRebalanceDelayMs: 0 });
    const a = await join(h);
    assert.equal(a.value.errorCode, ErrorCode.NONE);
    assert.equal(a.value.generationId, 1);
  });

  it('answers two members with the same generation; only the leader gets the members, with the chosen protocol’s metadata', async () => {
    const h = harness();
    const a = await join(h, {
      clientId: 'a',
      protocols: [
        { name: 'range', metadata: Buffer.from('a-range') },
        { name: 'roundrobin', metadata: Buffer.from('a-rr') },
      ],
    });
    const b = await join(h, { clientId: 'b', protocols: [{ name: 'range', metadata: Buffer.from('b-range') }] });
    await advance(h, DELAY_MS);
    const [la, fb] = [a.value, b.value];
    assert.equal(la.errorCode, ErrorCode.NONE);
    assert.equal(fb.errorCode, ErrorCode.NONE);
    assert.equal(la.generationId, 1);
    assert.equal(fb.generationId, 1);
    assert.equal(la.leader, la.memberId, 'the first joiner leads');
    assert.equal(fb.leader, la.memberId);
    assert.notEqual(fb.memberId, la.memberId);
    for (const o of [la, fb]) {
      assert.equal(o.protocolType, 'consumer');
      assert.equal(o.protocolName, 'range');
    }
    assert.deepEqual(la.members, [
      { memberId: la.memberId, groupInstanceId: null, metadata: Buffer.from('a-range') },
      { memberId: fb.memberId, groupInstanceId: null, metadata: Buffer.from('b-range') },
    ]);
    assert.deepEqual(fb.members, []);
  });

  it('chooses the protocol every member supports by first-choice votes', async () => {
    const cases: { members: string[][]; chosen: string }[] = [
      { members: [['range', 'roundrobin'], ['roundrobin', 'range'], ['roundrobin']], chosen: 'roundrobin' },
      { members: [['range', 'roundrobin'], ['roundrobin', 'range'], ['roundrobin', 'range']], chosen: 'roundrobin' },
      { members: [['range', 'roundrobin'], ['range', 'roundrobin'], ['roundrobin', 'range']], chosen: 'range' },
      // A member's vote goes to its first protocol that all support (not to `sticky`, which one lacks).
      { members: [['sticky', 'roundrobin', 'range'], ['sticky', 'roundrobin', 'range'], ['range', 'roundrobin']], chosen: 'roundrobin' },
      // A tie goes to the first member's preference.
      { members: [['range', 'roundrobin'], ['roundrobin', 'range']], chosen: 'range' },
      { members: [['roundrobin', 'range'], ['range', 'roundrobin']], chosen: 'roundrobin' },
    ];
    for (const { members, chosen } of cases) {
      const h = harness();
      const joins = [];
      for (const [i, names] of members.entries()) joins.push(await join(h, { clientId: `c${i}`, protocols: protocols(...names) }));
      await advance(h, DELAY_MS);
      for (const j of joins) assert.equal(j.value.protocolName, chosen, JSON.stringify(members));
      assert.ok(at(joins, 0).value.members.every((m) => m.metadata.equals(Buffer.from(`${chosen}-meta`))));
    }
  });

  it('drops a member that does not rejoin within the rebalance timeout; the others complete at the deadline', async () => {
    const h = harness();
    // Sessions longer than the rebalance timeout: the deadline, not a session expiry, removes the straggler.
    const g = await stableGroup(h, 3, () => ({ sessionTimeoutMs: 40_000, rebalanceTimeoutMs: 20_000 }));
    const [a, b, c] = [at(g.members, 0), at(g.members, 1), at(g.members, 2)];
    const rejoinB = await join(h, { memberId: b.memberId, sessionTimeoutMs: 40_000, rebalanceTimeoutMs: 20_000, protocols: protocols('range', 'roundrobin') });
    assert.equal(stateOf(h), 'PreparingRebalance');
    const rejoinA = await join(h, { memberId: a.memberId, sessionTimeoutMs: 40_000, rebalanceTimeoutMs: 20_000 });
    await advance(h, 20_000 - 1);
    assert.equal(rejoinA.settled, false);
    assert.equal(rejoinB.settled, false);
    await advance(h, 1);
    assert.equal(rejoinA.value.errorCode, ErrorCode.NONE);
    assert.equal(rejoinB.value.errorCode, ErrorCode.NONE);
    assert.equal(rejoinA.value.generationId, g.generationId + 1);
    assert.equal(rejoinA.value.leader, a.memberId);
    assert.deepEqual(
      rejoinA.value.members.map((m) => m.memberId),
      [a.memberId, b.memberId],
    );
    assert.deepEqual(memberIds(h), [a.memberId, b.memberId]);
    assert.equal(h.coordinator.heartbeat(GROUP, c.memberId, g.generationId, null), ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('elects a new leader among the rejoined members when the leader misses the deadline', async () => {
    const h = harness();
    const g = await stableGroup(h, 3, () => ({ sessionTimeoutMs: 40_000, rebalanceTimeoutMs: 20_000 }));
    const [a, b, c] = [at(g.members, 0), at(g.members, 1), at(g.members, 2)];
    const rejoinC = await join(h, { memberId: c.memberId, sessionTimeoutMs: 40_000, rebalanceTimeoutMs: 20_000, protocols: protocols('range', 'sticky') });
    const rejoinB = await join(h, { memberId: b.memberId, sessionTimeoutMs: 40_000, rebalanceTimeoutMs: 20_000 });
    await advance(h, 20_000);
    assert.equal(rejoinB.value.leader, b.memberId);
    assert.equal(rejoinC.value.leader, b.memberId);
    assert.equal(rejoinB.value.members.length, 2);
    assert.deepEqual(rejoinC.value.members, []);
    assert.equal(h.coordinator.heartbeat(GROUP, a.memberId, g.generationId, null), ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('v0 (rebalance timeout −1) waits the session timeout for stragglers', async () => {
    const h = harness();
    const g = await stableGroup(h, 2, () => ({ rebalanceTimeoutMs: -1 }));
    // Keep the follower's session alive past the deadline: only the deadline can drop it.
    const follower = at(g.members, 1).memberId;
    const leader = await join(h, { memberId: g.leader, rebalanceTimeoutMs: -1 });
    await advance(h, SESSION_MS - 1);
    assert.equal(leader.settled, false);
    assert.equal(h.coordinator.heartbeat(GROUP, follower, g.generationId, null), ErrorCode.REBALANCE_IN_PROGRESS);
    await advance(h, 1);
    assert.equal(leader.value.errorCode, ErrorCode.NONE);
    assert.deepEqual(memberIds(h), [g.leader]);
  });

  it('the join deadline is the largest rebalance timeout of the members', async () => {
    const h = harness();
    const g = await stableGroup(h, 2, (i) => ({ sessionTimeoutMs: 60_000, rebalanceTimeoutMs: i === 0 ? 10_000 : 25_000 }));
    const leader = await join(h, { memberId: g.leader, sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 10_000 });
    await advance(h, 25_000 - 1);
    assert.equal(leader.settled, false);
    await advance(h, 1);
    assert.equal(leader.value.errorCode, ErrorCode.NONE);
  });
});

describe('GroupCoordinator JoinGroup: rejoining members', () => {
  it('a follower rejoining with unchanged metadata while Stable gets the current generation, no rebalance', async () => {
    const h = harness();
    const g = await stableGroup(h, 2);
    const follower = at(g.members, 1).memberId;
    const j = await join(h, { memberId: follower });
    assert.equal(j.value.errorCode, ErrorCode.NONE);
    assert.equal(j.value.generationId, g.generationId);
    assert.equal(j.value.leader, g.leader);
    assert.equal(j.value.memberId, follower);
    assert.equal(j.value.protocolName, 'range');
    assert.deepEqual(j.value.members, []);
    assert.equal(stateOf(h), 'Stable');
    const s = await sync(h, follower, g.generationId);
    assert.deepEqual(s.value.assignment, Buffer.from('a1'), 'its assignment is kept');
    assert.equal(h.coordinator.heartbeat(GROUP, g.leader, g.generationId, null), ErrorCode.NONE);
  });

  it('the leader rejoining while Stable starts a rebalance, even with unchanged metadata', async () => {
    const h = harness();
    const g = await stableGroup(h, 2);
    const follower = at(g.members, 1).memberId;
    const leader = await join(h, { memberId: g.leader });
    assert.equal(leader.settled, false);
    assert.equal(stateOf(h), 'PreparingRebalance');
    assert.equal(h.coordinator.heartbeat(GROUP, follower, g.generationId, null), ErrorCode.REBALANCE_IN_PROGRESS);
    // Not a rebalance from Empty: it completes as soon as everyone has rejoined, without the initial delay.
    const f = await join(h, { memberId: follower });
    assert.equal(leader.value.generationId, g.generationId + 1);
    assert.equal(f.value.generationId, g.generationId + 1);
    assert.equal(stateOf(h), 'CompletingRebalance');
  });

  it('a follower rejoining with changed metadata starts a rebalance', async () => {
    const h = harness();
    const g = await stableGroup(h, 2);
    const follower = at(g.members, 1).memberId;
    const f = await join(h, { memberId: follower, protocols: [{ name: 'range', metadata: Buffer.from('new topics') }] });
    assert.equal(f.settled, false);
    assert.equal(stateOf(h), 'PreparingRebalance');
    const l = await join(h, { memberId: g.leader });
    assert.equal(f.value.generationId, g.generationId + 1);
    assert.deepEqual(
      l.value.members.find((m) => m.memberId === follower)?.metadata,
      Buffer.from('new topics'),
      'the leader sees the new metadata',
    );
  });

  it('during CompletingRebalance, a rejoin with unchanged metadata gets the current generation (the leader its members)', async () => {
    const h = harness();
    const a = await join(h, { clientId: 'a' });
    const b = await join(h, { clientId: 'b' });
    await advance(h, DELAY_MS);
    assert.equal(stateOf(h), 'CompletingRebalance');
    const again = await join(h, { memberId: b.value.memberId });
    assert.equal(again.value.errorCode, ErrorCode.NONE);
    assert.equal(again.value.generationId, 1);
    assert.deepEqual(again.value.members, []);
    const leaderAgain = await join(h, { memberId: a.value.memberId });
    assert.equal(leaderAgain.value.generationId, 1);
    assert.equal(leaderAgain.value.members.length, 2);
    assert.equal(stateOf(h), 'CompletingRebalance');
  });

  it('during CompletingRebalance, a rejoin with changed metadata starts a rebalance', async () => {
    const h = harness();
    const a = await join(h, { clientId: 'a' });
    const b = await join(h, { clientId: 'b' });
    await advance(h, DELAY_MS);
    const changed = await join(h, { memberId: b.value.memberId, protocols: protocols('range', 'roundrobin') });
    assert.equal(changed.settled, false);
    assert.equal(stateOf(h), 'PreparingRebalance');
    const l = await join(h, { memberId: a.value.memberId });
    assert.equal(l.value.generationId, 2);
    assert.equal(changed.value.generationId, 2);
  });

  it('a new member joining a Stable group starts a rebalance', async () => {
    const h = harness();
    const g = await stableGroup(h, 1);
    const newcomer = await join(h, { clientId: 'new' });
    assert.equal(stateOf(h), 'PreparingRebalance');
    assert.equal(newcomer.settled, false);
    const l = await join(h, { memberId: g.leader });
    assert.equal(l.value.generationId, g.generationId + 1);
    assert.equal(newcomer.value.generationId, g.generationId + 1);
    assert.equal(l.value.members.length, 2);
  });

  it('a duplicate JoinGroup while parked answers the earlier one with REBALANCE_IN_PROGRESS', async () => {
    const h = harness();
    const g = await stableGroup(h, 2);
    const follower = at(g.members, 1).memberId;
    const first = await join(h, { memberId: g.leader });
    const second = await join(h, { memberId: g.leader });
    assert.equal(first.value.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(first.value.memberId, g.leader);
    assert.equal(second.settled, false);
    await join(h, { memberId: follower });
    assert.equal(second.value.errorCode, ErrorCode.NONE);
    assert.equal(second.value.generationId, g.generationId + 1);
  });

  it('a known member id on a group that has become Empty gets UNKNOWN_MEMBER_ID', async () => {
    const h = harness();
    // The group has committed offsets, so it stays (Empty) when its members are gone.
    h.offsets.add(GROUP);
    const g = await stableGroup(h, 1);
    assert.equal(h.coordinator.leave(GROUP, g.leader, null), ErrorCode.NONE);
    assert.equal(stateOf(h), 'Empty');
    const j = await join(h, { memberId: g.leader });
    assert.equal(j.value.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('a rejoin may change the session and rebalance timeouts', async () => {
    const h = harness();
    const g = await stableGroup(h, 2);
    const follower = at(g.members, 1).memberId;
    const l = await join(h, { memberId: g.leader, sessionTimeoutMs: 30_000 });
    await join(h, { memberId: follower });
    assert.equal(l.value.errorCode, ErrorCode.NONE);
    // The follower (10 s) expires, the leader (30 s) does not.
    await advance(h, SESSION_MS);
    assert.equal(stateOf(h), 'PreparingRebalance');
    assert.deepEqual(memberIds(h), [g.leader]);
  });
});
