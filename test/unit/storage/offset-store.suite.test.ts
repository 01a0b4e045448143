import assert from 'node:assert/strict';
import { it } from 'node:test';
import { committedOffsetBytes } from '../../../src/storage/offset-store.js';
import { forEachMetadataStore, offset } from './metadata-store-permutations.js';

/**
 * The behaviour every OffsetStore owes the group coordinator, over every permutation of
 * metadata-store-permutations.ts. That a commit is all or nothing when the store fails half-way is
 * implementation-specific to provoke: metadata-store-offsets.test.ts shows it for SQLite.
 */


forEachMetadataStore('offset store', (make) => {
  it('stores and fetches offsets exactly (int64, leader epoch, null metadata, timestamp)', (t) => {
    const s = make(t);
    const big = 2n ** 62n + 1n;
    s.store.commitOffsets('g', [
      offset('b', 1, big, { leaderEpoch: 7, metadata: null, commitTimestamp: 1_700_000_000_123 }),
      offset('a', 0, 5n, { metadata: 'meta' }),
    ]);
    const store = s.checkpoint();
    assert.deepEqual(store.fetchOffsets('g', null), [
      offset('a', 0, 5n, { metadata: 'meta' }),
      offset('b', 1, big, { leaderEpoch: 7, metadata: null, commitTimestamp: 1_700_000_000_123 }),
    ]);
    // Only partitions with a commit come back, in the order asked.
    assert.deepEqual(
      store
        .fetchOffsets('g', [
          { topic: 'b', partition: 1 },
          { topic: 'b', partition: 0 },
          { topic: 'a', partition: 0 },
          { topic: 'zz', partition: 0 },
        ])
        .map((o) => [o.topic, o.partition, o.offset]),
      [
        ['b', 1, big],
        ['a', 0, 5n],
      ],
    );
    assert.deepEqual(store.fetchOffsets('other', null), []);
    assert.equal(store.hasOffsets('g'), true);
    assert.equal(store.hasOffsets('other'), false);
  });

  it('a later commit replaces an earlier one; the last duplicate of a batch wins', (t) => {
    const s = make(t);
    s.store.commitOffsets('g', [offset('a', 0, 1n)]);
    s.store.commitOffsets('g', [offset('a', 0, 2n, { metadata: 'x' }), offset('a', 0, 3n, { metadata: 'y' })]);
    assert.deepEqual(s.checkpoint().fetchOffsets('g', null), [offset('a', 0, 3n, { metadata: 'y' })]);
  });

  it('lists groups with offsets and deletes a group’s offsets with a count', (t) => {
    const s = make(t);
    s.store.commitOffsets('g2', [offset('a', 0, 1n)]);
    s.store.commitOffsets('g1', [offset('a', 0, 1n), offset('a', 1, 1n)]);
    let store = s.checkpoint();
    assert.deepEqual(store.groupsWithOffsets(), ['g1', 'g2']);
    assert.equal(store.deleteGroupOffsets('g1'), 2);
    store = s.checkpoint();
    assert.equal(store.deleteGroupOffsets('g1'), 0);
    assert.deepEqual(store.groupsWithOffsets(), ['g2']);
  });

  it('counts what each group’s offsets take as committedOffsetBytes does', (t) => {
    const s = make(t);
    s.store.commitOffsets('g', [offset('orders', 0, 1n, { metadata: 'ünïcode' }), offset('orders', 1, 1n, { metadata: null })]);
    s.store.commitOffsets('h', [offset('a', 0, 1n)]);
    const store = s.checkpoint();
    const g = committedOffsetBytes('g', 'orders', 'ünïcode') + committedOffsetBytes('g', 'orders', null);
    const h = committedOffsetBytes('h', 'a', '');
    assert.deepEqual([...store.offsetBytesByGroup()], [
      ['g', g],
      ['h', h],
    ]);
    assert.equal(store.groupOffsetBytes('g'), g);
    assert.equal(store.groupOffsetBytes('none'), 0);
  });

  it('deletes only the expired offsets of the given group (commit time at or before the cutoff)', (t) => {
    const s = make(t);
    s.store.commitOffsets('g', [offset('a', 0, 1n, { commitTimestamp: 100 }), offset('a', 1, 1n, { commitTimestamp: 200 }), offset('a', 2, 1n, { commitTimestamp: 201 })]);
    s.store.commitOffsets('h', [offset('a', 0, 1n, { commitTimestamp: 100 })]);
    assert.equal(s.store.deleteExpiredOffsets('g', 200), 2);
    const store = s.checkpoint();
    assert.deepEqual(store.fetchOffsets('g', null).map((o) => o.partition), [2]);
    assert.equal(store.fetchOffsets('h', null).length, 1);
  });

  it('deleting a topic drops every group’s offsets for it, in the same operation', (t) => {
    const s = make(t);
    s.store.createTopic('a', 'id-a', 2);
    s.store.createTopic('b', 'id-b', 1);
    s.store.commitOffsets('g', [offset('a', 0, 1n), offset('a', 1, 1n), offset('b', 0, 1n)]);
    s.store.commitOffsets('h', [offset('a', 0, 1n)]);
    assert.equal(s.store.deleteTopic('a'), true);
    const store = s.checkpoint();
    assert.deepEqual(store.fetchOffsets('g', null).map((o) => o.topic), ['b']);
    assert.deepEqual(store.groupsWithOffsets(), ['g']);
    // A topic recreated under the same name starts without offsets.
    store.createTopic('a', 'id-a2', 2);
    assert.deepEqual(s.checkpoint().fetchOffsets('h', [{ topic: 'a', partition: 0 }]), []);
  });

  it('saves and replaces a group’s protocol type and generation, and deletes them alone', (t) => {
    const s = make(t);
    assert.equal(s.store.groupMetadata('g'), undefined);
    s.store.saveGroupMetadata('g', { protocolType: 'consumer', generationId: 1 });
    s.store.saveGroupMetadata('g', { protocolType: 'consumer', generationId: 4 });
    s.store.saveGroupMetadata('c', { protocolType: 'connect', generationId: 2 });
    let store = s.checkpoint();
    assert.deepEqual(store.groupMetadata('g'), { protocolType: 'consumer', generationId: 4 });
    assert.deepEqual(store.groupMetadata('c'), { protocolType: 'connect', generationId: 2 });
    assert.equal(store.deleteGroupMetadata('c'), true);
    store = s.checkpoint();
    assert.equal(store.deleteGroupMetadata('c'), false);
    assert.equal(store.groupMetadata('c'), undefined);
  });

  it('deleting a group (DeleteGroups) deletes its metadata with its offsets; other groups keep theirs', (t) => {
    const s = make(t);
    s.store.commitOffsets('g', [offset('a', 0, 1n)]);
    s.store.saveGroupMetadata('g', { protocolType: 'consumer', generationId: 3 });
    s.store.commitOffsets('h', [offset('a', 0, 1n)]);
    s.store.saveGroupMetadata('h', { protocolType: 'consumer', generationId: 1 });
    assert.equal(s.store.deleteGroupOffsets('g'), 1);
    const store = s.checkpoint();
    assert.equal(store.hasOffsets('g'), false);
    assert.equal(store.groupMetadata('g'), undefined);
    assert.deepEqual(store.groupMetadata('h'), { protocolType: 'consumer', generationId: 1 });
  });

  it('offset expiry deletes the metadata only of a group it leaves without offsets', (t) => {
    const s = make(t);
    s.store.commitOffsets('g', [offset('a', 0, 1n, { commitTimestamp: 100 }), offset('a', 1, 1n, { commitTimestamp: 300 })]);
    s.store.saveGroupMetadata('g', { protocolType: 'consumer', generationId: 2 });
    assert.equal(s.store.deleteExpiredOffsets('g', 200), 1);
    assert.deepEqual(s.checkpoint().groupMetadata('g'), { protocolType: 'consumer', generationId: 2 }, 'one offset is left');
    assert.equal(s.store.deleteExpiredOffsets('g', 300), 1);
    assert.equal(s.checkpoint().groupMetadata('g'), undefined);
  });

  it('lists the groups with metadata but no offsets (a topic deletion took them)', (t) => {
    const s = make(t);
    s.store.createTopic('a', 'id-a', 1);
    s.store.createTopic('b', 'id-b', 1);
    s.store.commitOffsets('g', [offset('a', 0, 1n)]);
    s.store.commitOffsets('h', [offset('a', 0, 1n), offset('b', 0, 1n)]);
    s.store.saveGroupMetadata('g', { protocolType: 'consumer', generationId: 1 });
    s.store.saveGroupMetadata('h', { protocolType: 'consumer', generationId: 1 });
    s.store.saveGroupMetadata('members-only', { protocolType: 'consumer', generationId: 1 });
    assert.deepEqual(s.checkpoint().groupMetadataWithoutOffsets(), ['members-only']);
    s.store.deleteTopic('a');
    assert.deepEqual(s.checkpoint().groupMetadataWithoutOffsets(), ['g', 'members-only']);
  });
});
