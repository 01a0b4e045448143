import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { Scheduler } from '../groups/scheduler.js';
import type { CommittedOffset } from '../storage/offset-store.js';
import type { ProducerIdStore } from '../storage/producer-ids.js';
import type { PendingGroupOffsets, StoredTransaction, TransactionStateName, TransactionStore } from '../storage/transaction-store.js';
import type { TransactionSettings } from './transaction-limits.js';

/** Producer epochs are int16; Kafka rotates to a new producer id before the epoch would overflow. */
const LAST_USABLE_EPOCH = 0x7fff - 1;

export interface TopicPartitionRef {
  readonly topic: string;
  readonly partition: number;
}

/** One transaction marker as the log writes it (a control batch, KIP-98). */
export interface MarkerToWrite {
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly commit: boolean;
  readonly coordinatorEpoch: number;
}

/** Where markers go: the broker's log store. `no-transaction` and `unknown-partition` count as done. */
export interface MarkerLog {
  appendMarker(topic: string, partition: number, marker: MarkerToWrite): Promise<{ readonly kind: string; readonly message?: string }>;
  /** Resolves once everything appended before it is on disk. */
  sync(): Promise<void>;
}

export interface TransactionCoordinatorDeps {
  readonly store: TransactionStore;
  readonly ids: ProducerIdStore;
  readonly markers: MarkerLog;
  readonly logger: Logger;
  readonly scheduler: Scheduler;
  readonly settings: TransactionSettings;
  /** Told of every transaction aborted for its timeout (metrics). */
  readonly onTimedOut?: () => void;
  /** Told of offsets a committed transaction made visible to a group (for the group bounds' accounting). */
  readonly onOffsetsCommitted?: (committed: readonly PendingGroupOffsets[], principal: string) => void;
}

/** A request naming a transaction's producer (every transactional API but InitProducerId). */
export interface ProducerRef {
  readonly transactionalId: string;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  /** What a fenced producer is answered: PRODUCER_FENCED (90) for clients that know it (KIP-588), else INVALID_PRODUCER_EPOCH (47). */
  readonly fencedCode: number;
}

export interface InitRequest {
  readonly transactionalId: string;
  readonly timeoutMs: number;
  /** −1/−1 when the producer has none (a first start); its current pair to have the epoch bumped (KIP-360). */
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly principal: string;
  readonly fencedCode: number;
}

export type InitOutcome = { readonly errorCode: number; readonly producerId: bigint; readonly producerEpoch: number; readonly reason?: string };

/** What DescribeTransactions tells of one transactional id. */
export interface TransactionDescription {
  readonly transactionalId: string;
  readonly state: TransactionStateName;
  readonly timeoutMs: number;
  readonly startedMs: number;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly partitions: readonly TopicPartitionRef[];
}

/** Why a transactional batch may not be appended (the log's answer kinds). */
export type GuardRefusal = { readonly kind: 'fenced' | 'invalid-txn-state'; readonly message: string };

interface Entry {
  record: StoredTransaction;
  /** An operation that awaits (markers) is in progress: others get CONCURRENT_TRANSACTIONS meanwhile. */
  busy: boolean;
  /** "topic\0partition" of the partitions of the ongoing transaction, for the produce guard. */
  partitionKeys: Set<string>;
  /** group → "topic\0partition" of offsets committed inside the ongoing transaction (OffsetFetch requireStable). */
  pendingOffsets: Map<string, Set<string>>;
}

const key = (topic: string, partition: number): string => `${topic}\0${partition}`;

function pendingCount(entry: Entry): number {
  let n = 0;
  for (const keys of entry.pendingOffsets.values()) n += keys.size;
  return n;
}

