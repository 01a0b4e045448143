import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { MetadataStore } from '../../../src/storage/metadata-store.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-meta-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

describe('MetadataStore', () => {
  it('keeps topics and configs across reopen, in an owner-only file', (t) => {
    const dir = tempDir(t);
    const store = new MetadataStore(dir);
    store.createTopic('orders', 'id-1', 3, { 'retention.ms': '1000' });
    store.close();
    assert.equal(statSync(join(dir, 'metadata.db')).mode & 0o777, 0o600);
    const again = new MetadataStore(dir);
    t.after(() => {
      again.close();
    });
    assert.deepEqual(again.topic('orders'), { name: 'orders', id: 'id-1', partitions: 3, configs: { 'retention.ms': '1000' } });
    assert.deepEqual(again.topics().map((x) => x.name), ['orders']);
  });

  it('refuses a duplicate topic (topic-exists) and leaves the first intact', (t) => {
    const store = new MetadataStore(tempDir(t));
    t.after(() => {
      store.close();
    });
    store.createTopic('a', 'id-a', 1);
    assert.deepEqual(store.createTopic('a', 'id-b', 5), { kind: 'topic-exists', message: 'topic a already exists' });
    assert.equal(store.topic('a')?.partitions, 1);
  });

  it('only raises partition counts, and knows unknown topics', (t) => {
    const store = new MetadataStore(tempDir(t));
    t.after(() => {
      store.close();
    });
    store.createTopic('a', 'id-a', 2);
    assert.equal(store.setPartitionCount('a', 4).kind, 'changed');
    assert.equal(store.topic('a')?.partitions, 4);
    assert.equal(store.setPartitionCount('a', 3).kind, 'invalid-partitions');
    assert.equal(store.setPartitionCount('nope', 3).kind, 'unknown-topic');
    assert.equal(store.topic('a')?.partitions, 4);
  });

  it('alters configs by replacement or incrementally, atomically', (t) => {
    const store = new MetadataStore(tempDir(t));
    t.after(() => {
      store.close();
    });
    store.createTopic('a', 'id-a', 1, { x: '1', y: '2' });
    assert.equal(store.alterConfigs('a', { set: { y: '3', z: '4' }, remove: ['x'] }).kind, 'changed');
    assert.deepEqual(store.topic('a')?.configs, { y: '3', z: '4' });
    store.alterConfigs('a', { replace: { only: 'this' } });
    assert.deepEqual(store.topic('a')?.configs, { only: 'this' });
    assert.equal(store.alterConfigs('nope', { set: { a: 'b' } }).kind, 'unknown-topic');
    assert.equal(store.topic('nope'), undefined);
  });

  it('deleting a topic removes its configs', (t) => {
    const store = new MetadataStore(tempDir(t));
    t.after(() => {
      store.close();
    });
    store.createTopic('a', 'id-a', 1, { x: '1' });
    assert.equal(store.deleteTopic('a'), true);
    assert.equal(store.deleteTopic('a'), false);
    store.createTopic('a', 'id-a2', 1);
    assert.deepEqual(store.topic('a')?.configs, {});
  });
});
