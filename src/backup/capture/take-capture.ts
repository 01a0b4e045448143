import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Capture, CapturedFile, CapturedFileKind, CapturedPartition } from '../contracts.js';
import { PARTITION_META_FILE } from '../../storage/log/format.js';
import { parseSnapshotFileName } from '../../storage/log/producer-state.js';
import { DATA_KEYS_FILE } from '../../storage/crypto/partition-keys.js';
import { PRODUCER_IDS_FILE } from '../../storage/producer-ids.js';
import type { PartitionLog } from '../../storage/log/partition-log.js';
import { productVersion } from '../../version.js';
import { CaptureError, CaptureErrorCodes } from './capture-error.js';
import type { CaptureSources } from './capture-sources.js';

/** Where captures are staged, inside the data directory (hard links must stay on its file system). */
export const STAGING_DIR = 'backup-staging';

/** `<dataDir>/backup-staging/<id>/`. */
export function stagingDirOf(dataDir: string, id: string): string {
  return join(dataDir, STAGING_DIR, id);
}

/**
 * Takes a capture of `sources` into `<dataDir>/backup-staging/<id>/` (0700), laid out as a data
 * directory: the files the backup writer reads at its own pace. The order makes the parts agree:
 *
 * 1. the metadata store is copied first (SQLite's online backup API, which may take several event-loop
 *    turns): a group offset committed before the copy never points past the log ends cut after it;
 * 2. then, in ONE synchronous step (nothing else runs on the event loop, so no append, roll or
 *    retention comes between), every partition's log end and segment sizes are read, each segment
 *    hard-linked (retention may delete the original, the link keeps its bytes; the active segment
 *    keeps growing, `length` bounds what is read), and the small files copied;
 * 3. then the group commit makes the captured bytes durable, so a capture never holds data that a
 *    failed fsync could still take back.
 *
 * Only topics present both before the store's copy and at the cut are captured: a topic created or
 * deleted meanwhile is either absent from the copy or gone from the logs. Anything that cannot be
 * captured consistently throws a CaptureError naming it, and the staging directory is removed.
 */
export async function takeCapture(sources: CaptureSources, id: string, nowMs: number): Promise<Capture> {
  const staging = stagingDirOf(sources.dataDir, id);
  mkdirSync(join(sources.dataDir, STAGING_DIR), { recursive: true, mode: 0o700 });
  mkdirSync(staging, { mode: 0o700 });
  try {
    const before = new Map(sources.store.topics().map((t) => [t.name, t.id]));
    const metadataPath = join(staging, 'metadata.db');
    try {
      await sources.store.backupTo(metadataPath);
    } catch (err) {
      throw new CaptureError(CaptureErrorCodes.FAILED, `the metadata store could not be copied (${reasonOf(err)})`, { cause: err });
    }
    const files: CapturedFile[] = [fileAt(staging, 'metadata.db', 'metadata')];
    const partitions = cutAndStage(sources, staging, before, files);
    try {
      await sources.logs.sync();
    } catch (err) {
      throw new CaptureError(CaptureErrorCodes.FAILED, `the captured log data could not be made durable (${reasonOf(err)})`, { cause: err });
    }
    return { id, takenAtMs: nowMs, productVersion: productVersion(), files, partitions };
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    if (err instanceof CaptureError) throw err;
    throw new CaptureError(CaptureErrorCodes.FAILED, `the capture failed: ${reasonOf(err)}`, { cause: err });
  }
}

/** Step 2 of {@link takeCapture}: synchronous from start to end, so that it is one consistent cut. */
function cutAndStage(sources: CaptureSources, staging: string, before: ReadonlyMap<string, string>, files: CapturedFile[]): CapturedPartition[] {
  const logsDir = join(sources.dataDir, 'logs');
  const logs: PartitionLog[] = [];
  for (const topic of sources.store.topics()) {
    if (before.get(topic.name) !== topic.id) continue;
    for (let partition = 0; partition < topic.partitions; partition++) {
      // A partition without a directory never held data: restore creates it empty from the metadata.
      if (!existsSync(join(logsDir, `${topic.name}-${partition}`))) continue;
      let log: PartitionLog | undefined;
      try {
        log = sources.logs.get(topic.name, partition);
      } catch (err) {
        throw new CaptureError(CaptureErrorCodes.FAILED, `partition ${topic.name}-${partition} cannot be opened to be captured (${reasonOf(err)})`, { cause: err });
      }
      if (log !== undefined) logs.push(log);
    }
  }
  const partitions: CapturedPartition[] = [];
  const views = logs.map((log) => {
    const view = log.captureView();
    const { topic, partition, topicId } = log.id;
    if (view === null) throw new CaptureError(CaptureErrorCodes.FAILED, `partition ${topic}-${partition} cannot be captured: ${log.offline ?? 'its log is closed'}`);
    partitions.push({ topic, partition, topicId, logStartOffset: view.logStartOffset.toString(), endOffset: view.logEndOffset.toString() });
    return { log, view };
  });
  copyInto(staging, join(sources.dataDir, PRODUCER_IDS_FILE), PRODUCER_IDS_FILE, 'producer-ids', files, { optional: true });
  for (const { log, view } of views) {
    const rel = `logs/${log.id.topic}-${log.id.partition}`;
    mkdirSync(join(staging, rel), { recursive: true, mode: 0o700 });
    copyInto(staging, join(log.dir, PARTITION_META_FILE), `${rel}/${PARTITION_META_FILE}`, 'partition-meta', files, { optional: false });
    copyInto(staging, join(log.dir, DATA_KEYS_FILE), `${rel}/${DATA_KEYS_FILE}`, 'data-keys', files, { optional: true });
    for (const segment of view.segments) {
      const name = basename(segment.path);
      const target = join(staging, rel, name);
      try {
        linkSync(segment.path, target);
      } catch (err) {
        throw new CaptureError(CaptureErrorCodes.FAILED, `segment ${rel}/${name} could not be hard-linked into the staging directory (${reasonOf(err)})`, { cause: err });
      }
      files.push({ path: `${rel}/${name}`, kind: 'segment', length: segment.length, source: target });
    }
    // Snapshots past the captured end describe batches the capture does not hold.
    for (const name of readdirSync(log.dir).sort()) {
      const offset = parseSnapshotFileName(name);
      if (offset === null || offset > view.logEndOffset) continue;
      // A snapshot is an optimisation (the log rebuilds the state without it): one removed meanwhile is left out.
      copyInto(staging, join(log.dir, name), `${rel}/${name}`, 'snapshot', files, { optional: true });
    }
  }
  return partitions;
}

/** Copies a small file whole into the staging directory; a missing optional one is left out. */
function copyInto(staging: string, from: string, rel: string, kind: CapturedFileKind, files: CapturedFile[], { optional }: { optional: boolean }): void {
  const to = join(staging, rel);
  try {
    copyFileSync(from, to);
  } catch (err) {
    if (optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new CaptureError(CaptureErrorCodes.FAILED, `${rel} could not be copied into the staging directory (${reasonOf(err)})`, { cause: err });
  }
  files.push(fileAt(staging, rel, kind));
}

function fileAt(staging: string, rel: string, kind: CapturedFileKind): CapturedFile {
  const source = join(staging, rel);
  return { path: rel, kind, length: statSync(source).size, source };
}

function reasonOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}
