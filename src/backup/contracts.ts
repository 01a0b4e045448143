/**
 * The seams of backup and restore (docs/operations/backup-and-recovery.md): what a capture of a data
 * directory hands to the backup writer, and where backups go. The capture is taken by the broker that
 * holds the data directory (through its admin endpoint) or, when none runs, by the command itself under
 * the data directory's lock; the writer then reads the captured files at its own pace, in its own
 * process, so the broker's event loop only pays for the capture itself.
 */

/** What a captured file is: decides how restore treats it and how verify checks it. */
export type CapturedFileKind =
  /** metadata.db, a consistent copy made with SQLite's online backup API. */
  | 'metadata'
  /** producer-ids.json. */
  | 'producer-ids'
  /** A partition's partition.json. */
  | 'partition-meta'
  /** A partition's data-keys.json (its data keys wrapped by the topic's KEK: never the KEK itself). */
  | 'data-keys'
  /** A log segment, up to the end of the last complete batch at the capture. */
  | 'segment'
  /** A producer state snapshot at or below the captured end offset. */
  | 'snapshot'
  /**
   * What `parapet init` wrote for the broker to start with: parapet.yaml, tls/ (the server's key
   * among them: chunks are encrypted), client/. Never keys that live beside the data directory.
   */
  | 'config';

export interface CapturedFile {
  /** Where it goes in a data directory, relative and with `/`: `metadata.db`, `logs/orders-0/00000000000000000000.log`. */
  readonly path: string;
  readonly kind: CapturedFileKind;
  /** Bytes to take from the start of `source` (the file may have grown since the capture). */
  readonly length: number;
  /** Absolute path to read from: a hard link or copy in the capture's staging directory. */
  readonly source: string;
}

export interface CapturedPartition {
  readonly topic: string;
  readonly partition: number;
  readonly topicId: string;
  /** The first offset held (decimal string: offsets are int64). */
  readonly logStartOffset: string;
  /** The offset after the last record captured (decimal string). */
  readonly endOffset: string;
}

export interface Capture {
  /** Unique, sortable: `20261207T171500Z-3f9a`. */
  readonly id: string;
  readonly takenAtMs: number;
  /** Parapet's version and the data directory's log format version. */
  readonly productVersion: string;
  readonly files: readonly CapturedFile[];
  readonly partitions: readonly CapturedPartition[];
}

/**
 * Where backups are kept: a directory or an S3-compatible bucket. Keys are relative, `/`-separated;
 * `put` is atomic (a reader sees the whole object or nothing) and durable when it resolves.
 */
export interface BackupTarget {
  /** For messages: `directory /mnt/backups/parapet`, `s3://bucket/prefix`. Never holds a secret. */
  readonly description: string;
  put(key: string, data: Buffer): Promise<void>;
  /** The object, or null when there is none. */
  get(key: string): Promise<Buffer | null>;
  has(key: string): Promise<boolean>;
  /** Every key that starts with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
  remove(key: string): Promise<void>;
}
