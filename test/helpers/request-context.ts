import type { RequestContext } from '../../src/server/dispatcher.js';
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
    ...fields,
  };
}
