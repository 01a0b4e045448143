import type { Logger } from '../../logger.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { errorResponse } from '../../protocol/error-responses.js';
import { InitProducerId } from '../../protocol/messages/init-producer-id.js';
import { handler, type HandlerEntry } from '../../server/handler.js';
import type { ProducerIdStore } from '../../storage/producer-ids.js';
import { NO_PRODUCER_EPOCH, NO_PRODUCER_ID, ProducerEpochs } from '../producers/producer-epochs.js';

export interface InitProducerIdDeps {
  readonly ids: ProducerIdStore;
  readonly logger: Logger;
}

/**
 * Why a transactional id is refused with INVALID_REQUEST (42). Transactions (coordinator, markers,
 * read_committed) are not implemented, and the answer must make every client stop at once with a
 * message that points at the cause, not retry:
 * - COORDINATOR_NOT_AVAILABLE / NOT_COORDINATOR (15/16) are retriable: the Java client and librdkafka
 *   look for the coordinator again until their timeouts, KafkaJS retries them too;
 * - TRANSACTIONAL_ID_AUTHORIZATION_FAILED (53) stops all three but reads as a missing ACL, sends users
 *   after TRANSACTIONAL_ID ACLs that cannot help and would count as an authorization denial in audits;
 * - INVALID_TRANSACTION_TIMEOUT (50) or PRODUCER_FENCED (90) stop librdkafka too, but name a cause
 *   that is not the real one;
 * - INVALID_REQUEST is not retriable in any client: KafkaJS fails initTransactions at once (it retries
 *   only coordinator errors, eosManager.initProducerId) and the Java client fails with "Unexpected error
 *   in InitProducerIdResponse", both with Kafka's text for 42: "…the message was sent to an
 *   incompatible broker. See the broker logs for more details", and this broker logs the reason.
 *   Kafka answers 42 to an empty transactional id for the same kind of reason. librdkafka 2.0.2 treats
 *   it as non-fatal and retries every 500 ms until init_transactions() times out ("Failed to
 *   initialize Producer ID: Broker: Invalid request"), but it reaches InitProducerId only after
 *   FindCoordinator(TRANSACTION), which this broker refuses the same way, with a message.
 */
const TRANSACTIONS_UNSUPPORTED = 'transactions are not supported by this broker: use an idempotent producer (enable.idempotence=true) without transactional.id';

/** How many refused transactional ids are logged at warn level before further ones go to debug. */
const WARNED_TRANSACTIONAL_IDS = 100;

/**
 * InitProducerId (22): a producer id and epoch for idempotent producers (no transactional id).
 * Transactional ids are refused (see {@link TRANSACTIONS_UNSUPPORTED}).
 */
export function initProducerIdHandler(deps: InitProducerIdDeps): HandlerEntry {
  const epochs = new ProducerEpochs(deps.ids);
  const warned = new Set<string>();
  return handler(InitProducerId, (body, ctx) => {
    const version = ctx.header.apiVersion;
    if (body.transactionalId !== null) {
      const first = !warned.has(body.transactionalId) && warned.size < WARNED_TRANSACTIONAL_IDS;
      if (first) warned.add(body.transactionalId);
      const fields = { transactionalId: body.transactionalId, clientId: ctx.header.clientId, connection: ctx.connectionId };
      const message = `InitProducerId refused with INVALID_REQUEST: ${TRANSACTIONS_UNSUPPORTED}`;
      if (first) deps.logger.warn(fields, message);
      else deps.logger.debug(fields, message);
      return errorResponse(InitProducerId, ErrorCode.INVALID_REQUEST);
    }
    const producerId = body.producerId ?? NO_PRODUCER_ID;
    const producerEpoch = body.producerEpoch ?? NO_PRODUCER_EPOCH;
    // KafkaApis.handleInitProducerIdRequest: an id without an epoch (or the reverse) is malformed.
    if ((producerId === NO_PRODUCER_ID) !== (producerEpoch === NO_PRODUCER_EPOCH)) return errorResponse(InitProducerId, ErrorCode.INVALID_REQUEST);
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
