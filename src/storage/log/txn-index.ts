import { crc32c } from '@node-rs/crc32';
import type { LogFs } from './log-fs.js';

/**
 * The aborted-transaction index of one segment (`<base>.txnindex`, as Kafka's TransactionIndex): one
 * entry per transaction aborted by a marker in that segment. A read_committed fetch answers, beside its
 * records, the aborted transactions those records may belong to, and the consumer drops their batches;
 * an entry missing here would hand aborted records to the application as committed ones. So an index
 * is trusted only when it says, in its header, up to which offset it is complete, and every byte of it
 * passes a CRC-32C; otherwise the log rebuilds it from the segment (partition-log.ts).
 *
 * Layout (big-endian), docs/storage-format.md#aborted-transaction-index-txnindex:
 * - header, 24 bytes: magic `PTXN`, int16 version (1), int16 reserved (0), int64 coveredTo (every
 *   transaction aborted by a marker below this offset is listed), int32 entry count, uint32 CRC-32C of
 *   bytes 0–19;
 * - entries, 36 bytes each, ascending by marker offset: int64 producerId, int64 firstOffset, int64
 *   lastOffset (the abort marker's offset), int64 lastStableOffset (the partition's last stable offset
 *   right after the marker), uint32 CRC-32C of the 32 bytes before it.
 */

/** One aborted transaction (Kafka's AbortedTxn). */
export interface AbortedTxn {
  readonly producerId: bigint;
  /** The transaction's first offset on the partition. */
  readonly firstOffset: bigint;
  /** The offset of its abort marker. */
  readonly lastOffset: bigint;
  /**
   * The last stable offset right after the marker: every transaction that started below it had ended
   * by then, so a search for transactions starting below `upTo` may stop at an entry where this is ≥ `upTo`.
   */
  readonly lastStableOffset: bigint;
}

export const TXN_INDEX_MAGIC = 0x5054584e; // 'PTXN'
export const TXN_INDEX_VERSION = 1;
export const TXN_INDEX_HEADER = 24;
export const TXN_INDEX_ENTRY = 36;
/** Entries read at once from a rolled segment's file: memory stays flat whatever the file's size. */
const READ_CHUNK_ENTRIES = 1820; // ~64 KiB

/** A `.txnindex` file that fails its checks. */
export class TxnIndexDamage extends Error {}

export function encodeTxnIndex(entries: readonly AbortedTxn[], coveredTo: bigint): Buffer {
  const buf = Buffer.allocUnsafe(TXN_INDEX_HEADER + entries.length * TXN_INDEX_ENTRY);
  buf.writeUInt32BE(TXN_INDEX_MAGIC, 0);
  buf.writeInt16BE(TXN_INDEX_VERSION, 4);
  buf.writeInt16BE(0, 6);
  buf.writeBigInt64BE(coveredTo, 8);
  buf.writeInt32BE(entries.length, 16);
  buf.writeUInt32BE(crc32c(buf.subarray(0, 20)) >>> 0, 20);
  let at = TXN_INDEX_HEADER;
  for (const e of entries) {
    buf.writeBigInt64BE(e.producerId, at);
    buf.writeBigInt64BE(e.firstOffset, at + 8);
    buf.writeBigInt64BE(e.lastOffset, at + 16);
    buf.writeBigInt64BE(e.lastStableOffset, at + 24);
    buf.writeUInt32BE(crc32c(buf.subarray(at, at + 32)) >>> 0, at + 32);
    at += TXN_INDEX_ENTRY;
  }
  return buf;
}

