import { ErrorCode } from '../../protocol/error-codes.js';
import { DescribeClientQuotas } from '../../protocol/messages/describe-client-quotas.js';
import type { QuotaManager } from '../../quotas/quota-manager.js';
import { handler, type HandlerEntry } from '../../server/handler.js';

/**
 * DescribeClientQuotas over the stored entities. A filter Kafka refuses (an unknown type, a type twice,
 * an exact match without a name) answers INVALID_REQUEST with the reason and no entries.
 */
export function describeClientQuotasHandler(quotas: QuotaManager): HandlerEntry {
  return handler(DescribeClientQuotas, (body) => {
    const result = quotas.describe(body.components, body.strict);
    if (!result.ok) return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: result.message, entries: null };
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, entries: result.entries };
  });
}
