import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, type TestContext } from 'node:test';
import { MetadataStore } from '../../../src/storage/metadata-store.js';
import type { CommittedOffset, OffsetStore } from '../../../src/storage/offset-store.js';
import type { TopicStore } from '../../../src/storage/topic-store.js';

/**
 * Every implementation of the topic and offset stores the suites (topic-store.suite.test.ts,
 * offset-store.suite.test.ts) run over. Deleting a topic deletes its committed offsets in the same
 * step, so one permutation gives both stores over the same data.
 */

export type MetadataStores = TopicStore & OffsetStore;

export interface MetadataStorePermutation {
  readonly name: string;
  /** Opens the stores on `dataDir` (again, after a restart). */
  open(dataDir: string): MetadataStores & { close(): void };
  /** Whether each {@link MetadataStoreSubject.checkpoint} restarts the store. */
  readonly restartAtCheckpoints: boolean;
}

export const METADATA_STORE_PERMUTATIONS: readonly MetadataStorePermutation[] = [
  { name: 'SQLite', open: (dir) => new MetadataStore(dir), restartAtCheckpoints: false },
  // What a change acknowledged must survive: the same checks, each after closing and reopening the file.
  { name: 'SQLite, reopened at each checkpoint', open: (dir) => new MetadataStore(dir), restartAtCheckpoints: true },
];

export interface MetadataStoreSubject {
  readonly store: MetadataStores;
  /** A point where what was done must be durable: the permutation may restart the store here. Returns the store to use on. */
  checkpoint(): MetadataStores;
}

function subject(t: TestContext, permutation: MetadataStorePermutation): MetadataStoreSubject {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-metadata-store-'));
  let store = permutation.open(dir);
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    get store() {
      return store;
    },
    checkpoint() {
      if (permutation.restartAtCheckpoints) {
        store.close();
        store = permutation.open(dir);
      }
      return store;
    },
  };
}

/** Declares `tests` once per permutation; `make` gives each test fresh stores of that permutation. */
export function forEachMetadataStore(name: string, tests: (make: (t: TestContext) => MetadataStoreSubject) => void): void {
  for (const permutation of METADATA_STORE_PERMUTATIONS) {
    describe(`${name} [${permutation.name}]`, () => {
      tests((t) => subject(t, permutation));
    });
  }
}

/** A committed offset for the tests, with the defaults a commit without metadata has. */
export const offset = (topic: string, partition: number, value: bigint, extra: Partial<CommittedOffset> = {}): CommittedOffset => ({
  topic,
  partition,
  offset: value,
  leaderEpoch: -1,
  metadata: '',
  commitTimestamp: 1000,
  ...extra,
});