/** The header of a `.txnindex` file; throws {@link TxnIndexDamage}. */
function decodeHeader(buf: Buffer, fileSize: number): { coveredTo: bigint; count: number } {
  if (buf.length < TXN_INDEX_HEADER) throw new TxnIndexDamage(`a header of ${buf.length} bytes`);
  if (buf.readUInt32BE(0) !== TXN_INDEX_MAGIC) throw new TxnIndexDamage('not a transaction index (magic)');
  if ((crc32c(buf.subarray(0, 20)) >>> 0) !== buf.readUInt32BE(20)) throw new TxnIndexDamage('the header fails its CRC-32C');
  const version = buf.readInt16BE(4);
  if (version !== TXN_INDEX_VERSION) throw new TxnIndexDamage(`version ${version} is not one this build reads`);
  const count = buf.readInt32BE(16);
  // The count makes a file cut at an entry boundary as visible as one cut inside an entry.
  if (count < 0 || fileSize !== TXN_INDEX_HEADER + count * TXN_INDEX_ENTRY) throw new TxnIndexDamage(`${fileSize} bytes for ${count} entries`);
  return { coveredTo: buf.readBigInt64BE(8), count };
}

function decodeEntry(buf: Buffer, at: number): AbortedTxn {
  if ((crc32c(buf.subarray(at, at + 32)) >>> 0) !== buf.readUInt32BE(at + 32)) throw new TxnIndexDamage('an entry fails its CRC-32C');
  return {
    producerId: buf.readBigInt64BE(at),
    firstOffset: buf.readBigInt64BE(at + 8),
    lastOffset: buf.readBigInt64BE(at + 16),
    lastStableOffset: buf.readBigInt64BE(at + 24),
  };
}

/**
 * Decodes a whole `.txnindex` file of the segment [base, nextOffset) and checks it: the header, every
 * entry's CRC, markers ascending inside the segment, each transaction starting before its marker.
 * Throws {@link TxnIndexDamage}.
 */
export function decodeTxnIndex(data: Buffer, base: bigint, nextOffset: bigint): { coveredTo: bigint; entries: AbortedTxn[] } {
  const { coveredTo, count } = decodeHeader(data, data.length);
  const entries: AbortedTxn[] = [];
  let previous = base - 1n;
  for (let i = 0; i < count; i++) {
    const e = decodeEntry(data, TXN_INDEX_HEADER + i * TXN_INDEX_ENTRY);
    checkEntry(e, i, previous, base, nextOffset);
    if (e.lastOffset >= coveredTo) throw new TxnIndexDamage(`an entry at offset ${e.lastOffset} lies past what the file covers (${coveredTo})`);
    previous = e.lastOffset;
    entries.push(e);
  }
  return { coveredTo, entries };
}

/**
 * A segment's aborted transactions. The active segment's, and a rolled one's until its file is written,
 * are held in memory; a rolled segment whose file is written keeps only its count, and a search reads
 * the file (segments without aborts cost nothing). The file of a segment is written whole (temporary
 * file, fsync, rename) once the segment's data is durable, with how far it is complete.
 */
export class SegmentTxnIndex {
  readonly path: string;
  #entries: AbortedTxn[] | null;
  #count: number;
  /** Whether the file is missing or older than the entries (a write at close or roll is then due). */
  #unwritten: boolean;

  private constructor(path: string, entries: AbortedTxn[] | null, count: number, unwritten: boolean) {
    this.path = path;
    this.#entries = entries;
    this.#count = count;
    this.#unwritten = unwritten;
  }

  /** An index held in memory: empty, or the entries given. */
  static inMemory(path: string, entries: AbortedTxn[] = []): SegmentTxnIndex {
    return new SegmentTxnIndex(path, entries, entries.length, true);
  }

  /** An index whose entries stay in its file (checked when it was opened). */
  static onDisk(path: string, count: number): SegmentTxnIndex {
    return new SegmentTxnIndex(path, count === 0 ? [] : null, count, false);
  }

  get count(): number {
    return this.#count;
  }

