import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { offsetCommitHandler } from '../../../src/broker/handlers/offset-commit.js';
import { offsetFetchHandler } from '../../../src/broker/handlers/offset-fetch.js';
import type { GroupMembership } from '../../../src/groups/membership.js';
import { DEFAULT_OFFSET_RETENTION_MS, OffsetManager } from '../../../src/groups/offsets.js';
import { DEFAULT_GROUP_REGISTRY_LIMITS, GroupRegistry } from '../../../src/groups/group-registry.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { OffsetCommit, type OffsetCommitRequest, type OffsetCommitResponse } from '../../../src/protocol/messages/offset-commit.js';
import { OffsetFetch, type OffsetFetchRequest, type OffsetFetchResponse } from '../../../src/protocol/messages/offset-fetch.js';
import type { ApiSchema } from '../../../src/protocol/messages/schema.js';
import type { HandlerEntry } from '../../../src/server/handler.js';
import { MetadataStore } from '../../../src/storage/metadata-store.js';
import { handleOverWire } from '../../helpers/request-context.js';

const HOUR = 60 * 60 * 1000;

/** A coordinator stand-in: answers checkCommit with `commitError` and records the calls. */
class FakeMembership implements GroupMembership {
  commitError: number = ErrorCode.NONE;
  readonly withMembers = new Set<string>();
  readonly calls: [string, string, number, string | null][] = [];

  checkCommit(groupId: string, memberId: string, generationId: number, groupInstanceId: string | null): number {
    this.calls.push([groupId, memberId, generationId, groupInstanceId]);
    return this.commitError;
  }

  hasMembers(groupId: string): boolean {
    return this.withMembers.has(groupId);
  }
}

interface Fixture {
  dir: string;
  store: MetadataStore;
  membership: FakeMembership;
  clock: { now: number };
  offsets: OffsetManager;
  entries: HandlerEntry[];
  commit: (version: number, body: OffsetCommitRequest) => Promise<OffsetCommitResponse>;
  fetch: (version: number, body: OffsetFetchRequest) => Promise<OffsetFetchResponse>;
}

const TOPICS = new Map([
  ['orders', { partitions: 3 }],
  ['audit', { partitions: 1 }],
]);

function fixture(t: TestContext, options: { dir?: string; retentionMs?: number } = {}): Fixture {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'parapet-offsets-'));
  if (options.dir === undefined) {
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
  }
  const store = new MetadataStore(dir);
  t.after(() => {
    store.close();
  });
  const membership = new FakeMembership();
  const clock = { now: 1_700_000_000_000 };
  const offsets = new OffsetManager({
    store,
    membership,
    registry: new GroupRegistry(DEFAULT_GROUP_REGISTRY_LIMITS, store.offsetBytesByGroup()),
    topics: { get: (name) => TOPICS.get(name) },
    clock: () => clock.now,
    ...(options.retentionMs === undefined ? {} : { retentionMs: options.retentionMs }),
  });
  const entries = offsetHandlers(offsets);
  return {
    dir,
    store,
    membership,
    clock,
    offsets,
    entries,
    commit: (version, body) => roundTrip(entries, OffsetCommit, version, body) as Promise<OffsetCommitResponse>,
    fetch: (version, body) => roundTrip(entries, OffsetFetch, version, body),
  };
}

/** Encodes the request at `version`, decodes it as the broker does, handles it, and decodes the response. */
function roundTrip(entries: readonly HandlerEntry[], api: ApiSchema, version: number, body: object): Promise<Record<string, unknown>> {
  return handleOverWire(entries, api, version, body);
}

function commitBody(
  groupId: string,
  partitions: { topic?: string; partition: number; offset: bigint; metadata?: string | null; leaderEpoch?: number }[],
  extra: Partial<OffsetCommitRequest> = {},
): OffsetCommitRequest {
  const byTopic = new Map<string, NonNullable<OffsetCommitRequest['topics']>[number]['partitions']>();
  for (const p of partitions) {
    const topic = p.topic ?? 'orders';
    const list = byTopic.get(topic) ?? [];
    list.push({
      partitionIndex: p.partition,
      committedOffset: p.offset,
      committedLeaderEpoch: p.leaderEpoch ?? -1,
      committedMetadata: p.metadata === undefined ? '' : p.metadata,
    });
    byTopic.set(topic, list);
  }
  return { groupId, generationIdOrMemberEpoch: -1, memberId: '', topics: [...byTopic].map(([name, ps]) => ({ name, partitions: ps })), ...extra };
}

