import assert from 'node:assert/strict';
import { readBatchHeader, splitBatches } from '../../src/records/batch.js';
import { buildBatchSync, readRecords, type RecordInput } from '../../src/records/record.js';
import type { LogManager } from '../../src/storage/log/log-manager.js';
import type { LogConfig } from '../../src/storage/log/log-config.js';

/** The compacted topic of the crash test and its child process. */
export const COMPACTED_TOPIC = { name: 'compacted', id: 'topic-id-compacted', partitions: 1 };

/** Small segments (many swaps to interrupt), every dirty byte cleanable, tombstones kept a day. */
export function compactedConfig(): LogConfig {
  return {
    segmentBytes: 16 * 1024,
    segmentMs: 7 * 86_400_000,
    retentionMs: -1,
    retentionBytes: -1,
    maxMessageBytes: 1024 * 1024,
    logAppendTime: false,
    deleteRetention: false,
    compaction: { minCleanableDirtyRatio: 0, minCompactionLagMs: 0, maxCompactionLagMs: Number.MAX_SAFE_INTEGER, deleteRetentionMs: 86_400_000 },
  };
}

/** A record as a consumer reads it from a compacted partition. */
export interface ReadRecord {
  readonly offset: bigint;
  readonly key: string;
  readonly value: string | null;
}

export async function appendRecords(m: LogManager, topic: string, records: RecordInput[], producer?: { id: bigint; sequence: number }): Promise<bigint> {
  const bytes = buildBatchSync({ records, ...(producer === undefined ? {} : { producerId: producer.id, producerEpoch: 0, baseSequence: producer.sequence }) });
  const outcome = await m.append(topic, 0, bytes);
  if (outcome.kind !== 'appended') assert.fail(`append: ${outcome.kind} ${'message' in outcome ? outcome.message : ''}`);
  return outcome.baseOffset;
}

/** Reads partition 0 whole as a consumer does: batch after batch, the next fetch after each batch's last offset. */
export async function readPartition(m: LogManager, topic: string): Promise<{ records: ReadRecord[]; batches: Buffer[] }> {
  const found = m.lookup(topic, 0);
  if (found.kind !== 'log') return assert.fail(found.kind);
  const records: ReadRecord[] = [];
  const batches: Buffer[] = [];
  let offset = found.log.logStartOffset;
  while (offset < found.log.logEndOffset) {
    const read = await found.log.readRecords(offset, 1 << 20, true);
    if (read.kind !== 'records') return assert.fail(JSON.stringify(read));
    if (read.records.length === 0) break;
    for (const batch of splitBatches(read.records)) {
      batches.push(Buffer.from(batch));
      for (const r of await readRecords(batch, { allowCleaned: true })) {
        if (r.offset >= offset) records.push({ offset: r.offset, key: r.key?.toString() ?? '', value: r.value?.toString() ?? null });
      }
      const header = readBatchHeader(batch);
      offset = header.baseOffset + BigInt(header.lastOffsetDelta) + 1n;
    }
  }
  return { records, batches };
}

/** Writes `rounds` batches of 10 records over `keys` keys (values `<tag><n>` padded to `valueBytes`); returns them by offset. */
export async function fillPartition(m: LogManager, topic: string, options: { rounds: number; keys: number; tag?: string; valueBytes?: number; from?: number }): Promise<Map<bigint, ReadRecord>> {
  const written = new Map<bigint, ReadRecord>();
  let n = options.from ?? 0;
  for (let b = 0; b < options.rounds; b++) {
    const records: RecordInput[] = [];
    for (let i = 0; i < 10; i++, n++) records.push({ key: `key-${(n * 7) % options.keys}`, value: `${options.tag ?? 'v'}${n}`.padEnd(options.valueBytes ?? 40, '.') });
    const base = await appendRecords(m, topic, records);
    records.forEach((r, i) => written.set(base + BigInt(i), { offset: base + BigInt(i), key: String(r.key), value: String(r.value) }));
  }
  return written;
}

/** The newest record of each key among `records`. */
export function newestByKey(records: Iterable<ReadRecord>): Map<string, ReadRecord> {
  const newest = new Map<string, ReadRecord>();
  for (const r of records) if ((newest.get(r.key)?.offset ?? -1n) < r.offset) newest.set(r.key, r);
  return newest;
}

/**
 * What compaction promises, whatever happened: offsets increase, every record read is the one written
 * at its offset, and the newest record of every key is there.
 */
export function assertNothingLost(read: readonly ReadRecord[], written: ReadonlyMap<bigint, ReadRecord>): void {
  for (let i = 1; i < read.length; i++) assert.ok((read[i] as ReadRecord).offset > (read[i - 1] as ReadRecord).offset, 'offsets increase');
  for (const r of read) assert.deepEqual(r, written.get(r.offset), `record at ${r.offset} is the one written there`);
  const readOffsets = new Set(read.map((r) => r.offset));
  for (const newest of newestByKey(written.values()).values()) assert.ok(readOffsets.has(newest.offset), `newest record of ${newest.key} (offset ${newest.offset}) kept`);
}

/** {@link assertNothingLost}, and below `cleanedTo` (where the cleaning stopped) each key appears once, with its newest record there. */
export function assertCompacted(read: readonly ReadRecord[], written: ReadonlyMap<bigint, ReadRecord>, cleanedTo: bigint): void {
  assertNothingLost(read, written);
  const cleaned = read.filter((r) => r.offset < cleanedTo);
  assert.equal(new Set(cleaned.map((r) => r.key)).size, cleaned.length, 'each key at most once in the cleaned part');
  const newestBelow = newestByKey([...written.values()].filter((r) => r.offset < cleanedTo));
  for (const r of cleaned) assert.equal(newestBelow.get(r.key)?.offset, r.offset, `${r.key}: only its newest record below ${cleanedTo} is left there`);
}
