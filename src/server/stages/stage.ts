/**
 * The contract of a stage of the request pipeline (../dispatcher.ts): a control that sees every request
 * of every connection, such as the authentication gate, the name rules or authorization, and later
 * quotas, audit, metrics or a transform of the records. A stage is added in a file of its own and one
 * line in `requestStages`; nothing else in the pipeline changes.
 *
 * Stages nest: each one's `before` runs in list order on the way to the handler, and on the way back
 * each one's `finish` and `after` run in reverse order on the response, so the first stage sees the
 * request first and the final response last.
 */
import type { RequestHeader } from '../../protocol/headers.js';
import type { ApiSchema } from '../../protocol/messages/schema.js';
import type { RequestContext } from '../handler.js';

/** One decoded request on its way through the stages. */
export interface StageRequest {
  readonly api: ApiSchema;
  readonly header: RequestHeader;
  /**
   * The body as the stages before this one left it; in `after`, as the handler got it. Stages never
   * mutate it (nor its arrays): a stage that changes the request forwards a new body.
   */
  readonly body: Record<string, unknown>;
  /** What the handler gets besides the body: the principal, the session, the connection's controls. */
  readonly context: RequestContext;
}

/** What a stage's `before` decides. */
export type StageStep =
  /** Pass the request on as it is. */
  | undefined
  /**
   * Pass `body` on instead (what was refused taken out); `finish`, when given, completes this request's
   * response on the way back (puts the refused items back in, with their error codes).
   */
  | { readonly kind: 'forward'; readonly body: Record<string, unknown>; readonly finish?: (response: object) => object }
  /**
   * Answer here: neither the handler nor the later stages see the request; the earlier stages' `finish`
   * and `after` still run. A null response answers nothing (the stage has closed the connection).
   */
  | { readonly kind: 'respond'; readonly response: object | null };

export interface Stage {
  /** Names the stage in errors and diagnostics. */
  readonly name: string;
  /**
   * Runs before the handler. Synchronous stages keep the request synchronous up to its handler (a
   * produce appends in the same turn as it is read); return a promise only to wait (a quota's delay).
   * A throw closes the connection, as a handler's does.
   */
  before?(request: StageRequest): StageStep | Promise<StageStep>;
  /**
   * Runs on the way back with the response (null when the API sends none, as acks=0 Produce) and
   * returns the response to pass outwards. Like a handler marked `releasesFrame`, a stage keeps no view
   * of the request's buffers once it has returned.
   */
  after?(request: StageRequest, response: object | null): object | null | Promise<object | null>;
  /**
   * Runs instead of `after` when the request ends in a throw (a handler's, or a stage's inside this
   * one): the connection closes without answering it. For what only observes (metrics); it must not throw.
   */
  failed?(request: StageRequest, error: unknown): void;
}

/** The connection a stage instance serves: stages keep per-connection state (the denial report's rate). */
export interface StageConnection {
  readonly id: number;
  /** `ip:port` of the peer, for security events. */
  readonly remote: string;
  /** The peer's IP address: ACL host patterns match it. */
  readonly clientIp: string;
}

/** Builds a stage for one connection; a stage without per-connection state returns the same object each time. */
export type StageFactory = (connection: StageConnection) => Stage;
