import type { Refusal } from '../../security/containment/containment.js';
import type { SecurityEvents } from '../../security/events.js';
import type { Principal } from '../../security/types.js';
import type { StageFactory } from './stage.js';

/**
 * Incident response on open connections (src/security/containment): a request of a principal that is
 * disabled, or shut out by a lockdown, closes its connection unanswered, as an expired session does.
 * The registry closes such connections the moment the change is made; this stage covers a request
 * already read by then, and a connection the registry does not know (Broker.inject). After the
 * authentication gate: only a logged-in connection has a principal to refuse.
 */
export function principalGate(refusal: (principal: Principal) => Refusal | null, events: SecurityEvents): StageFactory {
  return (connection) => ({
    name: 'principal-gate',
    before({ api, context }) {
      const principal = context.principal;
      if (principal === null) return undefined;
      const why = refusal(principal);
      if (why === null) return undefined;
      const detail = `${api.name} of ${principal} refused: ${why.detail}`;
      events.emit({ type: 'connection-refused', connection: connection.id, remote: connection.remote, reason: why.reason, detail });
      context.closeAfterResponse(why.reason, detail);
      return { kind: 'respond', response: null };
    },
  });
}
