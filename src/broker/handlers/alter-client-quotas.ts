import { ErrorCode } from '../../protocol/error-codes.js';
import { AlterClientQuotas } from '../../protocol/messages/alter-client-quotas.js';
import type { QuotaManager } from '../../quotas/quota-manager.js';
import { handler, type HandlerEntry } from '../../server/handler.js';

/**
 * AlterClientQuotas: each entry set or refused on its own, with its error and reason (an unknown key, a
 * value that is not positive, an ip entity, the entity bound); stored in the metadata store, so the
 * settings survive restarts. The audit stage records each entry (src/audit/admin-requests.ts).
 */
export function alterClientQuotasHandler(quotas: QuotaManager): HandlerEntry {
  return handler(AlterClientQuotas, (body) => {
    const outcomes = quotas.alter(body.entries, body.validateOnly);
    return {
      throttleTimeMs: 0,
      entries: body.entries.map((entry, i) => {
        const outcome = outcomes[i] ?? null;
        return {
          errorCode: outcome === null ? ErrorCode.NONE : ErrorCode[outcome.errorCode],
          errorMessage: outcome === null ? null : outcome.message,
          entity: entry.entity.map((e) => ({ entityType: e.entityType, entityName: e.entityName })),
        };
      }),
    };
  });
}
