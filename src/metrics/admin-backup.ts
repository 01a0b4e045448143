import type { IncomingMessage, ServerResponse } from 'node:http';
import { AclOperation } from '../protocol/acl.js';
import type { Principal } from '../security/types.js';
import { CaptureErrorCodes, isCaptureError, isCaptureId, type HeldCapture } from '../backup/capture/index.js';
import { readJsonObject, refuseMethod, sendJson, type AdminCaller, type AdminRouteGuard } from './admin-route-guard.js';

/**
 * The admin endpoint's backup routes, which `parapet backup create` uses while a broker runs (the
 * capture must be taken by the process that appends, docs/operations/backup-and-recovery.md):
 *
 *   POST /v1/backup/capture   → {"capture":{…},"leaseExpiresAtMs":…}: take and hold a capture
 *   POST /v1/backup/renew     {"id":"…"} → {"id","leaseExpiresAtMs"}: extend its lease
 *   POST /v1/backup/release   {"id":"…"[,"completed":{"target":"…"}]} → {"id","released":true}: remove its
 *                             staging directory; `completed` records that the backup written from it is complete
 *
 * All need ALTER on the CLUSTER (or a super user, or the endpoint's bearer token): a capture lets its
 * holder read every partition's files, which no topic ACL would allow one by one.
 */
export interface BackupRoutesOptions {
  take(by: { principal: Principal; remote: string }): Promise<HeldCapture>;
  /** The lease's new end; throws a CaptureError for an id not held. */
  renew(id: string): number;
  /** `completed`: the backup written from it is complete (recorded for the posture scan's backup age). */
  release(id: string, by: { principal: Principal; remote: string }, completed?: { target: string }): void;
}

/** `{"id":"20261207T171500Z-3f9a"}`. */
const MAX_BODY_BYTES = 1024;

const ROUTES = { '/v1/backup/capture': 'capture', '/v1/backup/renew': 'renew', '/v1/backup/release': 'release' } as const;

export class BackupRoutes {
  readonly #o: BackupRoutesOptions;
  readonly #guard: AdminRouteGuard;

  constructor(options: BackupRoutesOptions, guard: AdminRouteGuard) {
    this.#o = options;
    this.#guard = guard;
  }

  static handles(path: string): boolean {
    return path === '/v1/backup' || path.startsWith('/v1/backup/');
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const route = (ROUTES as Record<string, (typeof ROUTES)[keyof typeof ROUTES] | undefined>)[path];
    if (route === undefined) {
      sendJson(res, 404, { error: 'not found: POST /v1/backup/capture, /v1/backup/renew or /v1/backup/release' });
      return;
    }
    if (req.method !== 'POST') {
      refuseMethod(res, 'POST', path);
      return;
    }
    const caller = await this.#guard.admit(req, res, path, AclOperation.ALTER);
    if (caller === undefined) return;
    const by = { principal: caller.principal, remote: caller.remote };
    try {
      if (route === 'capture') {
        const held = await this.#o.take(by);
        this.#guard.audit(caller, path, 200, `capture ${held.capture.id} taken: ${held.capture.partitions.length} partition(s), ${held.capture.files.length} file(s)`);
        sendJson(res, 200, held);
        return;
      }
      const body = await this.#bodyOf(req, caller, path, res);
      if (body === undefined) return;
      const { id, completed } = body;
      if (route === 'renew') {
        const leaseExpiresAtMs = this.#o.renew(id);
        this.#guard.audit(caller, path, 200, `capture ${id} renewed until ${new Date(leaseExpiresAtMs).toISOString()}`);
        sendJson(res, 200, { id, leaseExpiresAtMs });
        return;
      }
      this.#o.release(id, by, completed);
      this.#guard.audit(caller, path, 200, `capture ${id} released${completed === undefined ? '' : `, its backup complete in ${completed.target}`}`);
      sendJson(res, 200, { id, released: true });
    } catch (err) {
      if (!isCaptureError(err)) throw err;
      // 409: two captures are held; 404: no such capture; 500: the capture itself failed (the message names what).
      const status = err.code === CaptureErrorCodes.TOO_MANY ? 409 : err.code === CaptureErrorCodes.UNKNOWN ? 404 : 500;
      this.#guard.audit(caller, path, status, err.message);
      sendJson(res, status, { error: err.message });
    }
  }

  async #bodyOf(req: IncomingMessage, caller: AdminCaller, path: string, res: ServerResponse): Promise<{ id: string; completed?: { target: string } } | undefined> {
    const body = await readJsonObject(req, MAX_BODY_BYTES);
    const completed = typeof body === 'string' ? undefined : completedOf(body.completed);
    if (typeof body !== 'string' && isCaptureId(body.id) && completed !== null) return { id: body.id, ...(completed === undefined ? {} : { completed }) };
    const message = typeof body === 'string' ? body : completed === null ? '"completed" must be {"target":"…"} (at most 500 characters)' : '"id" must be a capture id such as 20261207T171500Z-3f9a';
    this.#guard.audit(caller, path, 400, message);
    sendJson(res, 400, { error: message });
    return undefined;
  }
}

/** `{"target":"…"}`, undefined when absent, null when malformed. */
function completedOf(value: unknown): { target: string } | undefined | null {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) return null;
  const target = (value as { target?: unknown }).target;
  return typeof target === 'string' && target.length > 0 && target.length <= 500 ? { target } : null;
}