/** `topic:partition → errorCode` of a commit response. */
function commitErrors(response: OffsetCommitResponse): Record<string, number | undefined> {
  const out: Record<string, number | undefined> = {};
  for (const t of response.topics) for (const p of t.partitions) out[`${t.name}:${p.partitionIndex}`] = p.errorCode;
  return out;
}

/** Fetches one group at `version` (v8 through `groups[]`) and returns `topic:partition → partition` plus the group error. */
async function fetchGroup(
  f: Fixture,
  version: number,
  groupId: string,
  topics: { name: string; partitionIndexes: number[] }[] | null,
): Promise<{ errorCode: number | undefined; partitions: Map<string, { committedOffset?: bigint; committedLeaderEpoch?: number; metadata?: string | null; errorCode?: number }> }> {
  const response =
    version >= 8 ? await f.fetch(version, { groups: [{ groupId, topics }], requireStable: false }) : await f.fetch(version, { groupId, topics, requireStable: false });
  const group = version >= 8 ? response.groups?.[0] : undefined;
  if (version >= 8) assert.equal(group?.groupId, groupId);
  const partitions = new Map<string, { committedOffset?: bigint; committedLeaderEpoch?: number; metadata?: string | null; errorCode?: number }>();
  for (const t of (version >= 8 ? group?.topics : response.topics) ?? []) {
    for (const p of t.partitions ?? []) partitions.set(`${t.name ?? '?'}:${p.partitionIndex ?? -9}`, p);
  }
  const errorCode = version >= 8 ? group?.errorCode : version >= 2 ? response.errorCode : undefined;
  return { errorCode, partitions };
}

