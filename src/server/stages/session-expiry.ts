import { SaslHandshake } from '../../protocol/messages/sasl-handshake.js';
import type { SecurityEvents } from '../../security/events.js';
import { CloseReasons } from '../../close-reasons.js';
import type { StageFactory } from './stage.js';

/**
 * The end of a SASL session (KIP-368): once a login has outlived its lifetime (connectionsMaxReauthMs,
 * or its OAUTHBEARER token's expiry) without a re-authentication, the next request other than the
 * SaslHandshake that starts one closes the connection unanswered, as Kafka's SocketServer does
 * ("Disconnecting expired channel"). A client that does not re-authenticate reconnects and logs in
 * again, with credentials checked anew. Before the authentication gate: it sees every request.
 */
export function sessionExpiry(events: SecurityEvents): StageFactory {
  return (connection) => ({
    name: 'session-expiry',
    before({ api, context }) {
      if (api.apiKey === SaslHandshake.apiKey) return undefined;
      const expiredFor = context.session.expiredFor();
      if (expiredFor === null) return undefined;
      const login = context.session.login;
      const detail = `${login?.principal ?? 'the'} session (${login?.mechanism ?? 'SASL'}) ended ${expiredFor} ms before this ${api.name} without a re-authentication`;
      events.emit({ type: 'connection-refused', connection: connection.id, remote: connection.remote, reason: CloseReasons.SESSION_EXPIRED, detail });
      context.closeAfterResponse(CloseReasons.SESSION_EXPIRED, detail);
      return { kind: 'respond', response: null };
    },
  });
}
