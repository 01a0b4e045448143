import type { Capture } from '../../backup/contracts.js';
import { captureOffline, CaptureErrorCodes, isCaptureError, parseHeldCapture } from '../../backup/capture/index.js';
import { ClientError } from '../../client/errors.js';
import type { Logger } from '../../logger.js';
import { callEndpoint, type EndpointCredentials, type EndpointTarget } from '../admin/admin-endpoint-client.js';

export interface AcquireCaptureOptions {
  readonly dataDir: string;
  /**
   * The running broker's admin endpoint and the credentials to call it with (as `parapet sessions`
   * gets them: session-commands.ts `target` and `credentials`). Called only when a broker holds the
   * data directory, so an offline backup needs neither a client config nor a password.
   */
  readonly endpoint: () => { target: EndpointTarget; credentials: EndpointCredentials };
  readonly logger: Logger;
}

export interface AcquiredCapture {
  readonly capture: Capture;
  /** `broker`: taken by the running broker through its admin endpoint; `offline`: by this process, under the data directory's lock. */
  readonly via: 'broker' | 'offline';
  readonly leaseExpiresAtMs: number;
  /** Extends the lease by one lease from now (call it well within the lease while a long backup runs); the new end. */
  renew(): Promise<number>;
  /**
   * Lets the capture go (its staging directory is removed); call it once the backup is written, or
   * failed. `completed` says the backup is complete: the data directory records it (the posture scan's backup age).
   */
  release(completed?: { target: string }): Promise<void>;
}

/**
 * The capture `parapet backup create` writes from: taken offline when no process holds the data
 * directory, else by the broker that holds it (the only process that may read its logs consistently),
 * through POST /v1/backup/capture.
 */
export async function acquireCapture(options: AcquireCaptureOptions): Promise<AcquiredCapture> {
  try {
    const offline = await captureOffline(options.dataDir, { logger: options.logger });
    return {
      capture: offline.capture,
      via: 'offline',
      leaseExpiresAtMs: offline.leaseExpiresAtMs,
      renew: () => Promise.resolve(offline.renew()),
      release: (completed) => {
        offline.release(completed);
        return Promise.resolve();
      },
    };
  } catch (err) {
    if (!isCaptureError(err, CaptureErrorCodes.IN_USE)) throw err;
  }
  const { target, credentials } = options.endpoint();
  const answer = await callEndpoint(target, credentials, 'POST', '/v1/backup/capture', {});
  const held = parseHeldCapture(answer);
  if (typeof held === 'string') throw new ClientError(`the broker's capture answer is not understood (${held}): is the broker the same Parapet version as this command?`);
  const id = held.capture.id;
  return {
    capture: held.capture,
    via: 'broker',
    leaseExpiresAtMs: held.leaseExpiresAtMs,
    renew: async () => {
      const renewed = (await callEndpoint(target, credentials, 'POST', '/v1/backup/renew', { id })) as { leaseExpiresAtMs?: unknown };
      if (typeof renewed.leaseExpiresAtMs !== 'number') throw new ClientError(`the broker's answer to renewing capture ${id} has no leaseExpiresAtMs`);
      return renewed.leaseExpiresAtMs;
    },
    release: async (completed) => {
      await callEndpoint(target, credentials, 'POST', '/v1/backup/release', { id, ...(completed === undefined ? {} : { completed }) });
    },
  };
}
