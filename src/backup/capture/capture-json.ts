import { isAbsolute } from 'node:path';
import type { Capture, CapturedFile, CapturedFileKind, CapturedPartition } from '../contracts.js';
import { isCaptureId } from './capture-id.js';
import type { HeldCapture } from './capture-registry.js';

const KINDS: readonly CapturedFileKind[] = ['metadata', 'producer-ids', 'partition-meta', 'data-keys', 'segment', 'snapshot'];
const OFFSET = /^(0|[1-9]\d{0,18})$/;

/**
 * A held capture as the admin endpoint sends it (`{"capture":{…},"leaseExpiresAtMs":…}`), checked
 * field by field: the backup writer reads the files it names, so a path that climbs out of the data
 * directory layout (`..`) or a source that is not absolute is refused. A string says what is wrong.
 */
export function parseHeldCapture(value: unknown): HeldCapture | string {
  if (!isObject(value)) return 'the answer is not a JSON object';
  const { capture, leaseExpiresAtMs } = value;
  if (typeof leaseExpiresAtMs !== 'number' || !Number.isSafeInteger(leaseExpiresAtMs)) return 'leaseExpiresAtMs is missing or not an integer';
  if (!isObject(capture)) return 'capture is missing';
  const { id, takenAtMs, productVersion, files, partitions } = capture;
  if (!isCaptureId(id)) return 'capture.id is not a capture id';
  if (typeof takenAtMs !== 'number' || !Number.isSafeInteger(takenAtMs)) return 'capture.takenAtMs is not an integer';
  if (typeof productVersion !== 'string') return 'capture.productVersion is not a string';
  if (!Array.isArray(files) || !Array.isArray(partitions)) return 'capture.files or capture.partitions is not a list';
  const parsedFiles: CapturedFile[] = [];
  for (const [i, f] of files.entries()) {
    if (!isObject(f)) return `capture.files[${i}] is not an object`;
    const { path, kind, length, source } = f;
    if (typeof path !== 'string' || path === '' || path.startsWith('/') || path.split('/').some((part) => part === '..' || part === '.' || part === '')) return `capture.files[${i}].path is not a relative path`;
    if (typeof kind !== 'string' || !KINDS.includes(kind as CapturedFileKind)) return `capture.files[${i}].kind is unknown`;
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) return `capture.files[${i}].length is not a size`;
    if (typeof source !== 'string' || !isAbsolute(source)) return `capture.files[${i}].source is not an absolute path`;
    parsedFiles.push({ path, kind: kind as CapturedFileKind, length, source });
  }
  const parsedPartitions: CapturedPartition[] = [];
  for (const [i, p] of partitions.entries()) {
    if (!isObject(p)) return `capture.partitions[${i}] is not an object`;
    const { topic, partition, topicId, logStartOffset, endOffset } = p;
    if (typeof topic !== 'string' || topic === '' || typeof topicId !== 'string') return `capture.partitions[${i}] has no topic or topicId`;
    if (typeof partition !== 'number' || !Number.isSafeInteger(partition) || partition < 0) return `capture.partitions[${i}].partition is not a partition number`;
    if (typeof logStartOffset !== 'string' || !OFFSET.test(logStartOffset) || typeof endOffset !== 'string' || !OFFSET.test(endOffset)) return `capture.partitions[${i}] offsets are not decimal offsets`;
    parsedPartitions.push({ topic, partition, topicId, logStartOffset, endOffset });
  }
  const parsed: Capture = { id, takenAtMs, productVersion, files: parsedFiles, partitions: parsedPartitions };
  return { capture: parsed, leaseExpiresAtMs };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
