import { INDEX_INTERVAL_BYTES } from '../log/format.js';
import type { LogFs } from '../log/log-fs.js';
import { SparseIndex } from '../log/sparse-index.js';
import type { CleanedSegment } from './compactable-log.js';
import type { StoredEntry } from './segment-entries.js';

/**
 * Writes the cleaned copy of one segment beside it, and its sparse indexes as the log keeps them (an
 * offset entry per {@link INDEX_INTERVAL_BYTES}, a time entry where the max timestamp grows), so that
 * the swapped-in segment opens from its index without a scan.
 */
export class CleanedSegmentWriter {
  readonly #fs: LogFs;
  readonly #path: string;
  readonly #baseOffset: bigint;
  readonly #fd: number;
  readonly #index = new SparseIndex();
  #size = 0;
  #sinceIndexEntry = 0;
  #maxTimestamp = -1;
  #closed = false;

  constructor(fs: LogFs, path: string, baseOffset: bigint) {
    this.#fs = fs;
    this.#path = path;
    this.#baseOffset = baseOffset;
    // Owner-only, as every segment; a leftover from a crash is overwritten.
    this.#fd = fs.openSync(path, 'w', 0o600);
  }

  append(entry: Omit<StoredEntry, 'bytes'>, bytes: Buffer): void {
    const written = this.#fs.writeSync(this.#fd, bytes, 0, bytes.length, this.#size);
    if (written !== bytes.length) throw Object.assign(new Error(`short write: ${written} of ${bytes.length} bytes`), { code: 'EIO' });
    const rel = Number(entry.baseOffset - this.#baseOffset);
    if (this.#index.positions.length === 0 || this.#sinceIndexEntry >= INDEX_INTERVAL_BYTES) {
      this.#index.addOffset(rel, this.#size);
      this.#sinceIndexEntry = 0;
    }
    this.#sinceIndexEntry += bytes.length;
    if (entry.maxTimestamp > this.#maxTimestamp) this.#maxTimestamp = entry.maxTimestamp;
    this.#index.addTime(this.#maxTimestamp, rel);
    this.#size += bytes.length;
  }

  get size(): number {
    return this.#size;
  }

  /** Syncs and closes the copy: it may replace the original once this resolves. */
  async finish(): Promise<CleanedSegment> {
    try {
      await this.#fs.fdatasync(this.#fd);
    } finally {
      this.#close();
    }
    return { path: this.#path, size: this.#size, offsetIndex: this.#index.encodeOffsetIndex(), timeIndex: this.#index.encodeTimeIndex() };
  }

  /** Closes and removes the copy (a cleaning stopped or refused). */
  abort(): void {
    this.#close();
    if (this.#fs.existsSync(this.#path)) this.#fs.unlinkSync(this.#path);
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#fs.closeSync(this.#fd);
  }
}
