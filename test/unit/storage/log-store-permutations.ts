import { describe, type TestContext } from 'node:test';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DataKeyCache } from '../../../src/storage/crypto/data-key-cache.js';
import { LocalKekProvider } from '../../../src/storage/crypto/local-provider.js';
import { DEFAULT_DATA_KEY_LIMITS, type KeyServices } from '../../../src/storage/crypto/partition-keys.js';
import type { ManagedLogStore, TopicLogs } from '../../../src/storage/log-store.js';
import { LogManager } from '../../../src/storage/log/log-manager.js';
import type { TopicConfigSource } from '../../../src/storage/log/log-config.js';
import { T0, configSource, defaultConfig, defer, recordingLogger, tempDir, type FakeClock } from './log/helpers.js';

/**
 * Every log store implementation and format the behavioural suite (log-store.suite.test.ts) runs
 * over, as NATS server's testAllStoreAllPermutations does: a new implementation adds itself to
 * {@link LOG_STORE_PERMUTATIONS} and passes the suite before any handler uses it.
 */

/** What a permutation opens a store with; the suite drives the clock and the topic configs. */
export interface LogStoreEnv {
  readonly dataDir: string;
  readonly clock: () => number;
  readonly configs: TopicConfigSource;
}

export interface LogStorePermutation {
  readonly name: string;
  /** segment.bytes of every topic (the suite's tests change the other configs). */
  readonly segmentBytes: number;
  /** Opens the store on `env.dataDir`, again after a restart. */
  open(env: LogStoreEnv): ManagedLogStore;
  /** Whether it stores batches sealed (encryption at rest): its stored form must differ from what readRecords gives back. */
  readonly encrypted: boolean;
}

/** A store under test, on a temp data directory, closed when the test ends. */
export interface LogStoreSubject {
  readonly store: ManagedLogStore;
  readonly clock: FakeClock;
  /** The configs of every topic, read at each use: a test may change them. */
  readonly config: ReturnType<typeof defaultConfig>;
  readonly permutation: LogStorePermutation;
  /** Makes a topic known to the store (and to the store opened by each {@link restart}). */
  addTopic(name: string, partitions?: number): void;
  /**
   * A clean restart: closes the store and opens a new one on the same data, told of the topics as
   * the broker tells it at start-up (addTopic, then openExisting). Returns the new store, also in `store`.
   */
  restart(): Promise<ManagedLogStore>;
}

/** The master key of the encrypted permutations: one per test process, as a broker has one. */
const MASTER_KEY = randomBytes(32);

/**
 * Encryption at rest as the broker sets it up: a local keyring in the data directory (opened again
 * after each restart with the same master key), every topic configured encrypted.
 */
function encryptedKeys(dataDir: string): KeyServices {
  const provider = LocalKekProvider.open(join(dataDir, 'keyring.json'), { kind: 'key', key: MASTER_KEY }, { create: true });
  return { provider, cache: new DataKeyCache(64), limits: DEFAULT_DATA_KEY_LIMITS };
}

const TINY_SEGMENT_BYTES = 512;

/** The file-backed store (LogManager) with the given open-file bound, clear or encrypted (segment sizes are topic configs). */
function fileLog(options: { maxOpenFiles?: number; encrypted: boolean }): (env: LogStoreEnv) => ManagedLogStore {
  return (env) =>
    new LogManager({
      dataDir: env.dataDir,
      logger: recordingLogger(),
      clock: env.clock,
      configs: options.encrypted ? { configFor: (topic) => ({ ...env.configs.configFor(topic), encrypted: true }) } : env.configs,
      ...(options.maxOpenFiles === undefined ? {} : { maxOpenFiles: options.maxOpenFiles }),
      ...(options.encrypted ? { keys: encryptedKeys(env.dataDir) } : {}),
      // Every transactional batch is admitted, as by a coordinator whose transactions hold every partition.
      transactionGuard: () => null,
    });
}

function fileLogPermutations(): LogStorePermutation[] {
  const permutations: LogStorePermutation[] = [];
  for (const segments of [
    { name: 'default segments', segmentBytes: defaultConfig().segmentBytes },
    { name: `${TINY_SEGMENT_BYTES}-byte segments`, segmentBytes: TINY_SEGMENT_BYTES },
  ]) {
    for (const maxOpenFiles of [undefined, 3]) {
      for (const encrypted of [false, true]) {
        const name = ['LogManager', segments.name, maxOpenFiles === undefined ? 'no file bound' : `${maxOpenFiles} open files`, encrypted ? 'encrypted at rest' : 'clear'].join(', ');
        const open = fileLog({ ...(maxOpenFiles === undefined ? {} : { maxOpenFiles }), encrypted });
        permutations.push({ name, segmentBytes: segments.segmentBytes, open, encrypted });
      }
    }
  }
  return permutations;
}

export const LOG_STORE_PERMUTATIONS: readonly LogStorePermutation[] = fileLogPermutations();

function subject(t: TestContext, permutation: LogStorePermutation): LogStoreSubject {
  const dataDir = tempDir(t, 'parapet-log-store-');
  const clock: FakeClock = { now: T0 };
  const config = defaultConfig({ segmentBytes: permutation.segmentBytes });
  const env: LogStoreEnv = { dataDir, clock: () => clock.now, configs: configSource(() => config) };
  const topics: TopicLogs[] = [];
  let store = permutation.open(env);
  defer(t, () => store.close());
  return {
    get store() {
      return store;
    },
    clock,
    config,
    permutation,
    addTopic(name, partitions = 1) {
      const topic = { name, id: `${name}-id`, partitions };
      topics.push(topic);
      store.addTopic(topic);
    },
    async restart() {
      await store.close();
      store = permutation.open(env);
      for (const topic of topics) store.addTopic(topic);
      store.openExisting(Infinity);
      return store;
    },
  };
}

/**
 * Declares `tests` once per permutation, in a describe block named after both; `make` gives each
 * test a fresh store of that permutation.
 */
export function forEachLogStore(name: string, tests: (make: (t: TestContext) => LogStoreSubject) => void): void {
  for (const permutation of LOG_STORE_PERMUTATIONS) {
    describe(`${name} [${permutation.name}]`, () => {
      tests((t) => subject(t, permutation));
    });
  }
}