/**
 * Kafka's transaction coordinator (KIP-98) for a single broker: it hands transactional producers their
 * id and epoch, fences older instances, keeps each transaction's partitions and groups, and ends a
 * transaction by writing a commit or abort marker to each of its partitions, durably, before it answers.
 * Every change of state is stored (metadata store, synchronous) before it is acknowledged, and a
 * transaction found half-ended at start (PrepareCommit/PrepareAbort) is ended then: a crash never
 * leaves a transaction neither committed nor aborted. An open transaction that outlives its timeout is
 * aborted and its producer fenced (epoch bump), as Kafka does.
 *
 * Concurrency: one operation per transactional id at a time. Requests are answered in order per
 * connection, but two connections may use one id; an operation that awaits marks the id busy and others
 * answer CONCURRENT_TRANSACTIONS (51), which every client retries.
 */
export class TransactionCoordinator {
  readonly #deps: TransactionCoordinatorDeps;
  readonly #entries = new Map<string, Entry>();
  readonly #byProducer = new Map<bigint, Entry>();
  readonly #perPrincipal = new Map<string, number>();
  /** group → "topic\0partition" → how many open transactions committed an offset there (requireStable lookups). */
  readonly #pendingByGroup = new Map<string, Map<string, number>>();
  /** Pending offsets held, per principal and in all (bounded: see TransactionSettings). */
  readonly #pendingByPrincipal = new Map<string, number>();
  #pendingTotal = 0;
  #timer: unknown = null;
  #closed = false;

  constructor(deps: TransactionCoordinatorDeps) {
    this.#deps = deps;
    if (!(deps.settings.maxTimeoutMs > 0)) throw new RangeError('transaction max timeout must be positive');
  }

