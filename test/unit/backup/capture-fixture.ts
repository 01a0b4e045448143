import { readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { CaptureRegistry, type CaptureReleaseReason } from '../../../src/backup/capture/index.js';
import type { CapturedFile } from '../../../src/backup/contracts.js';
import { BatchOffsets, LOG_OVERHEAD } from '../../../src/records/batch.js';
import type { LogConfig } from '../../../src/storage/log/log-config.js';
import type { LogFs } from '../../../src/storage/log/log-fs.js';
import { LogManager } from '../../../src/storage/log/log-manager.js';
import { MetadataStore } from '../../../src/storage/metadata-store.js';
import { appendTo, defaultConfig, defer, makeBatch, recordingLogger, T0, tempDir } from '../storage/log/helpers.js';

/** A data directory with a real metadata store and real partition logs, as a broker holds them, and a capture registry over them. */
export interface CaptureFixture {
  readonly dataDir: string;
  readonly store: MetadataStore;
  readonly logs: LogManager;
  readonly registry: CaptureRegistry;
  readonly clock: { now: number };
  readonly config: { -readonly [K in keyof LogConfig]: LogConfig[K] };
  readonly logger: ReturnType<typeof recordingLogger>;
  readonly released: { id: string; reason: CaptureReleaseReason }[];
  /** Creates a topic in the store and the logs. */
  topic(name: string, partitions: number): void;
  /** Appends `batches` batches of `records` records to a partition. */
  produce(topic: string, partition: number, batches: number, records?: number): Promise<void>;
}

export function captureFixture(t: TestContext, options: { fs?: LogFs; leaseMs?: number } = {}): CaptureFixture {
  const dataDir = tempDir(t, 'parapet-capture-');
  const clock = { now: T0 };
  const config = defaultConfig();
  const logger = recordingLogger();
  const store = new MetadataStore(dataDir);
  defer(t, () => {
    store.close();
  });
  const logs = new LogManager({ dataDir, logger, configs: { configFor: () => config }, clock: () => clock.now, ...(options.fs === undefined ? {} : { fs: options.fs }) });
  defer(t, () => logs.close());
  const released: { id: string; reason: CaptureReleaseReason }[] = [];
  const registry = new CaptureRegistry({
    sources: { dataDir, store, logs },
    logger,
    clock: () => clock.now,
    ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
    onReleased: (id, reason) => released.push({ id, reason }),
  });
  defer(t, () => {
    registry.releaseAll();
  });
  return {
    dataDir,
    store,
    logs,
    registry,
    clock,
    config,
    logger,
    released,
    topic(name, partitions) {
      const id = `${name}-id`;
      store.createTopic(name, id, partitions);
      logs.openTopic({ name, id, partitions });
    },
    async produce(topic, partition, batches, records = 3) {
      const log = logs.get(topic, partition);
      if (log === undefined) throw new Error(`no partition ${topic}-${partition}`);
      for (let i = 0; i < batches; i++) await appendTo(logs, log, makeBatch(records, { valueBytes: 100 }));
    },
  };
}

/**
 * Walks the first `length` bytes of a captured segment batch by batch: the offsets it holds, and
 * throws when `length` does not end exactly at the end of a batch.
 */
export function batchesOf(file: CapturedFile): { baseOffset: bigint; lastOffset: bigint }[] {
  const data = readFileSync(file.source).subarray(0, file.length);
  if (data.length < file.length) throw new Error(`${file.path}: only ${data.length} of ${file.length} bytes in the staged file`);
  const out: { baseOffset: bigint; lastOffset: bigint }[] = [];
  for (let at = 0; at < data.length; ) {
    if (data.length - at < LOG_OVERHEAD) throw new Error(`${file.path}: ${data.length - at} stray bytes at ${at}`);
    const size = LOG_OVERHEAD + data.readInt32BE(at + BatchOffsets.batchLength);
    if (at + size > data.length) throw new Error(`${file.path}: the captured length ${file.length} ends inside the batch at ${at}`);
    const baseOffset = data.readBigInt64BE(at + BatchOffsets.baseOffset);
    out.push({ baseOffset, lastOffset: baseOffset + BigInt(data.readInt32BE(at + BatchOffsets.lastOffsetDelta)) });
    at += size;
  }
  return out;
}

/** The offsets a capture holds of one partition, from its staged segments in order: contiguous from the first. */
export function capturedOffsets(files: readonly CapturedFile[], topic: string, partition: number): { first: bigint | null; end: bigint | null } {
  const segments = files.filter((f) => f.kind === 'segment' && f.path.startsWith(`logs/${topic}-${partition}/`)).sort((a, b) => (a.path < b.path ? -1 : 1));
  let first: bigint | null = null;
  let end: bigint | null = null;
  for (const segment of segments) {
    for (const batch of batchesOf(segment)) {
      if (end !== null && batch.baseOffset !== end) throw new Error(`${segment.path}: batch at ${batch.baseOffset} after end ${end}`);
      first ??= batch.baseOffset;
      end = batch.lastOffset + 1n;
    }
  }
  return { first, end };
}
