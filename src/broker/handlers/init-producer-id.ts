import type { Logger } from '../../logger.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { errorResponse } from '../../protocol/error-responses.js';
import { InitProducerId } from '../../protocol/messages/init-producer-id.js';
import { handler, type HandlerEntry } from '../../server/handler.js';
import type { ProducerIdStore } from '../../storage/producer-ids.js';
import { NO_PRODUCER_EPOCH, NO_PRODUCER_ID, ProducerEpochs } from '../producers/producer-epochs.js';
import { ANONYMOUS } from '../../security/types.js';
import type { TransactionCoordinator } from '../../transactions/transaction-coordinator.js';

export interface InitProducerIdDeps {
  readonly ids: ProducerIdStore;
  readonly transactions: TransactionCoordinator;
  readonly logger: Logger;
}

/** InitProducerId v4+ knows PRODUCER_FENCED (KIP-588); older clients are answered INVALID_PRODUCER_EPOCH. */
const PRODUCER_FENCED_VERSION = 4;

/**
 * InitProducerId (22): a producer id and epoch for idempotent producers (no transactional id, epochs
 * kept here) and for transactional ones (the transaction coordinator, which fences older instances).
 */
export function initProducerIdHandler(deps: InitProducerIdDeps): HandlerEntry {
  const epochs = new ProducerEpochs(deps.ids);
  return handler(InitProducerId, async (body, ctx) => {
    const version = ctx.header.apiVersion;
    const producerId = body.producerId ?? NO_PRODUCER_ID;
    const producerEpoch = body.producerEpoch ?? NO_PRODUCER_EPOCH;
    // KafkaApis.handleInitProducerIdRequest: an id without an epoch (or the reverse) is malformed.
    if ((producerId === NO_PRODUCER_ID) !== (producerEpoch === NO_PRODUCER_EPOCH)) return errorResponse(InitProducerId, ErrorCode.INVALID_REQUEST);
    const fencedCode = version >= PRODUCER_FENCED_VERSION ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH;
    if (body.transactionalId !== null) {
      // Kafka answers an empty transactional id INVALID_REQUEST (TransactionCoordinator.handleInitProducerId).
      if (body.transactionalId === '') return errorResponse(InitProducerId, ErrorCode.INVALID_REQUEST);
      const outcome = await deps.transactions.initProducerId({
        transactionalId: body.transactionalId,
        timeoutMs: body.transactionTimeoutMs,
        producerId,
        producerEpoch,
        principal: ctx.principal ?? ANONYMOUS,
        fencedCode,
      });
      if (outcome.errorCode !== ErrorCode.NONE) {
        deps.logger.warn({ transactionalId: body.transactionalId, errorCode: outcome.errorCode, clientId: ctx.header.clientId, reason: outcome.reason }, 'InitProducerId refused');
        return errorResponse(InitProducerId, outcome.errorCode);
      }
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: outcome.producerId, producerEpoch: outcome.producerEpoch };
    }
    const grant = epochs.grant(producerId, producerEpoch, version);
    if ('reason' in grant) {
      const fields = { producerId: String(producerId), producerEpoch, errorCode: grant.errorCode, clientId: ctx.header.clientId };
      if (grant.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) deps.logger.error(fields, `InitProducerId failed: ${grant.reason}`);
      else deps.logger.warn(fields, `InitProducerId refused: ${grant.reason}`);
      return errorResponse(InitProducerId, grant.errorCode);
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: grant.producerId, producerEpoch: grant.producerEpoch };
  });
}
