/**
 * The contract between the request pipeline (./dispatcher.ts) and the API handlers: what a handler is
 * given besides the request body, and what it returns. Handlers see only requests that every stage of
 * the pipeline has let through, and only what of them the principal may act on.
 */
import type { RequestHeader } from '../protocol/headers.js';
import type { ApiSchema, RequestOf, ResponseOf } from '../protocol/messages/schema.js';
import type { Principal } from '../security/types.js';
import type { CloseReason } from '../close-reasons.js';
import type { Session } from './session.js';

/** What a handler knows about the request beyond its body. */
export interface RequestContext {
  readonly header: RequestHeader;
  /** The listener the request came in on: Metadata advertises it (librdkafka#442, kcat#16). */
  readonly listener: { readonly host: string; readonly port: number };
  readonly connectionId: number;
  /** The client's address, as DescribeGroups reports it (`/127.0.0.1`). */
  readonly clientHost: string;
  /** Who sent the request; null only for the APIs allowed before authentication. */
  readonly principal: Principal | null;
  /** The connection's authentication state (the SASL handlers drive it). */
  readonly session: Session;
  /**
   * Lets the connection start the next request before this one is answered; call it once the
   * request's ordered effects are done and it only waits (an acks=all produce waiting for fsync).
   */
  readonly release: () => void;
  /** Closes the connection once this request's response is written. */
  readonly closeAfterResponse: (reason: CloseReason, detail?: string) => void;
  /** Aborted when the connection closes: a waiting request stops waiting (its answer has nowhere to go). */
  readonly connectionClosed: AbortSignal;
  /** Mutes the connection for this long from now; the response is still written (a quota's throttle, KIP-219). */
  readonly throttle: (ms: number) => void;
}

/**
 * A handler receives the decoded body and returns the response body, or null when the API sends no
 * response (Produce with acks=0). Wire errors go in the response; a throw closes the connection.
 */
export type Handler = (body: Record<string, unknown>, ctx: RequestContext) => Promise<object | null> | object | null;

export interface HandlerEntry {
  readonly api: ApiSchema;
  readonly handle: Handler;
  /**
   * The handler keeps no view of the request (records, bytes fields) once it has answered, so the
   * frame's buffer can be reused. Only set it for handlers that copy or finish with what they keep.
   */
  readonly releasesFrame?: boolean;
}

/** Declares a handler with the request and response types derived from the API's schema. */
export function handler<A extends ApiSchema>(
  api: A,
  handle: (body: RequestOf<A>, ctx: RequestContext) => Promise<ResponseOf<A> | null> | ResponseOf<A> | null,
  options: { releasesFrame?: boolean } = {},
): HandlerEntry {
  // The codec decoded `body` from this API's request schema, which is what RequestOf<A> describes.
  return { api, handle: (body, ctx) => handle(body as RequestOf<A>, ctx), releasesFrame: options.releasesFrame === true };
}
