import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { BatchOffsets, CURRENT_MAGIC, LOG_OVERHEAD } from '../../records/batch.js';
import { PartitionKeys, type KeyServices } from '../../storage/crypto/partition-keys.js';
import { SEALED_MAGIC } from '../../storage/crypto/sealed-batch.js';
import { PARTITION_META_FILE, parseSegmentFileName } from '../../storage/log/format.js';
import { nodeLogFs } from '../../storage/log/log-fs.js';

/** One partition directory under `<dataDir>/logs`, as its `partition.json` describes it. */
export interface PartitionDir {
  readonly dir: string;
  readonly topic: string;
  readonly partition: number;
  readonly topicId: string;
}

/**
 * Every partition directory of the data directory, by topic id. The id comes from each directory's
 * `partition.json`, not from its name: a directory is a topic's only when the ids agree, and the
 * directories of a deleted topic (being removed, `.deleted`) belong to nobody.
 */
export function partitionDirsById(dataDir: string): Map<string, PartitionDir[]> {
  const logs = join(dataDir, 'logs');
  const byId = new Map<string, PartitionDir[]>();
  if (!existsSync(logs)) return byId;
  for (const name of readdirSync(logs)) {
    if (!/^.+-\d+$/.test(name)) continue;
    const dir = join(logs, name);
    let meta: { topic?: unknown; partition?: unknown; topicId?: unknown };
    try {
      meta = JSON.parse(readFileSync(join(dir, PARTITION_META_FILE), 'utf8')) as typeof meta;
    } catch {
      continue;
    }
    if (typeof meta.topicId !== 'string' || typeof meta.topic !== 'string' || typeof meta.partition !== 'number') continue;
    const list = byId.get(meta.topicId) ?? [];
    list.push({ dir, topic: meta.topic, partition: meta.partition, topicId: meta.topicId });
    byId.set(meta.topicId, list);
  }
  for (const list of byId.values()) list.sort((a, b) => a.partition - b.partition);
  return byId;
}

/** The data keys of a partition, as the broker opens them (nothing is read until asked). */
export function partitionKeys(p: PartitionDir, services: KeyServices): PartitionKeys {
  return new PartitionKeys(nodeLogFs, p.dir, { topicId: p.topicId, partition: p.partition }, services, Date.now);
}

/** The `.log` segment files of a partition directory, by base offset ascending. */
export function segmentFiles(dir: string): { base: bigint; path: string }[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const base = parseSegmentFileName(name);
      return base === null ? [] : [{ base, path: join(dir, name) }];
    })
    .sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
}

/** Bytes of stored entries by form: sealed (magic 0x50) and clear (magic 2, a Kafka v2 batch). */
export interface StoredBytes {
  sealedBytes: number;
  sealedBatches: number;
  clearBytes: number;
  clearBatches: number;
}

export function emptyStoredBytes(): StoredBytes {
  return { sealedBytes: 0, sealedBatches: 0, clearBytes: 0, clearBatches: 0 };
}

export function addStoredBytes(to: StoredBytes, from: StoredBytes): void {
  to.sealedBytes += from.sealedBytes;
  to.sealedBatches += from.sealedBatches;
  to.clearBytes += from.clearBytes;
  to.clearBatches += from.clearBatches;
}

/**
 * Counts a partition's entries by their magic byte (offset 16), walking each segment by the entry
 * lengths (offset 8) without reading the data. A length or magic that makes no sense (a torn tail the
 * broker truncates at its next start) ends that segment's count.
 */
export function storedBytes(dir: string): StoredBytes {
  const counts = emptyStoredBytes();
  const header = Buffer.alloc(BatchOffsets.magic + 1);
  for (const { path } of segmentFiles(dir)) {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      for (let at = 0; at + header.length <= size; ) {
        if (readSync(fd, header, 0, header.length, at) < header.length) break;
        const length = LOG_OVERHEAD + header.readInt32BE(BatchOffsets.batchLength);
        const magic = header.readInt8(BatchOffsets.magic);
        if (length <= header.length || at + length > size) break;
        if (magic === SEALED_MAGIC) {
          counts.sealedBytes += length;
          counts.sealedBatches++;
        } else if (magic === CURRENT_MAGIC) {
          counts.clearBytes += length;
          counts.clearBatches++;
        } else {
          break;
        }
        at += length;
      }
    } finally {
      closeSync(fd);
    }
  }
  return counts;
}
