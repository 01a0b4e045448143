import type { TopicRecord } from '../../storage/topic-store.js';
import type { PartitionLog } from '../../storage/log/partition-log.js';

/**
 * What a capture reads, open in this process: the metadata store and the partition logs (the broker's
 * own, or those the offline capture opened under the data directory's lock).
 */
export interface CaptureSources {
  readonly dataDir: string;
  readonly store: {
    topics(): TopicRecord[];
    /** A consistent copy of the store in `file` (SQLite's online backup API). */
    backupTo(file: string): Promise<void>;
  };
  readonly logs: {
    /** The partition's log, opened on first use (recovering its active segment); throws when it cannot be opened. */
    get(topic: string, partition: number): PartitionLog | undefined;
    /** Resolves once everything appended so far is durable (the group commit). */
    sync(): Promise<void>;
  };
}
