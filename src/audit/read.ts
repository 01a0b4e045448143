import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import type { AuditEvent } from './audit-event.js';
import { listAuditFiles, rawLines, readFileTail } from './audit-files.js';
import { nodeAuditFs } from './audit-fs.js';
import { isCheckpoint, parseAuditLine, type CheckpointBody } from './chain.js';

/**
 * Reading the trail (`parapet audit tail|search`): the events of a set of files in order, one line in
 * memory at a time. Reading checks nothing (that is `parapet audit verify`): lines that are not audit
 * lines are skipped, and counted for whoever asks.
 */

export interface AuditRecord {
  readonly file: string;
  readonly line: number;
  readonly seq: number;
  readonly event?: AuditEvent;
  readonly checkpoint?: CheckpointBody;
}

export interface ReadOptions {
  /** Yield checkpoints too (default: events only). */
  readonly checkpoints?: boolean;
  /** Called for each line that is not an audit line. */
  readonly onInvalid?: (file: string, line: number) => void;
}

function recordOf(file: string, lineNo: number, bytes: Buffer, options: ReadOptions): AuditRecord | undefined {
  const line = parseAuditLine(bytes.toString('utf8'));
  if (typeof line === 'string') {
    options.onInvalid?.(file, lineNo);
    return undefined;
  }
  if (isCheckpoint(line)) return options.checkpoints === true ? { file, line: lineNo, seq: line.seq, checkpoint: line.checkpoint } : undefined;
  return { file, line: lineNo, seq: line.seq, event: line.event };
}

/** The events (and checkpoints, when asked) of `files`, in the order given. An incomplete last line is left out. */
export async function* readAuditRecords(files: readonly string[], options: ReadOptions = {}): AsyncGenerator<AuditRecord> {
  for (const file of files) {
    for await (const raw of rawLines(file)) {
      if (!raw.complete) break;
      if (raw.overlong) {
        options.onInvalid?.(file, raw.lineNo);
        continue;
      }
      const record = recordOf(file, raw.lineNo, raw.bytes, options);
      if (record !== undefined) yield record;
    }
  }
}

/**
 * The last `n` events of `files`: the newest files are read first, as many as it takes, each through
 * a ring of n records (memory is n records, whatever the size of the trail).
 */
export async function lastAuditRecords(files: readonly string[], n: number, options: ReadOptions = {}): Promise<AuditRecord[]> {
  let found: AuditRecord[] = [];
  for (let i = files.length - 1; i >= 0 && found.length < n; i--) {
    const want = n - found.length;
    const ring: AuditRecord[] = [];
    let next = 0;
    for await (const r of readAuditRecords(files.slice(i, i + 1), options)) {
      ring[next] = r;
      next = (next + 1) % want;
    }
    found = [...ring.slice(next), ...ring.slice(0, next), ...found];
  }
  return found;
}

export interface FollowOptions extends ReadOptions {
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * What is written to the audit directory from now on (`tail --follow`): polls the newest file for new
 * complete lines, and moves on to the next file when the trail rotates. Ends when `signal` aborts.
 */
export async function* followAuditRecords(dir: string, options: FollowOptions = {}): AsyncGenerator<AuditRecord> {
  const pollMs = options.pollMs ?? 500;
  let files = await listAuditFiles(dir);
  let file = files.at(-1);
  // From the end of the last complete line: one being written is read whole once its newline comes.
  let offset = file === undefined ? 0 : (await readFileTail(nodeAuditFs, file)).completeBytes;
  let lineNo = file === undefined ? 0 : await lineCount(file, offset);
  let carry = Buffer.alloc(0);
  while (options.signal?.aborted !== true) {
    if (file !== undefined) {
      const chunk = await readFrom(file, offset);
      offset += chunk.length;
      const data = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
      let from = 0;
      for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a, from)) {
        lineNo += 1;
        const record = recordOf(file, lineNo, data.subarray(from, nl), options);
        from = nl + 1;
        if (record !== undefined) yield record;
      }
      carry = Buffer.from(data.subarray(from));
      if (chunk.length > 0) continue;
    }
    files = await listAuditFiles(dir);
    const next = file === undefined ? files[0] : files.find((f) => basename(f) > basename(file ?? ''));
    if (next !== undefined && carry.length === 0) {
      // The file before is complete (it ends with its closing checkpoint): on to the next one.
      file = next;
      offset = 0;
      lineNo = 0;
      continue;
    }
    await sleep(pollMs, options.signal);
  }
}

async function lineCount(file: string, upTo: number): Promise<number> {
  let n = 0;
  for await (const raw of rawLines(file)) {
    if (raw.offset >= upTo || !raw.complete) break;
    n += 1;
  }
  return n;
}

/** What the file holds after `offset`, up to 4 MiB at a time. */
async function readFrom(file: string, offset: number): Promise<Buffer> {
  let h;
  try {
    h = await open(file, 'r');
  } catch (err) {
    // Deleted by retention while followed: nothing more comes from it.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw err;
  }
  try {
    const size = (await h.stat()).size;
    if (size <= offset) return Buffer.alloc(0);
    const buf = Buffer.alloc(Math.min(size - offset, 4 * 1024 * 1024));
    const { bytesRead } = await h.read(buf, 0, buf.length, offset);
    return buf.subarray(0, bytesRead);
  } finally {
    await h.close();
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
