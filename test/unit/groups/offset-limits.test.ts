import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { DEFAULT_GROUP_REGISTRY_LIMITS, GroupRegistry, type GroupRegistryLimits } from '../../../src/groups/group-registry.js';
import type { GroupMembership } from '../../../src/groups/membership.js';
import { OffsetManager, type CommitRequest } from '../../../src/groups/offsets.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import type { Principal } from '../../../src/security/types.js';
import { committedOffsetBytes, MetadataStore } from '../../../src/storage/metadata-store.js';
import { recordingLogger } from '../../helpers/broker.js';

/** A coordinator that accepts every commit and knows no members (standalone commits). */
const ACCEPT_ALL: GroupMembership = { checkCommit: () => ErrorCode.NONE, hasMembers: () => false };
const TOPICS = new Map([['ledger', { partitions: 50 }]]);
const DAY = 24 * 60 * 60 * 1000;

interface Fixture {
  readonly dir: string;
  readonly store: MetadataStore;
  readonly registry: GroupRegistry;
  readonly offsets: OffsetManager;
  readonly clock: { now: number };
  readonly logger: ReturnType<typeof recordingLogger>;
}

function fixture(t: TestContext, limits: Partial<GroupRegistryLimits> = {}, dir = mkdtempSync(join(tmpdir(), 'parapet-offset-limits-'))): Fixture {
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const store = new MetadataStore(dir);
  t.after(() => {
    store.close();
  });
  const registry = new GroupRegistry({ ...DEFAULT_GROUP_REGISTRY_LIMITS, ...limits }, store.offsetBytesByGroup());
  const clock = { now: 1_700_000_000_000 };
  const logger = recordingLogger();
  const offsets = new OffsetManager({ store, membership: ACCEPT_ALL, registry, topics: { get: (n) => TOPICS.get(n) }, clock: () => clock.now, logger, retentionMs: DAY });
  return { dir, store, registry, offsets, clock, logger };
}

function commit(f: Fixture, groupId: string, partitions: readonly number[], metadata: string | null = '', principal: Principal = 'User:p'): number[] {
  const request: CommitRequest = {
    groupId,
    principal,
    memberId: '',
    generationId: -1,
    groupInstanceId: null,
    topics: [{ name: 'ledger', partitions: partitions.map((partitionIndex) => ({ partitionIndex, offset: 1n, leaderEpoch: -1, metadata })) }],
  };
  return f.offsets.commit(request).flatMap((t) => t.partitions.map((p) => p.errorCode));
}

const storedBytes = (f: Fixture) => [...f.store.offsetBytesByGroup().values()].reduce((a, b) => a + b, 0);

