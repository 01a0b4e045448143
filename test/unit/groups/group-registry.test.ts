import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_GROUP_REGISTRY_LIMITS, GroupRegistry } from '../../../src/groups/group-registry.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';

const limits = (overrides: Partial<typeof DEFAULT_GROUP_REGISTRY_LIMITS> = {}) => ({ ...DEFAULT_GROUP_REGISTRY_LIMITS, ...overrides });
const IDLE = { groups: 0, memoryBytes: 0, offsetBytes: 0 };

describe('GroupRegistry', () => {
  it('a group exists while it is live or has offsets, and is held by its creator until then', () => {
    const r = new GroupRegistry(limits());
    r.hold('g', 'User:a');
    r.setLive('g', true);
    r.addOffsetBytes('g', 100);
    assert.deepEqual(r.usage('User:a'), { groups: 1, memoryBytes: 0, offsetBytes: 100 });
    r.setLive('g', false);
    assert.ok(r.has('g'), 'kept by its offsets');
    r.setOffsetBytes('g', 0);
    assert.ok(!r.has('g'));
    assert.deepEqual(r.usage('User:a'), IDLE);
  });

  it('refuses a new group past the principal’s bound or the broker’s, never one that exists', () => {
    const r = new GroupRegistry(limits({ maxGroupsPerPrincipal: 1, maxGroups: 2 }));
    assert.equal(r.canHold('g1', 'User:a'), ErrorCode.NONE);
    r.hold('g1', 'User:a');
    r.setLive('g1', true);
    assert.equal(r.canHold('g2', 'User:a'), ErrorCode.POLICY_VIOLATION);
    assert.equal(r.canHold('g1', 'User:a'), ErrorCode.NONE);
    assert.equal(r.canHold('g2', 'User:b'), ErrorCode.NONE);
    r.hold('g2', 'User:b');
    r.setLive('g2', true);
    assert.equal(r.canHold('g3', 'User:c'), ErrorCode.POLICY_VIOLATION, 'the broker holds maxGroups');
  });

  it('groups loaded at start-up count towards maxGroups and are adopted by the first principal to use them', () => {
    const r = new GroupRegistry(limits({ maxGroups: 2, maxOffsetBytesPerPrincipal: 1000 }), new Map([['old', 300], ['older', 200]]));
    assert.equal(r.size, 2);
    assert.equal(r.ownerOf('old'), null);
    assert.equal(r.canHold('new', 'User:a'), ErrorCode.POLICY_VIOLATION);
    assert.equal(r.offsetRoom('old', 'User:a'), 700, 'adopting it would charge its offsets');
    r.hold('old', 'User:a');
    assert.equal(r.ownerOf('old'), 'User:a');
    assert.deepEqual(r.usage('User:a'), { groups: 1, memoryBytes: 0, offsetBytes: 300 });
    assert.equal(r.offsetRoom('old', 'User:b'), 700, 'room is the holder’s, whoever commits');
  });

  it('reconcile brings offset bytes in line with the store and forgets groups left without any', () => {
    const r = new GroupRegistry(limits());
    for (const g of ['a', 'b']) {
      r.hold(g, 'User:x');
      r.addOffsetBytes(g, 100);
    }
    r.hold('live', 'User:x');
    r.setLive('live', true);
    r.reconcile(new Map([['a', 40], ['stranger', 10]]));
    assert.ok(r.has('a') && !r.has('b') && r.has('live') && r.has('stranger'));
    assert.deepEqual(r.usage('User:x'), { groups: 2, memoryBytes: 0, offsetBytes: 40 });
    assert.equal(r.ownerOf('stranger'), null);
  });

  it('charges memory up to the bound and no further; a refused charge changes nothing', () => {
    const r = new GroupRegistry(limits({ maxMemoryBytesPerPrincipal: 100 }));
    assert.ok(r.chargeMemory('User:a', 60));
    assert.ok(!r.chargeMemory('User:a', 41));
    assert.equal(r.memoryRoom('User:a'), 40);
    assert.ok(r.chargeMemory('User:a', 40));
    r.releaseMemory('User:a', 100);
    assert.deepEqual(r.usage('User:a'), IDLE);
    assert.ok(!r.chargeMemory('User:b', 101));
    assert.deepEqual(r.usage('User:b'), IDLE);
  });
});