  /** Adds the entry of an abort marker (the active segment's index, in memory). */
  add(entry: AbortedTxn): void {
    if (this.#entries === null) throw new Error(`${this.path}: entries are added only to an index held in memory`);
    this.#entries.push(entry);
    this.#count++;
    this.#unwritten = true;
  }

  /**
   * Writes the file, complete up to `coveredTo` (the segment's next offset). With `release`, the
   * entries then stay only in the file (a rolled segment). Throws the file system's error, with the
   * entries still in memory.
   */
  persist(fs: LogFs, coveredTo: bigint, release: boolean): void {
    if (this.#entries === null) return;
    // The active segment's file is rewritten at every close: it must say how far the log reached.
    if (this.#unwritten || !release) fs.writeFileDurably(this.path, encodeTxnIndex(this.#entries, coveredTo));
    this.#unwritten = false;
    if (release && this.#entries.length > 0) this.#entries = null;
  }

  /** The entries in memory (the active segment's), or null when they are in the file. */
  get held(): readonly AbortedTxn[] | null {
    return this.#entries;
  }

  /**
   * Calls `visit` for each entry in order until it returns false. A file is read in chunks and each
   * entry checked against its CRC; throws {@link TxnIndexDamage}, or the file system's error.
   */
  forEach(fs: LogFs, visit: (entry: AbortedTxn) => boolean): void {
    if (this.#entries !== null) {
      for (const e of this.#entries) if (!visit(e)) return;
      return;
    }
    const { count } = readFileEntries(fs, this.path, visit);
    if (count !== this.#count) throw new TxnIndexDamage(`${count} entries where ${this.#count} were found when the segment was opened`);
  }

  /** All entries (tests, and the rebuild of a segment partly covered by its file). */
  all(fs: LogFs): AbortedTxn[] {
    const out: AbortedTxn[] = [];
    this.forEach(fs, (e) => (out.push(e), true));
    return out;
  }
}

/**
 * Reads a `.txnindex` file in chunks, checking its header and each entry's CRC, and calls `visit` for
 * each entry until it returns false. Returns the header. Throws {@link TxnIndexDamage}, or the file
 * system's error.
 */
function readFileEntries(fs: LogFs, path: string, visit: (entry: AbortedTxn) => boolean): { coveredTo: bigint; count: number } {
  const fd = fs.openSync(path, 'r');
  try {
    const head = Buffer.allocUnsafe(TXN_INDEX_HEADER);
    const read = fs.readSync(fd, head, 0, TXN_INDEX_HEADER, 0);
    const header = decodeHeader(head.subarray(0, read), fs.fstatSync(fd).size);
    const { count } = header;
    const chunk = Buffer.allocUnsafe(Math.min(count, READ_CHUNK_ENTRIES) * TXN_INDEX_ENTRY);
    for (let i = 0; i < count; ) {
      const n = Math.min(count - i, READ_CHUNK_ENTRIES);
      const bytes = n * TXN_INDEX_ENTRY;
      if (fs.readSync(fd, chunk, 0, bytes, TXN_INDEX_HEADER + i * TXN_INDEX_ENTRY) !== bytes) throw new TxnIndexDamage('the file is shorter than its header says');
      for (let j = 0; j < n; j++) if (!visit(decodeEntry(chunk, j * TXN_INDEX_ENTRY))) return header;
      i += n;
    }
    return header;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Checks a whole `.txnindex` file of the segment [base, nextOffset) without keeping its entries: the
 * header, every entry's CRC, markers ascending inside the segment and below what the file covers, each
 * transaction starting before its marker. Returns how far it is complete and how many entries it holds.
 * Throws {@link TxnIndexDamage}, or the file system's error.
 */
export function inspectTxnIndex(fs: LogFs, path: string, base: bigint, nextOffset: bigint): { coveredTo: bigint; count: number } {
  let previous = base - 1n;
  let i = 0;
  const header = readFileEntries(fs, path, (e) => {
    checkEntry(e, i++, previous, base, nextOffset);
    previous = e.lastOffset;
    return true;
  });
  if (previous >= header.coveredTo) throw new TxnIndexDamage(`an entry at offset ${previous} lies past what the file covers (${header.coveredTo})`);
  return header;
}

function checkEntry(e: AbortedTxn, i: number, previous: bigint, base: bigint, nextOffset: bigint): void {
  if (e.lastOffset <= previous || e.lastOffset >= nextOffset || e.firstOffset > e.lastOffset || e.producerId < 0n) {
    throw new TxnIndexDamage(`entry ${i} (producer ${e.producerId}, offsets ${e.firstOffset}..${e.lastOffset}) does not fit the segment ${base}..${nextOffset - 1n}`);
  }
}
