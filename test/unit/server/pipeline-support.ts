import assert from 'node:assert/strict';
import { decodeResponse, encodeRequest } from '../../../src/protocol/frames.js';
import type { ApiSchema } from '../../../src/protocol/messages/schema.js';
import type { CloseReason } from '../../../src/close-reasons.js';
import type { FrameControl } from '../../../src/server/connection.js';
import { createDispatcher } from '../../../src/server/dispatcher.js';
import type { HandlerEntry } from '../../../src/server/handler.js';
import { Session } from '../../../src/server/session.js';
import type { StageFactory } from '../../../src/server/stages/stage.js';
import type { SecurityEvent } from '../../../src/security/events.js';
import type { Principal, SaslMechanism } from '../../../src/security/types.js';

/** A request frame as the connection hands it to the dispatcher: without its size prefix. */
export function requestFrame(api: ApiSchema, version: number, body: object, header: { correlationId?: number; clientId?: string | null } = {}): Buffer {
  const chunks = encodeRequest(api, { apiVersion: version, correlationId: header.correlationId ?? 5, clientId: header.clientId === undefined ? 'test' : header.clientId }, body);
  return Buffer.concat(chunks).subarray(4);
}

/** Decodes a response frame (size prefix included, as the dispatcher returns it). */
export function responseBody(api: ApiSchema, version: number, chunks: Buffer[] | null): Record<string, unknown> {
  assert.ok(chunks !== null, 'expected a response');
  return decodeResponse(api, version, Buffer.concat(chunks).subarray(4)).body;
}

/** A connection's controls, recording what the pipeline asked of them. */
export function fakeControl(): FrameControl & { closes: { reason: CloseReason; detail: string | undefined }[]; recycled: number; released: number } {
  const control = {
    closes: [] as { reason: CloseReason; detail: string | undefined }[],
    recycled: 0,
    released: 0,
    release: () => {
      control.released++;
    },
    recycleFrame: () => {
      control.recycled++;
    },
    closeAfterResponse: (reason: CloseReason, detail?: string) => {
      control.closes.push({ reason, detail });
    },
    closed: new AbortController().signal,
    throttle: () => undefined,
  };
  return control;
}

/** A mechanism that authenticates the token `alice` as User:alice in one step and refuses anything else. */
export const ALICE_ONLY: SaslMechanism = {
  name: 'PLAIN',
  start: () => ({
    step: (token) =>
      token.toString() === 'alice' ? Promise.resolve({ done: true, response: Buffer.from('ok'), principal: 'User:alice' }) : Promise.reject(new Error('no')),
  }),
};

/** One connection's dispatcher with its session: `principal` null for a SASL connection not yet authenticated. */
export function testDispatcher(options: { stages: readonly StageFactory[]; handlers: readonly HandlerEntry[]; principal?: Principal | null; events?: SecurityEvent[] }) {
  const events = options.events ?? [];
  const session = new Session({
    connectionId: 3,
    remote: '10.1.2.3:4567',
    tls: false,
    mechanisms: new Map([['PLAIN', ALICE_ONLY]]),
    principal: options.principal === undefined ? 'User:alice' : options.principal,
    failedAuthenticationDelayMs: 0,
    events: { emit: (e) => events.push(e) },
  });
  const dispatch = createDispatcher({
    handlers: new Map(options.handlers.map((h) => [h.api.apiKey, h])),
    connection: { id: 3, listener: { host: 'broker', port: 9092 }, clientIp: '10.1.2.3', remote: '10.1.2.3:4567' },
    session,
    stages: options.stages,
  });
  return { dispatch, session, events };
}
