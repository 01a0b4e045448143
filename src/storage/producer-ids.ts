import { join } from 'node:path';
import { ParapetError } from '../errors.js';
import { nodeLogFs, type LogFs } from './log/log-fs.js';

/** Where the producer id reservation lives, in the data directory (docs/storage-format.md). */
export const PRODUCER_IDS_FILE = 'producer-ids.json';

/** Ids reserved per write of the file, as Kafka's ProducerIdManager reserves blocks of 1000. */
export const DEFAULT_PRODUCER_ID_BLOCK_SIZE = 1000;

const FORMAT_VERSION = 1;
const MAX_PRODUCER_ID = 0x7fff_ffff_ffff_ffffn;

export interface ProducerIdStoreOptions {
  readonly fs?: LogFs;
  readonly blockSize?: number;
}

/**
 * Hands out producer ids that never repeat, across restarts and crashes too. A partition keeps the
 * sequence state of every producer id it has seen, so a reused id would inherit another producer's
 * sequences and be refused (or, worse, have its first batches taken for duplicates).
 *
 * Ids come from blocks: the file records the first id of the next block, and it is rewritten durably
 * (temp file, fsync, rename, fsync of the directory) before any id of a new block is handed out. A
 * crash loses at most the rest of the current block, never reuses an id. The metadata store is not
 * used so that this stays independent of its schema migrations; backups must include the file.
 */
export class ProducerIdStore {
  readonly #fs: LogFs;
  readonly #dataDir: string;
  readonly #path: string;
  readonly #blockSize: bigint;
  #next: bigint;
  /** One past the last id of the current block; `#next === #blockEnd` means no id is reserved. */
  #blockEnd: bigint;

  private constructor(fs: LogFs, dataDir: string, blockSize: number, next: bigint) {
    this.#fs = fs;
    this.#dataDir = dataDir;
    this.#path = join(dataDir, PRODUCER_IDS_FILE);
    this.#blockSize = BigInt(blockSize);
    this.#next = next;
    this.#blockEnd = next;
  }

  /**
   * Reads the reservation of `<dataDir>/producer-ids.json` (ids start at 0 when there is none). A file
   * that cannot be read fails the start: guessing could hand out ids again.
   */
  static open(dataDir: string, options: ProducerIdStoreOptions = {}): ProducerIdStore {
    const fs = options.fs ?? nodeLogFs;
    const blockSize = options.blockSize ?? DEFAULT_PRODUCER_ID_BLOCK_SIZE;
    if (!Number.isSafeInteger(blockSize) || blockSize < 1) throw new RangeError(`producer id block size must be a positive integer, not ${blockSize}`);
    const path = join(dataDir, PRODUCER_IDS_FILE);
    let next = 0n;
    if (fs.existsSync(path)) next = parse(fs.readFileSync(path), path);
    return new ProducerIdStore(fs, dataDir, blockSize, next);
  }

  /** The first id not handed out by this process (the next one {@link next} returns). */
  get peek(): bigint {
    return this.#next;
  }

  /**
   * A producer id never handed out before. Reserves the next block first when the current one is used
   * up; if that write fails, the file system's error is thrown and no id is handed out.
   */
  next(): bigint {
    if (this.#next === this.#blockEnd) {
      const end = this.#blockEnd + this.#blockSize;
      if (end > MAX_PRODUCER_ID) throw new ParapetError('STORAGE_ERROR', 'producer ids are exhausted');
      this.#fs.writeFileDurably(this.#path, Buffer.from(`${JSON.stringify({ version: FORMAT_VERSION, nextBlockStart: String(end) })}\n`));
      // The rename must survive a power loss too, or the old file could come back and its block be reused.
      this.#fs.fsyncDir(this.#dataDir);
      this.#blockEnd = end;
    }
    const id = this.#next;
    this.#next++;
    return id;
  }
}

function parse(data: Buffer, path: string): bigint {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString('utf8'));
  } catch {
    throw new ParapetError('STORAGE_ERROR', `${path} is not valid JSON: refusing to start rather than risk reusing producer ids`);
  }
  const { version, nextBlockStart } = (parsed ?? {}) as { version?: unknown; nextBlockStart?: unknown };
  if (version !== FORMAT_VERSION) throw new ParapetError('STORAGE_ERROR', `${path}: format version ${String(version)} is not supported`);
  if (typeof nextBlockStart !== 'string' || !/^\d{1,19}$/.test(nextBlockStart) || BigInt(nextBlockStart) > MAX_PRODUCER_ID) {
    throw new ParapetError('STORAGE_ERROR', `${path}: nextBlockStart must be a decimal string of a producer id, not ${JSON.stringify(nextBlockStart)}`);
  }
  return BigInt(nextBlockStart);
}
