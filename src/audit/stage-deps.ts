import type { SecurityEvents } from '../security/events.js';
import type { DataAccessLedger } from './data-access.js';

/** What the audit stage of the request pipeline (src/server/stages/audit.ts) is given by the broker. */
export interface AuditStageDeps {
  readonly events: SecurityEvents;
  readonly access: DataAccessLedger;
  /** True while what must be audited is to be refused: the trail cannot be written and the broker fails closed. */
  readonly refuseUnaudited: () => boolean;
  /** Resolves once what was recorded so far is durable: an admin change is answered only then. */
  readonly durable?: () => Promise<void>;
  /** Longest an admin change's answer waits for `durable` (default 5 s): after it, the answer goes anyway. */
  readonly durableWaitMs?: number;
}
