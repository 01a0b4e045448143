import { ParapetError, isFault } from '../errors.js';
import { decodeBody, encodeBody, isFlexible } from './codec.js';
import { readRequestHeaderPrefix, readResponseHeader, skipHeaderTags, writeRequestHeader, writeResponseHeader, type RequestHeader } from './headers.js';
import { ApiVersions } from './messages/api-versions.js';
import { apiByKey } from './messages/index.js';
import type { ApiSchema } from './messages/schema.js';
import { ErrorCode } from './error-codes.js';
import { DEFAULT_READ_LIMITS, Reader, type ReadLimits } from '../bytes/reader.js';
import { Writer } from '../bytes/writer.js';

/**
 * Whole frames: `int32 size` + header + body. Frames handed to the decoders here have had their size
 * prefix removed by the connection (which enforces the maximum frame size before buffering).
 */


export type DecodedRequest =
  | { kind: 'request'; header: RequestHeader; api: ApiSchema; body: Record<string, unknown> }
  /** ApiVersions asked for at a version above ours: answer with {@link encodeApiVersionsFallback}. */
  | { kind: 'api-versions-fallback'; header: RequestHeader };

/** Response header version: v1 for flexible versions, except ApiVersions, which always uses v0. */
export function responseHeaderVersion(api: ApiSchema, version: number): 0 | 1 {
  return api.apiKey !== ApiVersions.apiKey && isFlexible(api, version) ? 1 : 0;
}

/**
 * Decodes one request frame (without its size prefix). Throws a ParapetError (DECODE_ERROR or
 * UNSUPPORTED_API) for anything that must close the connection, with the API, version, field and
 * byte offset where the frame went wrong.
 */
export function decodeRequest(frame: Buffer, limits: ReadLimits = DEFAULT_READ_LIMITS): DecodedRequest {
  const maxElements = limits.maxRequestElements ?? DEFAULT_READ_LIMITS.maxRequestElements ?? Infinity;
  const r = new Reader(frame, 0, frame.length, limits, { left: maxElements, max: maxElements });
  let header: RequestHeader;
  try {
    header = readRequestHeaderPrefix(r);
  } catch (err) {
    if (isFault(err)) err.context.field = `header${err.context.field === undefined ? '' : `.${err.context.field}`}`;
    throw err;
  }
  const api = apiByKey(header.apiKey);
  if (api === undefined) {
    throw new ParapetError('UNSUPPORTED_API', `unknown API key ${header.apiKey}`, { version: header.apiVersion, offset: 0 });
  }
  if (api.apiKey === ApiVersions.apiKey && header.apiVersion > api.maxVersion) {
    // KIP-511: parse only the header and answer in the v0 layout so that the client can retry lower.
    return { kind: 'api-versions-fallback', header };
  }
  if (header.apiVersion < api.minVersion || header.apiVersion > api.maxVersion) {
    throw new ParapetError('UNSUPPORTED_API', `${api.name} v${header.apiVersion} is not supported`, {
      api: api.name,
      version: header.apiVersion,
      offset: 0,
    });
  }
  const flexible = isFlexible(api, header.apiVersion);
  if (flexible) skipHeaderTags(r);
  const body = decodeBody(api, api.request, header.apiVersion, r, { tolerateTrailingZeros: flexible });
  return { kind: 'request', header, api, body };
}

function framed(w: Writer): Buffer[] {
  const chunks = w.finish();
  const size = Buffer.allocUnsafe(4);
  size.writeInt32BE(w.length);
  return [size, ...chunks];
}

/** Encodes a response frame, size prefix included, as chunks for `writev`. */
export function encodeResponse(api: ApiSchema, version: number, correlationId: number, body: object): Buffer[] {
  const w = new Writer();
  writeResponseHeader(w, correlationId, responseHeaderVersion(api, version));
  encodeBody(api, api.response, version, w, body);
  return framed(w);
}

/** The KIP-511 answer to an ApiVersions request above our maximum: v0 layout, error 35, our range. */
export function encodeApiVersionsFallback(correlationId: number): Buffer[] {
  return encodeResponse(ApiVersions, 0, correlationId, {
    errorCode: ErrorCode.UNSUPPORTED_VERSION,
    apiKeys: [{ apiKey: ApiVersions.apiKey, minVersion: ApiVersions.minVersion, maxVersion: ApiVersions.maxVersion }],
  });
}

/** Encodes a request frame, size prefix included (the client side: tests, gateway, admin CLI). */
export function encodeRequest(api: ApiSchema, header: Omit<RequestHeader, 'apiKey'>, body: object): Buffer[] {
  const w = new Writer();
  const flexible = isFlexible(api, header.apiVersion);
  writeRequestHeader(w, { ...header, apiKey: api.apiKey }, flexible);
  encodeBody(api, api.request, header.apiVersion, w, body);
  return framed(w);
}

/** Decodes a response frame (without its size prefix) for a request we sent at `version`. */
export function decodeResponse(
  api: ApiSchema,
  version: number,
  frame: Buffer,
  limits: ReadLimits = DEFAULT_READ_LIMITS,
): { correlationId: number; body: Record<string, unknown> } {
  const r = new Reader(frame, 0, frame.length, limits);
  const correlationId = readResponseHeader(r, responseHeaderVersion(api, version));
  return { correlationId, body: decodeBody(api, api.response, version, r) };
}
