import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../logger.js';
import type { Capture } from '../contracts.js';
import { CaptureError, CaptureErrorCodes } from './capture-error.js';
import { newCaptureId } from './capture-id.js';
import type { CaptureSources } from './capture-sources.js';
import { STAGING_DIR, stagingDirOf, takeCapture } from './take-capture.js';

/** A capture's lease, by default: long enough for a large backup, short enough that a crashed writer's links go. */
export const DEFAULT_CAPTURE_LEASE_MS = 60 * 60 * 1000;
/**
 * Captures held at once. Each keeps every segment it links on disk until released, retention or not:
 * two (a backup running and the next one starting) bound what captures can pin.
 */
export const MAX_HELD_CAPTURES = 2;

export interface CaptureRegistryOptions {
  readonly sources: CaptureSources;
  readonly logger: Logger;
  readonly clock?: () => number;
  readonly leaseMs?: number;
  readonly maxHeld?: number;
  /** Told when a capture's staging directory was removed: released by its holder, its lease expired, or the broker closed. */
  readonly onReleased?: (id: string, reason: CaptureReleaseReason) => void;
  /** Random bytes of the ids (tests make them collide). */
  readonly random?: () => Buffer;
}

export type CaptureReleaseReason = 'released' | 'expired' | 'closed';

export interface HeldCapture {
  readonly capture: Capture;
  /** When the lease ends unless renewed (ms since the epoch). */
  readonly leaseExpiresAtMs: number;
}

/**
 * The captures a process holds, each under a lease: a staging directory of hard links and copies
 * (take-capture.ts) that stays until its holder releases it or the lease expires. Bounded to
 * {@link MAX_HELD_CAPTURES}: a capture pins disk space (segments retention deleted stay while linked).
 */
export class CaptureRegistry {
  readonly #o: CaptureRegistryOptions;
  readonly #clock: () => number;
  readonly #leaseMs: number;
  readonly #maxHeld: number;
  /** Held captures by id, with their lease end; a capture being taken holds its slot too (`null`). */
  readonly #held = new Map<string, { capture: Capture; expiresAtMs: number } | null>();
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: CaptureRegistryOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
    this.#leaseMs = options.leaseMs ?? DEFAULT_CAPTURE_LEASE_MS;
    this.#maxHeld = options.maxHeld ?? MAX_HELD_CAPTURES;
    if (!Number.isSafeInteger(this.#leaseMs) || this.#leaseMs < 1) throw new RangeError(`the capture lease must be a positive number of milliseconds, not ${this.#leaseMs}`);
  }

  /**
   * Removes what a capture cut short left (the process holding it died): called at start, under the
   * data directory's lock, before anything is captured. True when something was there (and logged).
   */
  static clearLeftovers(dataDir: string, logger: Logger): boolean {
    const dir = join(dataDir, STAGING_DIR);
    if (!existsSync(dir)) return false;
    rmSync(dir, { recursive: true, force: true });
    logger.warn({ dir }, 'removed the staging directory of a backup capture that was cut short (the process holding it stopped): that backup is incomplete and is never listed as usable');
    return true;
  }

  /** Takes a capture and holds it for one lease; a CaptureError when {@link MAX_HELD_CAPTURES} are held or it fails. */
  async take(): Promise<HeldCapture> {
    this.sweep();
    if (this.#held.size >= this.#maxHeld) {
      const ids = [...this.#held.keys()].join(', ');
      throw new CaptureError(
        CaptureErrorCodes.TOO_MANY,
        `${this.#held.size} backup captures are held already (${ids}), the most at once: release one (a finished backup releases its own) or wait for its lease to expire`,
      );
    }
    const now = this.#clock();
    let id = newCaptureId(now, this.#o.random);
    for (let tries = 0; this.#held.has(id) || existsSync(stagingDirOf(this.#o.sources.dataDir, id)); tries++) {
      if (tries >= 16) throw new CaptureError(CaptureErrorCodes.FAILED, 'no free capture id could be drawn');
      id = newCaptureId(now, this.#o.random);
    }
    this.#held.set(id, null);
    let capture: Capture;
    try {
      capture = await takeCapture(this.#o.sources, id, now);
    } catch (err) {
      this.#held.delete(id);
      throw err;
    }
    const expiresAtMs = this.#clock() + this.#leaseMs;
    this.#held.set(id, { capture, expiresAtMs });
    this.#startSweeper();
    return { capture, leaseExpiresAtMs: expiresAtMs };
  }

  /** Extends a held capture's lease by one lease from now; returns the new end. */
  renew(id: string): number {
    this.sweep();
    const held = this.#held.get(id);
    if (held === undefined || held === null) throw unknown(id);
    held.expiresAtMs = this.#clock() + this.#leaseMs;
    return held.expiresAtMs;
  }

  /** Removes a held capture's staging directory; returns the capture it held. */
  release(id: string): Capture {
    const held = this.#held.get(id);
    if (held === undefined || held === null) throw unknown(id);
    this.#drop(id, 'released');
    return held.capture;
  }

  /** Releases the captures whose lease has ended; returns their ids. Also run every minute while any is held. */
  sweep(): string[] {
    const now = this.#clock();
    const expired = [...this.#held].filter(([, held]) => held !== null && held.expiresAtMs <= now).map(([id]) => id);
    for (const id of expired) {
      this.#o.logger.warn({ capture: id }, 'a backup capture’s lease expired: its staging directory was removed (a backup still reading it fails)');
      this.#drop(id, 'expired');
    }
    return expired;
  }

  /** Releases every held capture (the broker closes: nothing may be left to renew). */
  releaseAll(): void {
    for (const [id, held] of [...this.#held]) if (held !== null) this.#drop(id, 'closed');
    this.#stopSweeper();
  }

  /** The captures held now and their lease ends. */
  held(): { id: string; leaseExpiresAtMs: number }[] {
    return [...this.#held].flatMap(([id, held]) => (held === null ? [] : [{ id, leaseExpiresAtMs: held.expiresAtMs }]));
  }

  #drop(id: string, reason: CaptureReleaseReason): void {
    this.#held.delete(id);
    rmSync(stagingDirOf(this.#o.sources.dataDir, id), { recursive: true, force: true });
    if (this.#held.size === 0) {
      this.#stopSweeper();
      rmSync(join(this.#o.sources.dataDir, STAGING_DIR), { recursive: true, force: true });
    }
    this.#o.onReleased?.(id, reason);
  }

  #startSweeper(): void {
    if (this.#sweeper !== undefined) return;
    this.#sweeper = setInterval(() => this.sweep(), Math.min(this.#leaseMs, 60_000));
    this.#sweeper.unref();
  }

  #stopSweeper(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }
}

function unknown(id: string): CaptureError {
  return new CaptureError(CaptureErrorCodes.UNKNOWN, `no backup capture ${id} is held (released, or its lease expired)`);
}
