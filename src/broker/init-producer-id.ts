import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { InitProducerId, type InitProducerIdResponse } from '../protocol/messages/init-producer-id.js';
import { handler, type HandlerEntry } from '../server/handler.js';
import type { ProducerIdStore } from '../storage/producer-ids.js';

/** Producer epochs are int16: an id whose epoch reached this gets a new id instead of a bump. */
export const MAX_PRODUCER_EPOCH = 0x7fff;

/** How many handed-out ids {@link ProducerEpochs} remembers; a forgotten id just gets a new id. */
const REMEMBERED_PRODUCERS = 100_000;

const NO_PRODUCER_ID = -1n;
const NO_PRODUCER_EPOCH = -1;

export interface InitProducerIdDeps {
  readonly ids: ProducerIdStore;
  readonly logger: Logger;
}

/** The outcome of an InitProducerId for an idempotent producer. */
export type ProducerIdGrant =
  | { readonly errorCode: typeof ErrorCode.NONE; readonly producerId: bigint; readonly producerEpoch: number }
  | { readonly errorCode: number; readonly reason: string };

/**
 * The current epoch of each producer id this broker process handed out (bounded, oldest forgotten
 * first), so that an idempotent producer can have its epoch bumped (KIP-360). Kept in memory only:
 * an idempotent producer id belongs to one client, so nothing needs fencing across restarts, and an
 * id not remembered is answered as Kafka answers every idempotent producer: with a new id.
 */
export class ProducerEpochs {
  readonly #ids: ProducerIdStore;
  readonly #epochs = new Map<bigint, number>();
  readonly #capacity: number;

  constructor(ids: ProducerIdStore, capacity = REMEMBERED_PRODUCERS) {
    this.#ids = ids;
    this.#capacity = capacity;
  }

  /**
   * A new producer id with epoch 0, or, for a producer that sends its id and epoch (InitProducerId
   * v3+), a bumped epoch (KIP-360):
   * - an id this process handed out, with its current epoch or a later one (the Java client and
   *   librdkafka bump idempotent epochs locally) → the same id, epoch + 1; epoch 32767 → a new id;
   * - the epoch just before the current one: a retry of a bump whose answer was lost → the current
   *   epoch again, no second bump (Kafka's transaction coordinator does the same, KIP-360);
   * - an older epoch still: two clients claim one id, the older is fenced → PRODUCER_FENCED (90) for
   *   v4+, INVALID_PRODUCER_EPOCH (47) before (KafkaApis maps 90 to 47 for clients older than KIP-588);
   * - an id not remembered (handed out before a restart, or forgotten) → a new id, as Kafka answers any
   *   InitProducerId without a transactional id (TransactionCoordinator.handleInitProducerId ignores
   *   the sent id then).
   * The id store's write failing (a full disk) → COORDINATOR_LOAD_IN_PROGRESS (14), what Kafka answers
   * while it waits for a new id block: clients retry it.
   */
  grant(producerId: bigint, producerEpoch: number, version: number): ProducerIdGrant {
    if (producerId !== NO_PRODUCER_ID) {
      const current = this.#epochs.get(producerId);
      if (current !== undefined) {
        if (producerEpoch >= current && producerEpoch < MAX_PRODUCER_EPOCH) return this.#remember(producerId, producerEpoch + 1);
        if (producerEpoch === current - 1) return this.#remember(producerId, current);
        if (producerEpoch < current) {
          return {
            errorCode: version >= 4 ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH,
            reason: `producer ${String(producerId)} asked to bump epoch ${producerEpoch}, but its epoch is already ${current}`,
          };
        }
        // The epoch is exhausted: a new id below.
      }
    }
    let id: bigint;
    try {
      id = this.#ids.next();
    } catch (err) {
      return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, reason: `no producer id could be reserved: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (producerId !== NO_PRODUCER_ID) this.#epochs.delete(producerId);
    return this.#remember(id, 0);
  }

  #remember(producerId: bigint, producerEpoch: number): ProducerIdGrant {
    // Re-inserted so that the map's order is least recently granted first.
    this.#epochs.delete(producerId);
    this.#epochs.set(producerId, producerEpoch);
    if (this.#epochs.size > this.#capacity) {
      const oldest = this.#epochs.keys().next();
      if (oldest.done !== true) this.#epochs.delete(oldest.value);
    }
    return { errorCode: ErrorCode.NONE, producerId, producerEpoch };
  }
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
  const answer = (errorCode: number, producerId = NO_PRODUCER_ID, producerEpoch = NO_PRODUCER_EPOCH): InitProducerIdResponse => ({
    throttleTimeMs: 0,
    errorCode,
    producerId,
    producerEpoch,
  });
  return handler(InitProducerId, (body, ctx) => {
    const version = ctx.header.apiVersion;
    if (body.transactionalId !== null) {
      const first = !warned.has(body.transactionalId) && warned.size < WARNED_TRANSACTIONAL_IDS;
      if (first) warned.add(body.transactionalId);
      const fields = { transactionalId: body.transactionalId, clientId: ctx.header.clientId, connection: ctx.connectionId };
      const message = `InitProducerId refused with INVALID_REQUEST: ${TRANSACTIONS_UNSUPPORTED}`;
      if (first) deps.logger.warn(fields, message);
      else deps.logger.debug(fields, message);
      return answer(ErrorCode.INVALID_REQUEST);
    }
    const producerId = body.producerId ?? NO_PRODUCER_ID;
    const producerEpoch = body.producerEpoch ?? NO_PRODUCER_EPOCH;
    // KafkaApis.handleInitProducerIdRequest: an id without an epoch (or the reverse) is malformed.
    if ((producerId === NO_PRODUCER_ID) !== (producerEpoch === NO_PRODUCER_EPOCH)) return answer(ErrorCode.INVALID_REQUEST);
    const grant = epochs.grant(producerId, producerEpoch, version);
    if ('reason' in grant) {
      const fields = { producerId: String(producerId), producerEpoch, errorCode: grant.errorCode, clientId: ctx.header.clientId };
      if (grant.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) deps.logger.error(fields, `InitProducerId failed: ${grant.reason}`);
      else deps.logger.warn(fields, `InitProducerId refused: ${grant.reason}`);
      return answer(grant.errorCode);
    }
    return answer(ErrorCode.NONE, grant.producerId, grant.producerEpoch);
  });
}
