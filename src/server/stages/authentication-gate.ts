import { isPreAuthenticationApi } from '../../security/pre-authentication.js';
import type { SecurityEvents } from '../../security/events.js';
import { CloseReasons } from '../../close-reasons.js';
import type { StageFactory } from './stage.js';

/**
 * The authentication gate: before a connection has authenticated, only ApiVersions and the SASL APIs
 * pass (src/security/pre-authentication.ts); any other request is reported and closes the connection
 * unanswered, as Kafka closes it.
 */
export function authenticationGate(events: SecurityEvents): StageFactory {
  return (connection) => ({
    name: 'authentication',
    before({ api, context }) {
      if (context.principal !== null || isPreAuthenticationApi(api.apiKey)) return undefined;
      const detail = `${api.name} before authentication`;
      events.emit({ type: 'connection-refused', connection: connection.id, remote: connection.remote, reason: CloseReasons.UNAUTHENTICATED_REQUEST, detail });
      context.closeAfterResponse(CloseReasons.UNAUTHENTICATED_REQUEST, detail);
      return { kind: 'respond', response: null };
    },
  });
}