describe('committed offsets within the per-principal bounds', () => {
  it('counts what the store counts: the JS and SQL sizes of a row agree, multi-byte metadata included', (t) => {
    const f = fixture(t);
    commit(f, 'gé', [0, 1], 'ünïcødé 🎉');
    commit(f, 'gé', [1], null);
    assert.equal(f.store.groupOffsetBytes('gé'), committedOffsetBytes('gé', 'ledger', 'ünïcødé 🎉') + committedOffsetBytes('gé', 'ledger', ''));
    assert.equal(f.registry.usage('User:p').offsetBytes, storedBytes(f));
  });

  it('refuses partitions that would grow the holder’s offsets past the bound with INVALID_COMMIT_OFFSET_SIZE, in request order', (t) => {
    const row = committedOffsetBytes('g', 'ledger', 'x'.repeat(1000));
    const f = fixture(t, { maxOffsetBytesPerPrincipal: 3 * row + 10 });
    const errors = commit(f, 'g', [0, 1, 2, 3, 4], 'x'.repeat(1000));
    assert.deepEqual(errors, [0, 0, 0, ErrorCode.INVALID_COMMIT_OFFSET_SIZE, ErrorCode.INVALID_COMMIT_OFFSET_SIZE]);
    assert.equal(f.store.fetchOffsets('g', null).length, 3);
    // Recommitting stored partitions does not grow them: a consumer at the bound keeps committing.
    assert.deepEqual(commit(f, 'g', [0, 1, 2], 'x'.repeat(1000)), [0, 0, 0]);
    // Shorter metadata frees room for another partition.
    assert.deepEqual(commit(f, 'g', [0, 1], ''), [0, 0]);
    assert.deepEqual(commit(f, 'g', [3], 'x'.repeat(1000)), [0]);
    assert.equal(f.registry.usage('User:p').offsetBytes, storedBytes(f));
    assert.ok(storedBytes(f) <= 3 * row + 10);
    const warning = f.logger.entries.find((e) => e.level === 'warn');
    assert.deepEqual(warning?.obj, { api: 'OffsetCommit', group: 'g', principal: 'User:p', limit: 'groupMaxOffsetBytesPerPrincipal', errorCode: ErrorCode.INVALID_COMMIT_OFFSET_SIZE });
  });

  it('the bound is per principal, over all the groups it holds; another principal has its own', (t) => {
    const row = committedOffsetBytes('g0', 'ledger', '');
    const f = fixture(t, { maxOffsetBytesPerPrincipal: 4 * row });
    assert.deepEqual(commit(f, 'g0', [0, 1]), [0, 0]);
    assert.deepEqual(commit(f, 'g1', [0, 1, 2]), [0, 0, ErrorCode.INVALID_COMMIT_OFFSET_SIZE]);
    assert.deepEqual(commit(f, 'g2', [0], '', 'User:q'), [0]);
    // A commit by q into p's group is charged to p, who holds it.
    assert.deepEqual(commit(f, 'g1', [5], '', 'User:q'), [ErrorCode.INVALID_COMMIT_OFFSET_SIZE]);
  });

  it('refuses a commit that would create a group past maxGroupsPerPrincipal with POLICY_VIOLATION, storing nothing', (t) => {
    const f = fixture(t, { maxGroupsPerPrincipal: 2 });
    assert.deepEqual(commit(f, 'g1', [0]), [0]);
    assert.deepEqual(commit(f, 'g2', [0]), [0]);
    assert.deepEqual(commit(f, 'g3', [0, 1]), [ErrorCode.POLICY_VIOLATION, ErrorCode.POLICY_VIOLATION]);
    assert.equal(f.store.hasOffsets('g3'), false);
    assert.deepEqual(commit(f, 'g1', [1]), [0], 'a group it holds takes more partitions');
    assert.deepEqual(commit(f, 'g3', [0], '', 'User:q'), [0]);
  });

  it('a commit that stores nothing (metadata too large) holds no group', (t) => {
    const f = fixture(t);
    assert.deepEqual(commit(f, 'g', [0], 'x'.repeat(4097)), [ErrorCode.OFFSET_METADATA_TOO_LARGE]);
    assert.equal(f.registry.size, 0);
  });

  it('offset expiry gives back the bytes and the group; so does a topic deletion, at the next expiry run', (t) => {
    const f = fixture(t, { maxGroupsPerPrincipal: 1 });
    commit(f, 'g', [0, 1]);
    assert.equal(f.registry.usage('User:p').groups, 1);
    f.clock.now += DAY;
    assert.equal(f.offsets.expireOffsets().expired, 2);
    assert.deepEqual(f.registry.usage('User:p'), { groups: 0, memoryBytes: 0, offsetBytes: 0 });
    assert.deepEqual(commit(f, 'h', [0]), [0]);
    f.store.deleteTopic('ledger');
    assert.equal(f.registry.usage('User:p').groups, 1, 'the registry learns of it at the next run');
    f.offsets.expireOffsets();
    assert.deepEqual(f.registry.usage('User:p'), { groups: 0, memoryBytes: 0, offsetBytes: 0 });
  });

  it('after a restart, stored groups count towards maxGroups and are charged to the first principal that commits to them', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-offset-limits-'));
    {
      const store = new MetadataStore(dir);
      const offsets = new OffsetManager({ store, membership: ACCEPT_ALL, registry: new GroupRegistry(DEFAULT_GROUP_REGISTRY_LIMITS), topics: { get: (n) => TOPICS.get(n) }, clock: () => 0 });
      for (const g of ['a', 'b']) offsets.commit({ groupId: g, principal: 'User:p', memberId: '', generationId: -1, groupInstanceId: null, topics: [{ name: 'ledger', partitions: [{ partitionIndex: 0, offset: 1n, leaderEpoch: -1, metadata: '' }] }] });
      store.close();
    }
    const f = fixture(t, { maxGroups: 2 }, dir);
    assert.equal(f.registry.size, 2);
    assert.deepEqual(commit(f, 'c', [0]), [ErrorCode.POLICY_VIOLATION]);
    assert.deepEqual(commit(f, 'a', [1]), [0]);
    assert.equal(f.registry.ownerOf('a'), 'User:p');
    assert.equal(f.registry.usage('User:p').offsetBytes, f.store.groupOffsetBytes('a'));
  });
});
