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
});

// The TopicStore behaviour (create, list, partitions, configs, delete) is tested over every
// implementation in topic-store.suite.test.ts.
