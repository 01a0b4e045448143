import assert from 'node:assert/strict';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../src/protocol/frames.js';
import type { ApiSchema } from '../../src/protocol/messages/schema.js';
import type { HandlerEntry, RequestContext } from '../../src/server/handler.js';
import { Session } from '../../src/server/session.js';

/**
 * A RequestContext for calling a handler directly in unit tests: an authenticated session (the
 * dispatcher has already authorized the request), and no-op connection controls.
 */
export function testRequestContext(fields: Pick<RequestContext, 'header' | 'listener' | 'connectionId' | 'clientHost'> & Partial<RequestContext>): RequestContext {
  const principal = fields.principal ?? 'User:test';
  return {
    principal,
    session: new Session({
      connectionId: fields.connectionId,
      remote: fields.clientHost,
      tls: false,
      mechanisms: null,
      principal,
      failedAuthenticationDelayMs: 0,
      events: { emit: () => undefined },
    }),
    release: () => undefined,
    closeAfterResponse: () => undefined,
    connectionClosed: new AbortController().signal,
    throttle: () => undefined,
    ...fields,
  };
}

/**
 * Calls a handler as the broker does: the request is encoded at `version` and decoded again, handled,
 * and its response encoded and decoded, so version-dependent fields are checked as a client sees them.
 */
export async function handleOverWire(
  entries: readonly HandlerEntry[],
  api: ApiSchema,
  version: number,
  body: object,
  options: Partial<Pick<RequestContext, 'listener' | 'connectionId' | 'clientHost' | 'principal'>> & { clientId?: string } = {},
): Promise<Record<string, unknown>> {
  const { clientId = 'test', ...context } = options;
  const entry = entries.find((e) => e.api.apiKey === api.apiKey);
  assert.ok(entry !== undefined, `no handler for ${api.name}`);
  const correlationId = 41;
  const decoded = decodeRequest(Buffer.concat(encodeRequest(api, { apiVersion: version, correlationId, clientId }, body)).subarray(4));
  assert.equal(decoded.kind, 'request');
  const response = await entry.handle(
    decoded.body,
    testRequestContext({ header: decoded.header, listener: { host: '127.0.0.1', port: 9092 }, connectionId: 1, clientHost: '/127.0.0.1', ...context }),
  );
  assert.ok(response !== null);
  const decodedResponse = decodeResponse(api, version, Buffer.concat(encodeResponse(api, version, correlationId, response)).subarray(4));
  assert.equal(decodedResponse.correlationId, correlationId);
  return decodedResponse.body;
}
