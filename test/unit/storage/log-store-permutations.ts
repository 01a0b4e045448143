import { describe, type TestContext } from 'node:test';
import { writeBatchCrc } from '../../../src/records/batch.js';
import { CompressionCodec } from '../../../src/records/compression.js';
import { readRecordsSync } from '../../../src/records/record.js';
import type { ManagedLogStore, TopicLogs } from '../../../src/storage/log-store.js';
import { LogManager } from '../../../src/storage/log/log-manager.js';
import type { TopicConfigSource } from '../../../src/storage/log/log-config.js';
import type { RecordTransform } from '../../../src/storage/log/record-transform.js';
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
  /**
   * For a store that keeps another format and whose reads give it back as stored: the batch as the
   * producer sent it, from the batch a read returned. Without it, reads must give back the original.
   */
  readonly decode?: (stored: Buffer) => Buffer;
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
  /** {@link LogStorePermutation.decode}, or the batch itself. */
  decode(stored: Buffer): Buffer;
}

/** One byte mask over record values: its own inverse, and it keeps the batch decodable. */
const MASK = 0x5a;

/**
 * Masks each record value in place (values are views into an uncompressed batch) and rewrites the
 * CRC: a reversible stand-in for encryption that keeps what storage reads itself (offsets, producer
 * fields, timestamps, record framing) as it was, as record-transform.ts requires.
 */
function maskValues(batch: Buffer): Buffer {
  const copy = Buffer.from(batch);
  for (const record of readRecordsSync(copy, { verifyCrc: false })) {
    const value = record.value;
    if (value === null) continue;
    for (let i = 0; i < value.length; i++) value[i] = (value[i] as number) ^ MASK;
  }
  writeBatchCrc(copy);
  return copy;
}

const maskingTransform: RecordTransform = {
  prepare({ bytes, header }) {
    // Compressed values are not views into the batch; the suite appends uncompressed batches only.
    if (header.compression !== CompressionCodec.none) return { kind: 'refused', reason: 'the masking test transform takes uncompressed batches' };
    return { kind: 'prepared', bytes: maskValues(bytes) };
  },
};

const TINY_SEGMENT_BYTES = 512;

/** The file-backed store (LogManager) with the given open-file bound and transform (segment sizes are topic configs). */
function fileLog(options: { maxOpenFiles?: number; transform?: RecordTransform }): (env: LogStoreEnv) => ManagedLogStore {
  return (env) =>
    new LogManager({
      dataDir: env.dataDir,
      logger: recordingLogger(),
      clock: env.clock,
      configs: env.configs,
      ...(options.maxOpenFiles === undefined ? {} : { maxOpenFiles: options.maxOpenFiles }),
      ...(options.transform === undefined ? {} : { transform: options.transform }),
    });
}

function fileLogPermutations(): LogStorePermutation[] {
  const permutations: LogStorePermutation[] = [];
  for (const segments of [
    { name: 'default segments', segmentBytes: defaultConfig().segmentBytes },
    { name: `${TINY_SEGMENT_BYTES}-byte segments`, segmentBytes: TINY_SEGMENT_BYTES },
  ]) {
    for (const maxOpenFiles of [undefined, 3]) {
      for (const masked of [false, true]) {
        const name = ['LogManager', segments.name, maxOpenFiles === undefined ? 'no file bound' : `${maxOpenFiles} open files`, masked ? 'masked values' : 'plain'].join(', ');
        const open = fileLog({ ...(maxOpenFiles === undefined ? {} : { maxOpenFiles }), ...(masked ? { transform: maskingTransform } : {}) });
        // The read path has no inverse of the transform (record-transform.ts): reads give the stored form.
        permutations.push({ name, segmentBytes: segments.segmentBytes, open, ...(masked ? { decode: maskValues } : {}) });
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
    decode: (stored) => permutation.decode?.(stored) ?? stored,
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