describe('OffsetCommit and OffsetFetch round trips', () => {
  for (let commitVersion = 0; commitVersion <= 8; commitVersion++) {
    it(`a commit at v${commitVersion} is read back by every OffsetFetch version`, async (t) => {
      const f = fixture(t);
      const group = `group-v${commitVersion}`;
      const extra: Partial<OffsetCommitRequest> = commitVersion >= 1 ? { generationIdOrMemberEpoch: 5, memberId: 'member-1' } : {};
      if (commitVersion >= 7) extra.groupInstanceId = 'static-1';
      const response = await f.commit(
        commitVersion,
        commitBody(
          group,
          [
            { partition: 0, offset: 100n + BigInt(commitVersion), metadata: `m${commitVersion}`, leaderEpoch: 4 },
            { partition: 2, offset: 2n ** 53n + 1n, metadata: null },
            { topic: 'audit', partition: 0, offset: 0n },
          ],
          extra,
        ),
      );
      assert.deepEqual(commitErrors(response), { 'orders:0': 0, 'orders:2': 0, 'audit:0': 0 });
      // v0 has no generation or member: a standalone commit.
      const expectedCall =
        commitVersion === 0 ? [group, '', -1, null] : [group, 'member-1', 5, commitVersion >= 7 ? 'static-1' : null];
      assert.deepEqual(f.membership.calls, [expectedCall]);

      for (let fetchVersion = 0; fetchVersion <= 8; fetchVersion++) {
        const { errorCode, partitions } = await fetchGroup(f, fetchVersion, group, [
          { name: 'orders', partitionIndexes: [0, 1, 2] },
          { name: 'audit', partitionIndexes: [0] },
        ]);
        const at = `commit v${commitVersion}, fetch v${fetchVersion}`;
        if (fetchVersion >= 2) assert.equal(errorCode, 0, at);
        assert.equal(partitions.size, 4, at);
        const p0 = partitions.get('orders:0');
        assert.ok(p0 !== undefined, at);
        assert.equal(p0.committedOffset, 100n + BigInt(commitVersion), at);
        assert.equal(p0.metadata, `m${commitVersion}`, at);
        assert.equal(p0.errorCode, 0, at);
        // The leader epoch travels in commits from v6 and in fetches from v5 (the decoder fills −1 before).
        assert.equal(p0.committedLeaderEpoch, fetchVersion >= 5 && commitVersion >= 6 ? 4 : -1, at);
        // Never committed: offset −1, no metadata, no error.
        assert.deepEqual(
          { ...partitions.get('orders:1') },
          { partitionIndex: 1, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
          at,
        );
        // A null metadata is stored as '' (Kafka's NO_METADATA).
        assert.equal(partitions.get('orders:2')?.committedOffset, 2n ** 53n + 1n, at);
        assert.equal(partitions.get('orders:2')?.metadata, '', at);
        assert.equal(partitions.get('audit:0')?.committedOffset, 0n, at);
      }
    });
  }

  for (const version of [2, 6, 7, 8]) {
    it(`OffsetFetch v${version} with a null topic list returns every committed partition`, async (t) => {
      const f = fixture(t);
      await f.commit(2, commitBody('g', [{ partition: 2, offset: 7n }, { partition: 0, offset: 5n }, { topic: 'audit', partition: 0, offset: 1n }]));
      await f.commit(2, commitBody('other', [{ partition: 1, offset: 9n }]));
      const { errorCode, partitions } = await fetchGroup(f, version, 'g', null);
      assert.equal(errorCode, 0);
      assert.deepEqual(
        [...partitions].map(([key, p]) => [key, p.committedOffset]),
        [
          ['audit:0', 1n],
          ['orders:0', 5n],
          ['orders:2', 7n],
        ],
      );
      const none = await fetchGroup(f, version, 'never-committed', null);
      assert.equal(none.errorCode, 0);
      assert.equal(none.partitions.size, 0);
    });
  }

  it('OffsetFetch v8 answers several groups in one request, each with its own error code', async (t) => {
    const f = fixture(t);
    await f.commit(8, commitBody('a', [{ partition: 0, offset: 1n }]));
    await f.commit(8, commitBody('b', [{ partition: 1, offset: 2n }]));
    const response = await f.fetch(8, {
      groups: [
        { groupId: 'a', topics: [{ name: 'orders', partitionIndexes: [0, 1] }] },
        { groupId: '', topics: null },
        { groupId: 'b', topics: null },
      ],
      requireStable: true,
    });
    const groups = response.groups ?? [];
    assert.deepEqual(
      groups.map((g) => [g.groupId, g.errorCode, (g.topics ?? []).flatMap((t) => (t.partitions ?? []).map((p) => `${t.name ?? ''}:${p.partitionIndex ?? -1}=${p.committedOffset ?? 0n}`))]),
      [
        ['a', 0, ['orders:0=1', 'orders:1=-1']],
        ['', ErrorCode.INVALID_GROUP_ID, []],
        ['b', 0, ['orders:1=2']],
      ],
    );
  });

  it('sends each partition’s offset and metadata once per request: a repeated partition or group gets DUPLICATE_RESOURCE', async (t) => {
    const f = fixture(t);
    const metadata = 'x'.repeat(4096);
    await f.commit(8, commitBody('a', [{ partition: 0, offset: 7n, metadata }]));
    const v1 = await fetchGroup(f, 1, 'a', [{ name: 'orders', partitionIndexes: [0, 0, 1] }]);
    assert.equal(v1.partitions.size, 2, 'the repetition answers under the same key');
    const raw = await f.fetch(1, { groupId: 'a', topics: [{ name: 'orders', partitionIndexes: [0, 0, 0] }], requireStable: false });
    assert.deepEqual(
      (raw.topics?.[0]?.partitions ?? []).map((p) => [p.committedOffset, p.metadata?.length, p.errorCode]),
      [
        [7n, 4096, 0],
        [-1n, 0, ErrorCode.DUPLICATE_RESOURCE],
        [-1n, 0, ErrorCode.DUPLICATE_RESOURCE],
      ],
    );
    const v8 = await f.fetch(8, { groups: [{ groupId: 'a', topics: null }, { groupId: 'a', topics: null }], requireStable: false });
    assert.deepEqual(
      (v8.groups ?? []).map((g) => [g.groupId, g.errorCode, g.topics?.length]),
      [
        ['a', 0, 1],
        ['a', ErrorCode.DUPLICATE_RESOURCE, 0],
      ],
    );
  });

  it('ignores v1 commitTimestamp and v2-4 retentionTimeMs: the broker clock stamps commits', async (t) => {
    const f = fixture(t);
    const body = commitBody('g', [{ partition: 0, offset: 1n }], { generationIdOrMemberEpoch: -1, memberId: '' });
    const first = body.topics[0]?.partitions[0];
    assert.ok(first !== undefined);
    first.commitTimestamp = 9_999_999_999_999n;
    await f.commit(1, body);
    assert.equal(f.store.fetchOffsets('g', null)[0]?.commitTimestamp, f.clock.now);
    f.clock.now += 1000;
    await f.commit(2, commitBody('g', [{ partition: 1, offset: 1n }], { retentionTimeMs: 1n }));
    assert.equal(f.store.fetchOffsets('g', [{ topic: 'orders', partition: 1 }])[0]?.commitTimestamp, f.clock.now);
    // A 1 ms retention asked by the client does not expire anything.
    assert.equal(f.offsets.expireOffsets(f.clock.now + 10).expired, 0);
  });

  it('offsets survive a reopen of the store', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-offsets-'));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const before = fixture(t, { dir });
    await before.commit(5, commitBody('g', [{ partition: 1, offset: 12345n, metadata: 'kept' }]));
    before.store.close();
    const after = fixture(t, { dir });
    const { partitions } = await fetchGroup(after, 3, 'g', [{ name: 'orders', partitionIndexes: [1] }]);
    assert.equal(partitions.get('orders:1')?.committedOffset, 12345n);
    assert.equal(partitions.get('orders:1')?.metadata, 'kept');
  });

  it('a deleted topic’s offsets are gone', async (t) => {
    const f = fixture(t);
    f.store.createTopic('orders', 'id-o', 3);
    await f.commit(3, commitBody('g', [{ partition: 0, offset: 10n }, { topic: 'audit', partition: 0, offset: 3n }]));
    f.store.deleteTopic('orders');
    const { partitions } = await fetchGroup(f, 7, 'g', null);
    assert.deepEqual([...partitions.keys()], ['audit:0']);
  });
});

