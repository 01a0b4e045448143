import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../logger.js';
import { DataDirLock, DataDirLockedError } from '../../storage/data-dir-lock.js';
import { LogManager } from '../../storage/log/log-manager.js';
import type { LogConfig } from '../../storage/log/log-config.js';
import { MetadataStore } from '../../storage/metadata-store.js';
import { CaptureError, CaptureErrorCodes, isCaptureError } from './capture-error.js';
import { CaptureRegistry, type HeldCapture } from './capture-registry.js';

export interface OfflineCapture extends HeldCapture {
  /** Extends the lease (the lock stays held until release either way). */
  renew(): number;
  /** Removes the staging directory and releases the data directory's lock; `completed` records the backup (as the broker does). */
  release(completed?: { target: string }): void;
}

export interface OfflineCaptureOptions {
  readonly logger: Logger;
  readonly clock?: () => number;
  readonly leaseMs?: number;
}

/**
 * Nothing is appended or retained while the offline capture has the logs open: these values are never
 * used, only required by the log manager's interface.
 */
const NO_APPENDS: LogConfig = { segmentBytes: 1024 * 1024 * 1024, segmentMs: 7 * 24 * 3600 * 1000, retentionMs: -1, retentionBytes: -1, maxMessageBytes: 1024 * 1024, logAppendTime: false };

/**
 * A capture of a data directory no broker runs on: takes the directory's lock (a running broker's is
 * refused: the capture must then go through it), opens the metadata store and the partition logs as a
 * broker starting would (recovery truncates a torn tail, which is therefore never captured), captures,
 * and closes them again. The lock is held until {@link OfflineCapture.release}: a broker starting
 * meanwhile would remove the staging directory the backup is reading.
 */
export async function captureOffline(dataDir: string, options: OfflineCaptureOptions): Promise<OfflineCapture> {
  if (!existsSync(join(dataDir, 'metadata.db'))) {
    throw new CaptureError(CaptureErrorCodes.NOT_A_DATA_DIR, `${dataDir} is not a Parapet data directory (it has no metadata.db): check --data-dir`);
  }
  let lock: DataDirLock;
  try {
    lock = DataDirLock.acquire(dataDir, 'parapet backup create');
  } catch (err) {
    if (!(err instanceof DataDirLockedError)) throw err;
    const who = err.owner === undefined ? 'another process' : `${err.owner.command} (pid ${err.owner.pid} on ${err.owner.host})`;
    throw new CaptureError(CaptureErrorCodes.IN_USE, `the data directory ${dataDir} is in use by ${who}: take the backup through the running broker's admin endpoint, not offline`, { cause: err });
  }
  try {
    CaptureRegistry.clearLeftovers(dataDir, options.logger);
    const store = new MetadataStore(dataDir);
    const logs = new LogManager({ dataDir, logger: options.logger, configs: { configFor: () => NO_APPENDS }, ...(options.clock === undefined ? {} : { clock: options.clock }) });
    let held: HeldCapture;
    let registry: CaptureRegistry;
    try {
      for (const topic of store.topics()) logs.addTopic({ name: topic.name, id: topic.id, partitions: topic.partitions });
      registry = new CaptureRegistry({
        sources: { dataDir, store, logs },
        logger: options.logger,
        ...(options.clock === undefined ? {} : { clock: options.clock }),
        ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
        maxHeld: 1,
      });
      held = await registry.take();
    } finally {
      await logs.close();
      store.close();
    }
    const id = held.capture.id;
    let released = false;
    return {
      ...held,
      renew: () => registry.renew(id),
      release: (completed?: { target: string }) => {
        if (released) return;
        released = true;
        try {
          const capture = registry.release(id);
          if (completed !== undefined) {
            // Still under the lock: no broker has the store open.
            const history = new MetadataStore(dataDir);
            try {
              history.recordBackup({ captureId: id, takenAtMs: capture.takenAtMs, completedAtMs: (options.clock ?? Date.now)(), target: completed.target });
            } finally {
              history.close();
            }
          }
        } catch (err) {
          // Its lease expired first: the staging directory is gone already.
          if (!isCaptureError(err, CaptureErrorCodes.UNKNOWN)) throw err;
        } finally {
          lock.release();
        }
      },
    };
  } catch (err) {
    lock.release();
    throw err;
  }
}
