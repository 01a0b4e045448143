import type { Reader } from '../bytes/reader.js';
import type { Writer } from '../bytes/writer.js';

/**
 * Request header v1 (non-flexible APIs) and v2 (flexible): v2 only adds tagged fields; `clientId`
 * stays a classic int16-length string in both (Kafka's RequestHeader.json makes that exception).
 */
export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/** Reads the fixed part of a request header (everything but v2's tagged fields). */
export function readRequestHeaderPrefix(r: Reader): RequestHeader {
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const clientId = r.string();
  return { apiKey, apiVersion, correlationId, clientId };
}

/** Skips a header's tagged fields: no header tag is defined for requests we serve. */
export function skipHeaderTags(r: Reader): void {
  const count = r.checkLength(r.uvarint(), r.limits.maxArrayLength, 'header tagged fields', 2);
  for (let i = 0; i < count; i++) {
    r.uvarint();
    r.skip(r.uvarint());
  }
}

export function writeRequestHeader(w: Writer, h: RequestHeader, flexible: boolean): void {
  w.int16(h.apiKey).int16(h.apiVersion).int32(h.correlationId).string(h.clientId);
  if (flexible) w.uvarint(0);
}

/** Response header v0 is the correlation id; v1 (flexible responses) adds tagged fields. */
export function writeResponseHeader(w: Writer, correlationId: number, version: 0 | 1): void {
  w.int32(correlationId);
  if (version === 1) w.uvarint(0);
}

export function readResponseHeader(r: Reader, version: 0 | 1): number {
  const correlationId = r.int32();
  if (version === 1) skipHeaderTags(r);
  return correlationId;
}
