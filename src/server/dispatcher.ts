import { decodeRequest, encodeApiVersionsFallback, encodeResponse } from '../protocol/frames.js';
import type { ApiSchema, RequestOf, ResponseOf } from '../protocol/messages/schema.js';
import type { RequestHeader } from '../protocol/headers.js';
import { ParapetError } from '../errors.js';
import type { ReadLimits } from '../protocol/reader.js';
import type { FrameHandler } from './connection.js';

/** What a handler knows about the request beyond its body. */
export interface RequestContext {
  readonly header: RequestHeader;
  /** The listener the request came in on: Metadata advertises it (librdkafka#442, kcat#16). */
  readonly listener: { readonly host: string; readonly port: number };
  readonly connectionId: number;
  /** The client's address, as DescribeGroups reports it (`/127.0.0.1`). */
  readonly clientHost: string;
  /**
   * Lets the connection start the next request before this one is answered; call it once the
   * request's ordered effects are done and it only waits (an acks=all produce waiting for fsync).
   */
  readonly release: () => void;
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

/**
 * Routes decoded requests to handlers by API key. Only APIs with a handler are served (and
 * advertised by ApiVersions); a request for any other closes the connection, as Kafka does.
 */
export function createDispatcher(
  handlers: ReadonlyMap<number, HandlerEntry>,
  connection: { id: number; listener: RequestContext['listener']; clientHost?: string; limits?: ReadLimits },
): FrameHandler {
  return async (frame, release, recycleFrame) => {
    const decoded = decodeRequest(frame, connection.limits);
    if (decoded.kind === 'api-versions-fallback') return encodeApiVersionsFallback(decoded.header.correlationId);
    const { header, api, body } = decoded;
    const entry = handlers.get(api.apiKey);
    if (entry === undefined) {
      throw new ParapetError('UNSUPPORTED_API', `${api.name} is not served by this broker`, { api: api.name, version: header.apiVersion });
    }
    const response = await entry.handle(body, { header, listener: connection.listener, connectionId: connection.id, clientHost: connection.clientHost ?? '', release });
    const encoded = response === null ? null : encodeResponse(api, header.apiVersion, header.correlationId, response);
    if (entry.releasesFrame === true) recycleFrame();
    return encoded;
  };
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
