import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { CheckpointBody } from './chain.js';
import { syncDirectory, type AuditFs } from './audit-fs.js';

/**
 * The files of an audit directory: `audit-<first seq, 20 digits>.jsonl`, so that names sort in the
 * order of the trail, and `head.json`, the latest checkpoint (what tells a cut tail from a short one).
 */

const FILE_NAME = /^audit-(\d{20})\.jsonl$/;
export const HEAD_FILE = 'head.json';

export function auditFileName(firstSeq: number): string {
  return `audit-${String(firstSeq).padStart(20, '0')}.jsonl`;
}

/** The first seq a file's name gives, or undefined when it is not an audit file's name. */
export function firstSeqOfName(path: string): number | undefined {
  const m = FILE_NAME.exec(basename(path));
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** The audit files of a directory, oldest first (names only). */
export function auditFileNames(entries: readonly string[]): string[] {
  return entries.filter((e) => FILE_NAME.test(e)).sort();
}

/** The audit files of a directory, oldest first, as paths; [] when it does not exist. */
export async function listAuditFiles(dir: string): Promise<string[]> {
  try {
    return auditFileNames(await readdir(dir)).map((f) => join(dir, f));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** The latest checkpoint, signed: a file that ends before it was cut. */
export interface AuditHead {
  readonly file: string;
  readonly seq: number;
  readonly prev: string;
  readonly checkpoint: CheckpointBody;
}

export async function readHead(path: string): Promise<AuditHead | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const v = JSON.parse(text) as Partial<AuditHead>;
  if (typeof v.file !== 'string' || typeof v.seq !== 'number' || typeof v.prev !== 'string' || typeof v.checkpoint !== 'object') {
    throw new Error(`${path} is not an audit head (file, seq, prev, checkpoint)`);
  }
  return v as AuditHead;
}

/** Replaces head.json atomically: a crash leaves the old one or the new one, never half of one. */
export async function writeHead(fs: AuditFs, dir: string, head: AuditHead): Promise<void> {
  const path = join(dir, HEAD_FILE);
  const temp = `${path}.tmp`;
  const handle = await fs.open(temp, 'w', 0o600);
  try {
    const bytes = Buffer.from(`${JSON.stringify(head)}\n`, 'utf8');
    let done = 0;
    while (done < bytes.length) done += (await handle.write(bytes, done, bytes.length - done, done)).bytesWritten;
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(temp, path);
  await syncDirectory(fs, dir);
}

/** One line of a file: its bytes without the newline, where it starts, and whether a newline ended it. */
export interface RawLine {
  readonly bytes: Buffer;
  /** 1-based. */
  readonly lineNo: number;
  readonly offset: number;
  readonly complete: boolean;
  /** Longer than the limit: bytes holds only its start. */
  readonly overlong: boolean;
}

/** A line longer than this is not one the trail wrote: it is reported, not held in memory. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

/** The lines of a file, read in chunks: memory holds one line at a time. */
export async function* rawLines(path: string, start = 0): AsyncGenerator<RawLine> {
  let parts: Buffer[] = [];
  let partBytes = 0;
  let overlong = false;
  let offset = start;
  let lineStart = start;
  let lineNo = 0;
  for await (const chunk of createReadStream(path, { start, highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, from);
      const end = nl < 0 ? chunk.length : nl;
      if (!overlong) {
        if (partBytes + end - from > MAX_LINE_BYTES) {
          overlong = true;
          parts.push(chunk.subarray(from, from + Math.max(0, Math.min(end - from, 64 - partBytes))));
        } else {
          parts.push(chunk.subarray(from, end));
          partBytes += end - from;
        }
      }
      if (nl < 0) break;
      lineNo += 1;
      yield { bytes: Buffer.concat(parts), lineNo, offset: lineStart, complete: true, overlong };
      parts = [];
      partBytes = 0;
      overlong = false;
      lineStart = offset + nl + 1;
      from = nl + 1;
    }
    offset += chunk.length;
  }
  if (lineStart < offset) yield { bytes: Buffer.concat(parts), lineNo: lineNo + 1, offset: lineStart, complete: false, overlong };
}

/** The end of a file: its last complete line (undefined when it has none) and a partial line after it. */
export interface FileTail {
  readonly size: number;
  readonly lastLine?: { readonly bytes: Buffer; readonly offset: number };
  /** Where the bytes after the last newline start; === size when the file ends with a newline. */
  readonly completeBytes: number;
}

/** Reads only the end of a file, in growing chunks, until the whole last complete line is in hand. */
export async function readFileTail(fs: AuditFs, path: string): Promise<FileTail> {
  const handle = await fs.open(path, 'r');
  try {
    const { size } = await handle.stat();
    for (let want = 64 * 1024; ; want *= 4) {
      const length = Math.min(size, want);
      const from = size - length;
      const buf = Buffer.alloc(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await handle.read(buf, got, length - got, from + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      const lastNl = buf.lastIndexOf(0x0a);
      if (lastNl < 0) {
        if (from === 0) return { size, completeBytes: 0 };
        continue;
      }
      const before = lastNl === 0 ? -1 : buf.lastIndexOf(0x0a, lastNl - 1);
      if (before < 0 && from > 0) continue;
      const lineStart = before + 1;
      return { size, completeBytes: from + lastNl + 1, lastLine: { bytes: Buffer.from(buf.subarray(lineStart, lastNl)), offset: from + lineStart } };
    }
  } finally {
    await handle.close();
  }
}