  /**
   * Loads the stored transactions and ends those a crash left half-ended, then starts the timeout
   * checks. Open transactions stay open: their producers may go on, or they time out.
   */
  async start(): Promise<void> {
    for (const record of this.#deps.store.transactions()) this.#add(record);
    for (const entry of [...this.#entries.values()]) {
      const state = entry.record.state;
      if (state === 'PrepareCommit' || state === 'PrepareAbort') await this.#finish(entry, state === 'PrepareCommit');
    }
    this.#scheduleCheck();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) this.#deps.scheduler.cancel(this.#timer);
    this.#timer = null;
  }

  get size(): number {
    return this.#entries.size;
  }

  #add(record: StoredTransaction): Entry {
    const entry: Entry = { record, busy: false, partitionKeys: new Set(record.partitions.map((p) => key(p.topic, p.partition))), pendingOffsets: new Map() };
    for (const { groupId, offsets } of record.state === 'Ongoing' ? this.#deps.store.pendingOffsets(record.transactionalId) : []) {
      this.#holdPending(entry, groupId, offsets.map((o) => key(o.topic, o.partition)));
    }
    this.#entries.set(record.transactionalId, entry);
    this.#byProducer.set(record.producerId, entry);
    this.#perPrincipal.set(record.principal, (this.#perPrincipal.get(record.principal) ?? 0) + 1);
    return entry;
  }

  #remove(entry: Entry): void {
    this.#releasePending(entry);
    this.#entries.delete(entry.record.transactionalId);
    if (this.#byProducer.get(entry.record.producerId) === entry) this.#byProducer.delete(entry.record.producerId);
    const held = (this.#perPrincipal.get(entry.record.principal) ?? 1) - 1;
    if (held > 0) this.#perPrincipal.set(entry.record.principal, held);
    else this.#perPrincipal.delete(entry.record.principal);
  }

  /** Stores the new record, then makes it the entry's (a failed write changes nothing in memory). */
  #save(entry: Entry, changes: Partial<StoredTransaction>): void {
    const record: StoredTransaction = { ...entry.record, ...changes, updatedMs: this.#deps.scheduler.now() };
    this.#deps.store.saveTransaction(record);
    if (record.producerId !== entry.record.producerId) {
      this.#byProducer.delete(entry.record.producerId);
      this.#byProducer.set(record.producerId, entry);
    }
    entry.record = record;
    entry.partitionKeys = new Set(record.partitions.map((p) => key(p.topic, p.partition)));
  }

  // ---- InitProducerId ------------------------------------------------------------------------

  /**
   * Kafka's TransactionCoordinator.handleInitProducerId: a new id with epoch 0 for an id never seen;
   * else the epoch bumped (a new producer id when it would overflow), which fences every older instance.
   * An open transaction of the previous instance is aborted first (with a bumped epoch, so its zombie is
   * fenced on every partition). A producer sending its current id and epoch (KIP-360) must match them,
   * or the epoch before the last bump (a retry whose answer was lost: answered without a second bump).
   */
  async initProducerId(req: InitRequest): Promise<InitOutcome> {
    const fail = (errorCode: number, reason: string): InitOutcome => ({ errorCode, producerId: -1n, producerEpoch: -1, reason });
    const { settings } = this.#deps;
    if (req.timeoutMs <= 0 || req.timeoutMs > settings.maxTimeoutMs) {
      return fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT, `transaction.timeout.ms ${req.timeoutMs} is outside 1..${settings.maxTimeoutMs} (the broker's transaction.max.timeout.ms)`);
    }
    const entry = this.#entries.get(req.transactionalId);
    if (entry === undefined) return this.#create(req);
    if (entry.busy || entry.record.state === 'PrepareCommit' || entry.record.state === 'PrepareAbort') {
      return fail(ErrorCode.CONCURRENT_TRANSACTIONS, 'the transactional id is ending a transaction');
    }
    const current = entry.record;
    if (req.producerId !== -1n) {
      const isCurrent = req.producerId === current.producerId && req.producerEpoch === current.producerEpoch;
      const isRetry = req.producerId === current.producerId && req.producerEpoch === current.lastProducerEpoch && current.state !== 'Ongoing';
      if (isRetry) return { errorCode: ErrorCode.NONE, producerId: current.producerId, producerEpoch: current.producerEpoch };
      if (!isCurrent) return fail(req.fencedCode, `producer ${req.producerId} epoch ${req.producerEpoch} is not the current instance of ${JSON.stringify(req.transactionalId)}`);
    }
    entry.busy = true;
    try {
      if (current.state === 'Ongoing') {
        // The previous instance left a transaction open: aborted with a newer epoch, which fences it.
        this.#deps.logger.info({ transactionalId: req.transactionalId, producerId: String(current.producerId) }, 'a new instance of a transactional producer aborts the open transaction of the previous one');
        const fenced = await this.#abortFencing(entry);
        if (!fenced) return fail(ErrorCode.CONCURRENT_TRANSACTIONS, 'the open transaction of the previous instance could not be aborted yet');
      }
      return this.#bump(entry, req.timeoutMs);
    } catch (err) {
      this.#deps.logger.error({ transactionalId: req.transactionalId, err: String(err) }, 'InitProducerId failed to store the transaction state');
      return fail(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, 'the transaction state could not be stored');
    } finally {
      entry.busy = false;
    }
  }

  #create(req: InitRequest): InitOutcome {
    const { settings } = this.#deps;
    const fail = (errorCode: number, reason: string): InitOutcome => ({ errorCode, producerId: -1n, producerEpoch: -1, reason });
    if (this.#entries.size >= settings.maxTransactionalIds) {
      return fail(ErrorCode.POLICY_VIOLATION, `the broker holds ${settings.maxTransactionalIds} transactional ids (maxTransactionalIds); unused ones expire after transactional.id.expiration.ms`);
    }
    if ((this.#perPrincipal.get(req.principal) ?? 0) >= settings.maxTransactionalIdsPerPrincipal) {
      return fail(ErrorCode.POLICY_VIOLATION, `${req.principal} holds ${settings.maxTransactionalIdsPerPrincipal} transactional ids (maxTransactionalIdsPerPrincipal)`);
    }
    let producerId: bigint;
    try {
      producerId = this.#deps.ids.next();
      const record: StoredTransaction = {
        transactionalId: req.transactionalId,
        producerId,
        producerEpoch: 0,
        lastProducerEpoch: -1,
        timeoutMs: req.timeoutMs,
        state: 'Empty',
        partitions: [],
        groups: [],
        startedMs: -1,
        updatedMs: this.#deps.scheduler.now(),
        principal: req.principal,
      };
      this.#deps.store.saveTransaction(record);
      this.#add(record);
    } catch (err) {
      this.#deps.logger.error({ transactionalId: req.transactionalId, err: String(err) }, 'InitProducerId could not reserve a producer id or store the transactional id');
      return fail(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, 'no producer id could be reserved');
    }
    return { errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
  }

  #bump(entry: Entry, timeoutMs: number): InitOutcome {
    const current = entry.record;
    if (current.producerEpoch >= LAST_USABLE_EPOCH) {
      const producerId = this.#deps.ids.next();
      this.#save(entry, { producerId, producerEpoch: 0, lastProducerEpoch: -1, timeoutMs, state: 'Empty', partitions: [], groups: [], startedMs: -1 });
    } else {
      this.#save(entry, { producerEpoch: current.producerEpoch + 1, lastProducerEpoch: current.producerEpoch, timeoutMs, state: 'Empty', partitions: [], groups: [], startedMs: -1 });
    }
    return { errorCode: ErrorCode.NONE, producerId: entry.record.producerId, producerEpoch: entry.record.producerEpoch };
  }

  /** Aborts the open transaction with the epoch bumped (fencing its producer); false when the markers could not all be written yet. */
  async #abortFencing(entry: Entry): Promise<boolean> {
    const current = entry.record;
    const epoch = Math.min(current.producerEpoch + 1, LAST_USABLE_EPOCH + 1);
    this.#save(entry, { state: 'PrepareAbort', producerEpoch: epoch, lastProducerEpoch: current.producerEpoch });
    return this.#finish(entry, false);
  }

