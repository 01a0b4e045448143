import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { BackupError, BackupErrorKinds } from '../backup-error.js';
import type { S3Target } from './s3-target.js';

/**
 * One writer at a time on a bucket target (`backup create`, `backup prune`): the object `locks/writer.json`,
 * created with a conditional PutObject (If-None-Match: *), so of two writers starting together exactly
 * one creates it. It is a lease, not a held file: it says who took it and until when; the holder
 * renews it every third of the lease and removes it when done. A writer killed mid-way leaves it
 * behind, and the next one takes it over once it has expired.
 *
 * What it guarantees: no two writers that each renew in time hold it at once, on a server that
 * implements conditional writes (AWS S3 since 2024, MinIO, Ceph RGW). What it does not: a writer
 * stalled for longer than the lease (a suspended machine) can find another writer took over; and a
 * server that ignores If-None-Match gives only a best effort (a read-back after the write, which
 * narrows but does not close the race).
 */

export const LOCK_KEY = 'locks/writer.json';
export const DEFAULT_LEASE_MS = 10 * 60_000;

const LockSchema = z.object({ owner: z.string(), token: z.string(), expiresAt: z.string() });
type LockBody = z.infer<typeof LockSchema>;

export interface S3LockOptions {
  readonly leaseMs?: number;
  readonly now?: () => number;
  /** For the lock's text: what holds it. */
  readonly purpose: string;
}

export interface HeldLock {
  release(): Promise<void>;
}

export async function acquireS3Lock(target: S3Target, options: S3LockOptions): Promise<HeldLock> {
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const now = options.now ?? Date.now;
  const token = randomBytes(16).toString('hex');
  const body = (): Buffer => {
    const lock: LockBody = { owner: `${options.purpose} on ${hostname()} pid ${process.pid}`, token, expiresAt: new Date(now() + leaseMs).toISOString() };
    return Buffer.from(`${JSON.stringify(lock)}\n`);
  };
  for (let attempt = 0; ; attempt++) {
    if (await target.putIfAbsent(LOCK_KEY, body())) break;
    const held = parseLock(await target.get(LOCK_KEY));
    const expired = held === null || Date.parse(held.expiresAt) <= now();
    if (!expired || attempt > 0) {
      throw new BackupError(
        BackupErrorKinds.TARGET_LOCKED,
        LOCK_KEY,
        `${target.description} is locked by ${held?.owner ?? 'another writer'} until ${held?.expiresAt ?? '?'}: one backup or prune at a time. ` +
          `If that writer is gone, wait for the lease to end or remove ${LOCK_KEY} from the bucket.`,
      );
    }
    // Expired (its holder died): remove it and race for it once more through the conditional put.
    await target.remove(LOCK_KEY);
  }
  const stillOurs = async (): Promise<boolean> => parseLock(await target.get(LOCK_KEY))?.token === token;
  if (!(await stillOurs())) throw new BackupError(BackupErrorKinds.TARGET_LOCKED, LOCK_KEY, `${target.description}: another writer took the lock at the same time`);
  let renewing = Promise.resolve();
  const timer = setInterval(() => {
    renewing = renewing.then(async () => {
      // Renew only a lease still ours; losing it is reported at release.
      if (await stillOurs()) await target.put(LOCK_KEY, body());
    }).catch(() => undefined);
  }, Math.max(1000, Math.floor(leaseMs / 3)));
  timer.unref();
  return {
    async release(): Promise<void> {
      clearInterval(timer);
      await renewing;
      if (await stillOurs()) await target.remove(LOCK_KEY);
    },
  };
}

function parseLock(bytes: Buffer | null): LockBody | null {
  if (bytes === null) return null;
  try {
    const parsed = LockSchema.safeParse(JSON.parse(bytes.toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
