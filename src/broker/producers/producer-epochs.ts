import { ErrorCode } from '../../protocol/error-codes.js';
import type { ProducerIdStore } from '../../storage/producer-ids.js';

/** Producer epochs are int16: an id whose epoch reached this gets a new id instead of a bump. */
export const MAX_PRODUCER_EPOCH = 0x7fff;

/** How many handed-out ids {@link ProducerEpochs} remembers; a forgotten id just gets a new id. */
const REMEMBERED_PRODUCERS = 100_000;

/** What a request without a producer id sends in its place (InitProducerId v3+ carries both fields). */
export const NO_PRODUCER_ID = -1n;
export const NO_PRODUCER_EPOCH = -1;

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