  // ---- the producer's checks -----------------------------------------------------------------

  /** The entry of a request's producer, or the error code that answers it. */
  #producer(ref: ProducerRef): Entry | number {
    const entry = this.#entries.get(ref.transactionalId);
    if (entry === undefined || entry.record.producerId !== ref.producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (entry.record.producerEpoch !== ref.producerEpoch) return ref.fencedCode;
    if (entry.busy || entry.record.state === 'PrepareCommit' || entry.record.state === 'PrepareAbort') return ErrorCode.CONCURRENT_TRANSACTIONS;
    return entry;
  }

  /** Starts the transaction if none is open: the timeout counts from here. */
  #open(entry: Entry, changes: Partial<StoredTransaction>): void {
    const opening = entry.record.state !== 'Ongoing';
    if (opening) this.#releasePending(entry);
    this.#save(entry, { ...changes, state: 'Ongoing', ...(opening ? { startedMs: this.#deps.scheduler.now() } : {}) });
  }

  /**
   * AddPartitionsToTxn: adds partitions (already checked to exist) to the open transaction, opening it.
   * Returns one error code for all of them.
   */
  addPartitions(ref: ProducerRef, partitions: readonly TopicPartitionRef[]): number {
    const entry = this.#producer(ref);
    if (typeof entry === 'number') return entry;
    const added = partitions.filter((p) => !entry.partitionKeys.has(key(p.topic, p.partition)));
    if (added.length === 0 && entry.record.state === 'Ongoing') return ErrorCode.NONE;
    const unique = new Map<string, TopicPartitionRef>();
    for (const p of [...(entry.record.state === 'Ongoing' ? entry.record.partitions : []), ...added]) unique.set(key(p.topic, p.partition), { topic: p.topic, partition: p.partition });
    return this.#stored(() => { this.#open(entry, { partitions: [...unique.values()], ...(entry.record.state === 'Ongoing' ? {} : { groups: [] }) }); });
  }

  /** AddOffsetsToTxn: the transaction will commit offsets of `groupId`. */
  addOffsets(ref: ProducerRef, groupId: string): number {
    const entry = this.#producer(ref);
    if (typeof entry === 'number') return entry;
    const ongoing = entry.record.state === 'Ongoing';
    const groups = ongoing ? entry.record.groups : [];
    if (ongoing && groups.includes(groupId)) return ErrorCode.NONE;
    if (groups.length >= this.#deps.settings.maxGroupsPerTransaction) {
      this.#deps.logger.warn({ transactionalId: ref.transactionalId, limit: this.#deps.settings.maxGroupsPerTransaction }, 'AddOffsetsToTxn refused: the transaction commits offsets of too many groups');
      return ErrorCode.POLICY_VIOLATION;
    }
    return this.#stored(() => { this.#open(entry, { groups: [...groups, groupId], ...(ongoing ? {} : { partitions: [] }) }); });
  }

  /**
   * TxnOffsetCommit's transaction check: the producer is current and its open transaction added the
   * group (AddOffsetsToTxn), else INVALID_TXN_STATE (the KIP-890 defence: no offsets outside a transaction).
   */
  checkOffsetCommit(ref: ProducerRef, groupId: string): number {
    const entry = this.#producer(ref);
    if (typeof entry === 'number') return entry;
    if (entry.record.state !== 'Ongoing' || !entry.record.groups.includes(groupId)) return ErrorCode.INVALID_TXN_STATE;
    return ErrorCode.NONE;
  }

  /**
   * Stores offsets committed inside the open transaction (after {@link checkOffsetCommit} allowed them),
   * all or none. Offsets of partitions new to the transaction count against three bounds (per
   * transaction, per principal, broker-wide); past one, INVALID_COMMIT_OFFSET_SIZE (28), Kafka's code
   * for a commit too large to store, as the group offset bounds answer.
   */
  savePendingOffsets(transactionalId: string, groupId: string, offsets: readonly CommittedOffset[]): number {
    const entry = this.#entries.get(transactionalId);
    if (entry === undefined || offsets.length === 0) return ErrorCode.NONE;
    const held = entry.pendingOffsets.get(groupId);
    const added = new Set(offsets.map((o) => key(o.topic, o.partition)).filter((k) => held?.has(k) !== true)).size;
    const { settings } = this.#deps;
    const principal = entry.record.principal;
    const over =
      pendingCount(entry) + added > settings.maxPendingOffsetsPerTransaction
        ? 'maxPendingOffsetsPerTransaction'
        : (this.#pendingByPrincipal.get(principal) ?? 0) + added > settings.maxPendingOffsetsPerPrincipal
          ? 'maxPendingOffsetsPerPrincipal'
          : this.#pendingTotal + added > settings.maxPendingOffsets
            ? 'maxPendingOffsets'
            : null;
    if (over !== null) {
      this.#deps.logger.warn({ transactionalId, groupId, principal, limit: over }, 'TxnOffsetCommit refused: the offsets committed inside open transactions reached a bound');
      return ErrorCode.INVALID_COMMIT_OFFSET_SIZE;
    }
    return this.#stored(() => {
      this.#deps.store.savePendingOffsets(transactionalId, groupId, offsets);
      this.#holdPending(entry, groupId, offsets.map((o) => key(o.topic, o.partition)));
    });
  }

  /** Whether an open transaction committed an offset of the group's partition (OffsetFetch requireStable, KIP-447). */
  hasPendingOffset(groupId: string, topic: string, partition: number): boolean {
    return (this.#pendingByGroup.get(groupId)?.get(key(topic, partition)) ?? 0) > 0;
  }

  /** Counts the partitions new to the entry's pending offsets of `groupId`. */
  #holdPending(entry: Entry, groupId: string, keys: readonly string[]): void {
    let held = entry.pendingOffsets.get(groupId);
    if (held === undefined) entry.pendingOffsets.set(groupId, (held = new Set()));
    let byGroup = this.#pendingByGroup.get(groupId);
    if (byGroup === undefined) this.#pendingByGroup.set(groupId, (byGroup = new Map<string, number>()));
    let added = 0;
    for (const k of keys) {
      if (held.has(k)) continue;
      held.add(k);
      byGroup.set(k, (byGroup.get(k) ?? 0) + 1);
      added++;
    }
    const principal = entry.record.principal;
    this.#pendingByPrincipal.set(principal, (this.#pendingByPrincipal.get(principal) ?? 0) + added);
    this.#pendingTotal += added;
  }

  /** Forgets the entry's pending offsets (committed, dropped, or a new transaction opened). */
  #releasePending(entry: Entry): void {
    const count = pendingCount(entry);
    if (count === 0) return;
    for (const [groupId, keys] of entry.pendingOffsets) {
      const byGroup = this.#pendingByGroup.get(groupId);
      if (byGroup === undefined) continue;
      for (const k of keys) {
        const n = (byGroup.get(k) ?? 1) - 1;
        if (n > 0) byGroup.set(k, n);
        else byGroup.delete(k);
      }
      if (byGroup.size === 0) this.#pendingByGroup.delete(groupId);
    }
    entry.pendingOffsets.clear();
    const principal = entry.record.principal;
    const left = (this.#pendingByPrincipal.get(principal) ?? count) - count;
    if (left > 0) this.#pendingByPrincipal.set(principal, left);
    else this.#pendingByPrincipal.delete(principal);
    this.#pendingTotal -= count;
  }

  /** Pending offsets held broker-wide (for tests and metrics). */
  get pendingOffsetCount(): number {
    return this.#pendingTotal;
  }

  #stored(change: () => void): number {
    try {
      change();
      return ErrorCode.NONE;
    } catch (err) {
      this.#deps.logger.error({ err: String(err) }, 'the transaction state could not be stored');
      return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    }
  }

  /**
   * The produce guard (KIP-890's server-side defence, exact here because the coordinator is local): a
   * transactional batch is appended only for the current epoch of a producer whose open transaction
   * added the partition. Called by the log in the synchronous step of the append.
   */
  guard(topic: string, partition: number, producerId: bigint, producerEpoch: number): GuardRefusal | null {
    const entry = this.#byProducer.get(producerId);
    if (entry === undefined) return { kind: 'invalid-txn-state', message: `producer ${producerId} has no transactional id: it may not write transactional batches` };
    const record = entry.record;
    if (producerEpoch < record.producerEpoch) return { kind: 'fenced', message: `producer ${producerId} epoch ${producerEpoch} is fenced by epoch ${record.producerEpoch}` };
    if (producerEpoch > record.producerEpoch || record.state !== 'Ongoing' || !entry.partitionKeys.has(key(topic, partition))) {
      return { kind: 'invalid-txn-state', message: `partition ${topic}-${partition} is not part of an open transaction of producer ${producerId} epoch ${producerEpoch} (AddPartitionsToTxn first)` };
    }
    return null;
  }

  // ---- EndTxn ----------------------------------------------------------------------------------

  /**
   * EndTxn (Kafka's handleEndTransaction): PrepareCommit or PrepareAbort is stored, the markers written
   * and synced to every partition, the transaction's offsets committed or dropped with the final state,
   * then the answer. A retry of an ended transaction with the same outcome is answered NONE; the other
   * outcome is INVALID_TXN_STATE. Markers that cannot be written now (a full disk) leave the transaction
   * in its Prepare state, answered CONCURRENT_TRANSACTIONS: the client retries and the check timer too.
   */
  async endTransaction(ref: ProducerRef, commit: boolean): Promise<{ errorCode: number; reason?: string }> {
    const entry = this.#entries.get(ref.transactionalId);
    if (entry === undefined || entry.record.producerId !== ref.producerId) return { errorCode: ErrorCode.INVALID_PRODUCER_ID_MAPPING };
    if (entry.record.producerEpoch !== ref.producerEpoch) return { errorCode: ref.fencedCode, reason: 'an older instance of the producer (fenced)' };
    if (entry.busy) return { errorCode: ErrorCode.CONCURRENT_TRANSACTIONS };
    const state = entry.record.state;
    const wanted = commit ? 'Commit' : 'Abort';
    if (state === `Complete${wanted}`) return { errorCode: ErrorCode.NONE };
    if (state === `Prepare${wanted}`) return this.#ended(await this.#finishBusy(entry, commit));
    // Nothing open to abort: librdkafka 2.0.2 sends EndTxn(abort) after an AddPartitionsToTxn that was
    // refused (a topic it may not write), and takes INVALID_TXN_STATE as fatal; there is nothing to undo.
    if (state === 'Empty' && !commit) return { errorCode: ErrorCode.NONE };
    if (state !== 'Ongoing') return { errorCode: ErrorCode.INVALID_TXN_STATE, reason: `EndTxn(${wanted.toLowerCase()}) in state ${state}` };
    try {
      this.#save(entry, { state: `Prepare${wanted}` });
    } catch (err) {
      this.#deps.logger.error({ transactionalId: ref.transactionalId, err: String(err) }, 'EndTxn could not store the transaction state');
      return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
    }
    return this.#ended(await this.#finishBusy(entry, commit));
  }

  #ended(done: boolean): { errorCode: number; reason?: string } {
    return done ? { errorCode: ErrorCode.NONE } : { errorCode: ErrorCode.CONCURRENT_TRANSACTIONS, reason: 'the markers could not all be written yet' };
  }

  async #finishBusy(entry: Entry, commit: boolean): Promise<boolean> {
    entry.busy = true;
    try {
      return await this.#finish(entry, commit);
    } finally {
      entry.busy = false;
    }
  }

  /**
   * Writes the markers of a Prepare state and completes it. Idempotent: a partition that already has
   * its marker answers `no-transaction`, a deleted partition needs none. False (state kept) when a
   * marker or the final state could not be written.
   */
  async #finish(entry: Entry, commit: boolean): Promise<boolean> {
    const record = entry.record;
    const marker: MarkerToWrite = { producerId: record.producerId, producerEpoch: record.producerEpoch, commit, coordinatorEpoch: 0 };
    for (const p of record.partitions) {
      const outcome = await this.#deps.markers.appendMarker(p.topic, p.partition, marker);
      if (outcome.kind !== 'appended' && outcome.kind !== 'no-transaction' && outcome.kind !== 'unknown-partition') {
        this.#deps.logger.error(
          { transactionalId: record.transactionalId, partition: `${p.topic}-${p.partition}`, outcome: outcome.kind, reason: outcome.message },
          'a transaction marker could not be written: the transaction stays in its prepare state and is completed later',
        );
        return false;
      }
    }
    try {
      await this.#deps.markers.sync();
      const final: StoredTransaction = { ...record, state: commit ? 'CompleteCommit' : 'CompleteAbort', partitions: [], groups: [], startedMs: -1, updatedMs: this.#deps.scheduler.now() };
      const committed = this.#deps.store.completeTransaction(final, commit, final.updatedMs);
      entry.record = final;
      entry.partitionKeys.clear();
      this.#releasePending(entry);
      if (committed.length > 0) this.#deps.onOffsetsCommitted?.(committed, record.principal);
      return true;
    } catch (err) {
      this.#deps.logger.error({ transactionalId: record.transactionalId, err: String(err) }, 'a transaction could not be completed: it stays in its prepare state and is completed later');
      return false;
    }
  }

  // ---- timeouts and expiry -----------------------------------------------------------------------

  #scheduleCheck(): void {
    if (this.#closed) return;
    this.#timer = this.#deps.scheduler.schedule(() => {
      this.checkTimeouts().then(
        () => {
          this.#scheduleCheck();
        },
        (err: unknown) => {
          this.#deps.logger.error({ err: String(err) }, 'checking transaction timeouts failed');
          this.#scheduleCheck();
        },
      );
    }, this.#deps.settings.abortCheckIntervalMs);
  }

  /**
   * Aborts open transactions older than their timeout (fencing their producer, as Kafka's
   * abortTimedOutTransactions does), retries Prepare states whose markers failed, and forgets ids idle
   * past transactional.id.expiration.ms. Returns how many transactions were aborted.
   */
  async checkTimeouts(): Promise<number> {
    const now = this.#deps.scheduler.now();
    let aborted = 0;
    for (const entry of [...this.#entries.values()]) {
      if (entry.busy || this.#closed) continue;
      const record = entry.record;
      if (record.state === 'Ongoing' && now - record.startedMs > record.timeoutMs) {
        this.#deps.logger.warn(
          { transactionalId: record.transactionalId, producerId: String(record.producerId), startedMs: record.startedMs, timeoutMs: record.timeoutMs },
          'aborting a transaction open longer than its transaction.timeout.ms; its producer is fenced',
        );
        entry.busy = true;
        try {
          if (await this.#abortFencing(entry)) {
            aborted++;
            this.#deps.onTimedOut?.();
          }
        } catch (err) {
          this.#deps.logger.error({ transactionalId: record.transactionalId, err: String(err) }, 'a timed-out transaction could not be aborted yet');
        } finally {
          entry.busy = false;
        }
      } else if (record.state === 'PrepareCommit' || record.state === 'PrepareAbort') {
        await this.#finishBusy(entry, record.state === 'PrepareCommit');
      } else if (record.state !== 'Ongoing' && now - record.updatedMs > this.#deps.settings.idExpirationMs) {
        try {
          this.#deps.store.deleteTransaction(record.transactionalId);
          this.#remove(entry);
        } catch (err) {
          this.#deps.logger.error({ transactionalId: record.transactionalId, err: String(err) }, 'an expired transactional id could not be removed');
        }
      }
    }
    return aborted;
  }

  // ---- operators ------------------------------------------------------------------------------

  /** Counts for the metrics: ids by state, pending offsets, the age of the oldest open transaction. */
  stats(): { byState: Record<string, number>; pendingOffsets: number; oldestOpenMs: number } {
    const byState: Record<string, number> = {};
    let oldest = Infinity;
    for (const { record } of this.#entries.values()) {
      byState[record.state] = (byState[record.state] ?? 0) + 1;
      if (record.state === 'Ongoing' && record.startedMs < oldest) oldest = record.startedMs;
    }
    return { byState, pendingOffsets: this.#pendingTotal, oldestOpenMs: oldest === Infinity ? 0 : Math.max(0, this.#deps.scheduler.now() - oldest) };
  }

  describe(transactionalId: string): TransactionDescription | undefined {
    const record = this.#entries.get(transactionalId)?.record;
    if (record === undefined) return undefined;
    return {
      transactionalId,
      state: record.state,
      timeoutMs: record.timeoutMs,
      startedMs: record.startedMs,
      producerId: record.producerId,
      producerEpoch: record.producerEpoch,
      partitions: record.partitions,
    };
  }

  /**
   * ListTransactions: by state (Kafka's names; none = all), producer id (none = all) and, for open
   * transactions, running at least `minDurationMs` (KIP-994; −1 = any).
   */
  list(states: readonly string[], producerIds: readonly bigint[], minDurationMs: number): { transactionalId: string; producerId: bigint; state: TransactionStateName }[] {
    const now = this.#deps.scheduler.now();
    const out: { transactionalId: string; producerId: bigint; state: TransactionStateName }[] = [];
    for (const { record } of this.#entries.values()) {
      if (states.length > 0 && !states.includes(record.state)) continue;
      if (producerIds.length > 0 && !producerIds.includes(record.producerId)) continue;
      if (minDurationMs >= 0 && (record.startedMs < 0 || now - record.startedMs < minDurationMs)) continue;
      out.push({ transactionalId: record.transactionalId, producerId: record.producerId, state: record.state });
    }
    return out;
  }
}