describe('OffsetCommit errors', () => {
  it('an unknown topic or partition fails only that partition', async (t) => {
    const f = fixture(t);
    const response = await f.commit(
      2,
      commitBody('g', [
        { partition: 0, offset: 1n },
        { partition: 3, offset: 1n },
        { partition: -1, offset: 1n },
        { topic: 'nope', partition: 0, offset: 1n },
      ]),
    );
    assert.deepEqual(commitErrors(response), {
      'orders:0': 0,
      'orders:3': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      'orders:-1': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      'nope:0': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    });
    assert.deepEqual(f.store.fetchOffsets('g', null).map((o) => `${o.topic}:${o.partition}`), ['orders:0']);
  });

  it('metadata longer than 4096 characters → OFFSET_METADATA_TOO_LARGE for that partition', async (t) => {
    const f = fixture(t);
    const response = await f.commit(
      8,
      commitBody('g', [
        { partition: 0, offset: 1n, metadata: 'x'.repeat(4096) },
        { partition: 1, offset: 1n, metadata: 'x'.repeat(4097) },
      ]),
    );
    assert.deepEqual(commitErrors(response), { 'orders:0': 0, 'orders:1': ErrorCode.OFFSET_METADATA_TOO_LARGE });
    assert.deepEqual(f.store.fetchOffsets('g', null).map((o) => o.partition), [0]);
  });

  it('an empty group id → INVALID_GROUP_ID, without asking the coordinator', async (t) => {
    const f = fixture(t);
    const response = await f.commit(2, commitBody('', [{ partition: 0, offset: 1n }, { topic: 'nope', partition: 0, offset: 1n }]));
    assert.deepEqual(commitErrors(response), { 'orders:0': ErrorCode.INVALID_GROUP_ID, 'nope:0': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
    assert.deepEqual(f.membership.calls, []);
    assert.deepEqual(f.store.groupsWithOffsets(), []);
  });

  for (const code of [
    ErrorCode.REBALANCE_IN_PROGRESS,
    ErrorCode.ILLEGAL_GENERATION,
    ErrorCode.UNKNOWN_MEMBER_ID,
    ErrorCode.FENCED_INSTANCE_ID,
    ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ]) {
    it(`the coordinator's ${String(code)} applies to every known partition and nothing is stored`, async (t) => {
      const f = fixture(t);
      f.membership.commitError = code;
      const response = await f.commit(
        7,
        commitBody(
          'g',
          [
            { partition: 0, offset: 1n },
            { partition: 1, offset: 1n, metadata: 'x'.repeat(5000) },
            { topic: 'audit', partition: 0, offset: 1n },
            { topic: 'nope', partition: 0, offset: 1n },
          ],
          { generationIdOrMemberEpoch: 3, memberId: 'm', groupInstanceId: null },
        ),
      );
      assert.deepEqual(commitErrors(response), { 'orders:0': code, 'orders:1': code, 'audit:0': code, 'nope:0': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
      assert.deepEqual(f.membership.calls, [['g', 'm', 3, null]]);
      assert.deepEqual(f.store.groupsWithOffsets(), []);
    });
  }

  it('does not ask the coordinator when no partition can be stored, nor for an empty request', async (t) => {
    const f = fixture(t);
    const response = await f.commit(4, commitBody('g', [{ topic: 'nope', partition: 0, offset: 1n }]));
    assert.deepEqual(commitErrors(response), { 'nope:0': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
    const empty = await f.commit(4, { groupId: 'g', generationIdOrMemberEpoch: -1, memberId: '', topics: [] });
    assert.deepEqual(empty.topics, []);
    assert.deepEqual(f.membership.calls, []);
  });
});

describe('OffsetFetch errors', () => {
  it('an empty group id → INVALID_GROUP_ID: per partition in v0-1, top level in v2-7, per group in v8', async (t) => {
    const f = fixture(t);
    const topics = [{ name: 'orders', partitionIndexes: [0, 1] }];
    for (const version of [0, 1]) {
      const { errorCode, partitions } = await fetchGroup(f, version, '', topics);
      assert.equal(errorCode, undefined);
      assert.deepEqual(
        [...partitions.values()].map((p) => [p.committedOffset, p.metadata, p.errorCode]),
        [
          [-1n, '', ErrorCode.INVALID_GROUP_ID],
          [-1n, '', ErrorCode.INVALID_GROUP_ID],
        ],
      );
    }
    for (const version of [2, 5, 7, 8]) {
      const { errorCode, partitions } = await fetchGroup(f, version, '', topics);
      assert.equal(errorCode, ErrorCode.INVALID_GROUP_ID, `v${version}`);
      assert.equal(partitions.size, 0);
    }
  });

  it('an unknown topic is not an error: offset −1', async (t) => {
    const f = fixture(t);
    const { errorCode, partitions } = await fetchGroup(f, 6, 'g', [{ name: 'nope', partitionIndexes: [0] }]);
    assert.equal(errorCode, 0);
    assert.equal(partitions.get('nope:0')?.committedOffset, -1n);
    assert.equal(partitions.get('nope:0')?.errorCode, 0);
  });
});

describe('offset retention', () => {
  const RETENTION = 24 * HOUR;

  it('defaults to Kafka’s 7 days', (t) => {
    const f = fixture(t);
    f.offsets.commit({ groupId: 'g', principal: 'User:test', memberId: '', generationId: -1, groupInstanceId: null, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, offset: 1n, leaderEpoch: -1, metadata: null }] }] });
    assert.equal(DEFAULT_OFFSET_RETENTION_MS, 7 * 24 * HOUR);
    assert.equal(f.offsets.expireOffsets(f.clock.now + DEFAULT_OFFSET_RETENTION_MS - 1).expired, 0);
    assert.equal(f.offsets.expireOffsets(f.clock.now + DEFAULT_OFFSET_RETENTION_MS).expired, 1);
  });

  it('expires only old offsets, and only of groups without members', async (t) => {
    const f = fixture(t, { retentionMs: RETENTION });
    const start = f.clock.now;
    await f.commit(2, commitBody('empty', [{ partition: 0, offset: 1n }]));
    await f.commit(2, commitBody('busy', [{ partition: 0, offset: 1n }]));
    f.clock.now = start + 20 * HOUR;
    await f.commit(2, commitBody('empty', [{ partition: 1, offset: 1n }]));
    f.membership.withMembers.add('busy');

    // Not old enough yet.
    assert.deepEqual(f.offsets.expireOffsets(start + RETENTION - 1), { expired: 0, groupsEmptied: [] });
    // 'empty' loses its old offset, keeps the recent one; 'busy' keeps everything.
    assert.deepEqual(f.offsets.expireOffsets(start + RETENTION), { expired: 1, groupsEmptied: [] });
    assert.deepEqual(f.store.fetchOffsets('empty', null).map((o) => o.partition), [1]);
    assert.equal(f.store.fetchOffsets('busy', null).length, 1);

    // Much later, 'empty' has nothing left; 'busy' still has members.
    f.clock.now = start + 10 * RETENTION;
    assert.deepEqual(f.offsets.expireOffsets(), { expired: 1, groupsEmptied: ['empty'] });
    assert.deepEqual(f.store.groupsWithOffsets(), ['busy']);
  });

  it('counts from the group’s last activity, not only from the commit (KIP-211)', async (t) => {
    const f = fixture(t, { retentionMs: RETENTION });
    const start = f.clock.now;
    // A member commits an offset of an idle partition once, and the group stays up for two days.
    await f.commit(8, commitBody('g', [{ partition: 0, offset: 1n }], { generationIdOrMemberEpoch: 1, memberId: 'm' }));
    f.membership.withMembers.add('g');
    assert.equal(f.offsets.expireOffsets(start + 2 * RETENTION).expired, 0);
    // The consumer restarts: the group is empty while the commit is two days old. Not yet expired.
    f.membership.withMembers.delete('g');
    assert.equal(f.offsets.expireOffsets(start + 2 * RETENTION + HOUR).expired, 0);
    // The group stays empty for a whole retention period after it was last seen with members.
    assert.equal(f.offsets.expireOffsets(start + 3 * RETENTION - 1).expired, 0);
    assert.equal(f.offsets.expireOffsets(start + 3 * RETENTION).expired, 1);
  });

  it('a member’s commit counts as activity even if no sweep saw the members', async (t) => {
    const f = fixture(t, { retentionMs: RETENTION });
    const start = f.clock.now;
    await f.commit(2, commitBody('g', [{ partition: 0, offset: 1n }], { generationIdOrMemberEpoch: 1, memberId: 'm' }));
    f.clock.now = start + 2 * RETENTION;
    // Two days later a member commits another partition; the first one's commit is old but the group was active.
    await f.commit(2, commitBody('g', [{ partition: 1, offset: 1n }], { generationIdOrMemberEpoch: 4, memberId: 'm' }));
    assert.equal(f.offsets.expireOffsets(start + 2 * RETENTION + HOUR).expired, 0);
    assert.equal(f.offsets.expireOffsets(start + 3 * RETENTION).expired, 2);
  });

  it('deletes the saved metadata of a group it leaves without offsets, and of member-less groups whose offsets went with a topic', async (t) => {
    const f = fixture(t, { retentionMs: RETENTION });
    const start = f.clock.now;
    await f.commit(2, commitBody('old', [{ partition: 0, offset: 1n }]));
    f.store.saveGroupMetadata('old', { protocolType: 'consumer', generationId: 2 });
    f.store.saveGroupMetadata('topic-gone', { protocolType: 'consumer', generationId: 1 });
    f.store.saveGroupMetadata('busy-no-commit', { protocolType: 'consumer', generationId: 5 });
    f.membership.withMembers.add('busy-no-commit');
    assert.deepEqual(f.offsets.expireOffsets(start + RETENTION), { expired: 1, groupsEmptied: ['old', 'topic-gone'] });
    assert.equal(f.store.groupMetadata('old'), undefined);
    assert.equal(f.store.groupMetadata('topic-gone'), undefined);
    assert.deepEqual(f.store.groupMetadata('busy-no-commit'), { protocolType: 'consumer', generationId: 5 }, 'a group with members keeps it');
  });

  it('deleting a group’s offsets reports how many there were', async (t) => {
    const f = fixture(t);
    await f.commit(2, commitBody('g', [{ partition: 0, offset: 1n }, { partition: 1, offset: 1n }]));
    assert.equal(f.offsets.deleteGroupOffsets('g'), 2);
    assert.deepEqual(f.offsets.groupsWithOffsets(), []);
  });

  it('refuses a non-positive retention', (t) => {
    const f = fixture(t);
    assert.throws(() => new OffsetManager({ store: f.store, membership: f.membership, registry: new GroupRegistry(DEFAULT_GROUP_REGISTRY_LIMITS), topics: { get: () => undefined }, clock: () => 0, retentionMs: 0 }), RangeError);
  });
});

/** OffsetCommit and OffsetFetch over one manager, as the broker registers them. */
function offsetHandlers(offsets: OffsetManager) {
  return [offsetCommitHandler(offsets), offsetFetchHandler(offsets)];
}

describe('offset handlers', () => {
  it('serve a manager built from plain dependencies', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-offsets-'));
    const store = new MetadataStore(dir);
    t.after(() => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const entries = offsetHandlers(new OffsetManager({ store, membership: new FakeMembership(), registry: new GroupRegistry(DEFAULT_GROUP_REGISTRY_LIMITS), topics: { get: (name) => TOPICS.get(name) }, clock: () => 5 }));
    assert.deepEqual(entries.map((e) => e.api.name), ['OffsetCommit', 'OffsetFetch']);
    const response = (await roundTrip(entries, OffsetCommit, 8, commitBody('g', [{ partition: 0, offset: 3n }]))) as OffsetCommitResponse;
    assert.deepEqual(commitErrors(response), { 'orders:0': 0 });
    assert.equal(store.fetchOffsets('g', null)[0]?.commitTimestamp, 5);
  });
});
