import assert from 'node:assert/strict';
import { it } from 'node:test';
import { forEachMetadataStore } from './metadata-store-permutations.js';

/** The behaviour every TopicStore owes topic administration, over every permutation of metadata-store-permutations.ts. */
forEachMetadataStore('topic store', (make) => {
  it('keeps topics with their ids, partition counts and configs, listed by name', (t) => {
    const s = make(t);
    assert.deepEqual(s.store.topics(), []);
    assert.deepEqual(s.store.createTopic('orders', 'id-1', 3, { 'retention.ms': '1000' }), {
      kind: 'created',
      topic: { name: 'orders', id: 'id-1', partitions: 3, configs: { 'retention.ms': '1000' } },
    });
    s.store.createTopic('audit', 'id-2', 1);
    const store = s.checkpoint();
    assert.deepEqual(store.topic('orders'), { name: 'orders', id: 'id-1', partitions: 3, configs: { 'retention.ms': '1000' } });
    assert.deepEqual(store.topic('audit'), { name: 'audit', id: 'id-2', partitions: 1, configs: {} });
    assert.deepEqual(store.topics().map((x) => x.name), ['audit', 'orders']);
    assert.equal(store.topic('nope'), undefined);
  });

  it('refuses a duplicate topic (topic-exists) and leaves the first intact', (t) => {
    const s = make(t);
    s.store.createTopic('a', 'id-a', 1, { x: '1' });
    assert.deepEqual(s.store.createTopic('a', 'id-b', 5), { kind: 'topic-exists', message: 'topic a already exists' });
    assert.deepEqual(s.checkpoint().topic('a'), { name: 'a', id: 'id-a', partitions: 1, configs: { x: '1' } });
  });

  it('only raises partition counts, and knows unknown topics', (t) => {
    const s = make(t);
    s.store.createTopic('a', 'id-a', 2);
    assert.equal(s.store.setPartitionCount('a', 4).kind, 'changed');
    let store = s.checkpoint();
    assert.equal(store.topic('a')?.partitions, 4);
    assert.equal(store.setPartitionCount('a', 3).kind, 'invalid-partitions');
    assert.equal(store.setPartitionCount('a', 4).kind, 'invalid-partitions');
    assert.equal(store.setPartitionCount('nope', 3).kind, 'unknown-topic');
    store = s.checkpoint();
    assert.equal(store.topic('a')?.partitions, 4);
    assert.equal(store.topic('nope'), undefined);
  });

  it('alters configs by replacement or incrementally', (t) => {
    const s = make(t);
    s.store.createTopic('a', 'id-a', 1, { x: '1', y: '2' });
    assert.equal(s.store.alterConfigs('a', { set: { y: '3', z: '4' }, remove: ['x'] }).kind, 'changed');
    assert.deepEqual(s.checkpoint().topic('a')?.configs, { y: '3', z: '4' });
    assert.equal(s.store.alterConfigs('a', { replace: { only: 'this' } }).kind, 'changed');
    assert.deepEqual(s.checkpoint().topic('a')?.configs, { only: 'this' });
    assert.equal(s.store.alterConfigs('nope', { set: { a: 'b' } }).kind, 'unknown-topic');
    assert.equal(s.checkpoint().topic('nope'), undefined);
  });

  it('deletes a topic with its configs; re-created with the same name it starts afresh', (t) => {
    const s = make(t);
    s.store.createTopic('a', 'id-a', 3, { x: '1' });
    s.store.createTopic('b', 'id-b', 1);
    assert.equal(s.store.deleteTopic('a'), true);
    let store = s.checkpoint();
    assert.equal(store.deleteTopic('a'), false);
    assert.equal(store.topic('a'), undefined);
    assert.deepEqual(store.topics().map((x) => x.name), ['b']);
    store.createTopic('a', 'id-a2', 1);
    store = s.checkpoint();
    assert.deepEqual(store.topic('a'), { name: 'a', id: 'id-a2', partitions: 1, configs: {} });
  });
});
