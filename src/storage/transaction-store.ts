import type Database from 'better-sqlite3';
import { z } from 'zod';
import { ParapetError } from '../errors.js';
import type { CommittedOffset } from './offset-store.js';

/**
 * Where the transaction coordinator keeps its state across restarts (metadata store v11): one row per
 * transactional id (Kafka keeps the same in the __transaction_state topic) and the offsets committed
 * inside transactions that have not ended (Kafka keeps those as pending records in __consumer_offsets).
 * The coordinator (src/transactions/) gives the states meaning; storage keeps them as given.
 */

/** Kafka's TransactionState names, as stored. */
export const TRANSACTION_STATES = ['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort'] as const;
export type TransactionStateName = (typeof TRANSACTION_STATES)[number];

export interface StoredTransaction {
  readonly transactionalId: string;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  /** The epoch before the last bump (−1 when none): a retried InitProducerId or EndTxn may still carry it (KIP-360). */
  readonly lastProducerEpoch: number;
  readonly timeoutMs: number;
  readonly state: TransactionStateName;
  /** The partitions the ongoing (or completing) transaction wrote to, as AddPartitionsToTxn added them. */
  readonly partitions: readonly { readonly topic: string; readonly partition: number }[];
  /** The consumer groups whose offsets the transaction commits (AddOffsetsToTxn). */
  readonly groups: readonly string[];
  /** When the ongoing transaction began (its first AddPartitionsToTxn/AddOffsetsToTxn), ms since the epoch; −1 when none. */
  readonly startedMs: number;
  /** When the row last changed: an ended transactional id expires from here. */
  readonly updatedMs: number;
  /** Who holds the id (its first InitProducerId), for the per-principal bound. */
  readonly principal: string;
}

/** The offsets one transaction committed for one group, not visible to the group until it commits. */
export interface PendingGroupOffsets {
  readonly groupId: string;
  readonly offsets: readonly CommittedOffset[];
}

export interface TransactionStore {
  transactions(): StoredTransaction[];
  /** Stores (replaces) the row of `t.transactionalId`. */
  saveTransaction(t: StoredTransaction): void;
  /** Removes an expired transactional id and anything pending of it. */
  deleteTransaction(transactionalId: string): void;
  /** Adds (replacing per partition) offsets committed inside the transaction; all or none. */
  savePendingOffsets(transactionalId: string, groupId: string, offsets: readonly CommittedOffset[]): void;
  pendingOffsets(transactionalId: string): PendingGroupOffsets[];
  /**
   * Ends a transaction's offsets in one step with its new row: on commit they become the groups'
   * committed offsets (stamped `now`), on abort they are dropped; either way none stays pending.
   * Returns the offsets that were committed (empty on abort).
   */
  completeTransaction(t: StoredTransaction, commit: boolean, now: number): PendingGroupOffsets[];
}

/** The v11 tables; run inside the migration's transaction. */
export const TRANSACTION_SCHEMA_V11 = `
  CREATE TABLE transactions (
    transactional_id TEXT PRIMARY KEY,
    producer_id INTEGER NOT NULL,
    producer_epoch INTEGER NOT NULL,
    last_producer_epoch INTEGER NOT NULL,
    timeout_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    partitions TEXT NOT NULL,
    groups TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    principal TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE transaction_offsets (
    transactional_id TEXT NOT NULL REFERENCES transactions(transactional_id) ON DELETE CASCADE,
    group_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    committed_offset INTEGER NOT NULL,
    leader_epoch INTEGER NOT NULL,
    metadata TEXT,
    PRIMARY KEY (transactional_id, group_id, topic, partition)) WITHOUT ROWID;`;

interface TransactionRow {
  transactional_id: string;
  producer_id: bigint;
  producer_epoch: bigint;
  last_producer_epoch: bigint;
  timeout_ms: bigint;
  state: string;
  partitions: string;
  groups: string;
  started_ms: bigint;
  updated_ms: bigint;
  principal: string;
}

interface PendingRow {
  group_id: string;
  topic: string;
  partition: bigint;
  committed_offset: bigint;
  leader_epoch: bigint;
  metadata: string | null;
}

const PartitionsJson = z.array(z.tuple([z.string(), z.number().int().min(0)]));
const GroupsJson = z.array(z.string());

/** The SQLite implementation, sharing the metadata store's database (metadata-store.ts). */
export class TransactionTables implements TransactionStore {
  readonly #db: Database.Database;
  readonly #stmts;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#stmts = {
      // safeIntegers: producer ids are int64 and must not lose precision as JS numbers.
      all: db.prepare<[], TransactionRow>('SELECT * FROM transactions ORDER BY transactional_id').safeIntegers(true),
      // An upsert, not INSERT OR REPLACE: a replace deletes the row first, and the cascade would take
      // the transaction's pending offsets with it.
      upsert: db.prepare(
        `INSERT INTO transactions (transactional_id, producer_id, producer_epoch, last_producer_epoch, timeout_ms, state,
           partitions, groups, started_ms, updated_ms, principal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (transactional_id) DO UPDATE SET producer_id = excluded.producer_id, producer_epoch = excluded.producer_epoch,
           last_producer_epoch = excluded.last_producer_epoch, timeout_ms = excluded.timeout_ms, state = excluded.state,
           partitions = excluded.partitions, groups = excluded.groups, started_ms = excluded.started_ms,
           updated_ms = excluded.updated_ms, principal = excluded.principal`,
      ),
      delete: db.prepare('DELETE FROM transactions WHERE transactional_id = ?'),
      upsertPending: db.prepare(
        `INSERT OR REPLACE INTO transaction_offsets (transactional_id, group_id, topic, partition, committed_offset, leader_epoch, metadata)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      pending: db
        .prepare<[string], PendingRow>(
          `SELECT group_id, topic, partition, committed_offset, leader_epoch, metadata FROM transaction_offsets
           WHERE transactional_id = ? ORDER BY group_id, topic, partition`,
        )
        .safeIntegers(true),
      deletePending: db.prepare('DELETE FROM transaction_offsets WHERE transactional_id = ?'),
      commitOffset: db.prepare(
        `INSERT OR REPLACE INTO group_offsets (group_id, topic, partition, committed_offset, leader_epoch, metadata, commit_timestamp)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
    };
  }

  transactions(): StoredTransaction[] {
    return this.#stmts.all.all().map(toTransaction);
  }

  saveTransaction(t: StoredTransaction): void {
    this.#stmts.upsert.run(
      t.transactionalId,
      t.producerId,
      t.producerEpoch,
      t.lastProducerEpoch,
      t.timeoutMs,
      t.state,
      JSON.stringify(t.partitions.map((p) => [p.topic, p.partition])),
      JSON.stringify(t.groups),
      t.startedMs,
      t.updatedMs,
      t.principal,
    );
  }

  deleteTransaction(transactionalId: string): void {
    this.#stmts.delete.run(transactionalId);
  }

  savePendingOffsets(transactionalId: string, groupId: string, offsets: readonly CommittedOffset[]): void {
    this.#db.transaction(() => {
      for (const o of offsets) this.#stmts.upsertPending.run(transactionalId, groupId, o.topic, o.partition, o.offset, o.leaderEpoch, o.metadata);
    })();
  }

  pendingOffsets(transactionalId: string): PendingGroupOffsets[] {
    const byGroup = new Map<string, CommittedOffset[]>();
    for (const row of this.#stmts.pending.all(transactionalId)) {
      let offsets = byGroup.get(row.group_id);
      if (offsets === undefined) byGroup.set(row.group_id, (offsets = []));
      offsets.push({ topic: row.topic, partition: Number(row.partition), offset: row.committed_offset, leaderEpoch: Number(row.leader_epoch), metadata: row.metadata, commitTimestamp: -1 });
    }
    return [...byGroup].map(([groupId, offsets]) => ({ groupId, offsets }));
  }

  completeTransaction(t: StoredTransaction, commit: boolean, now: number): PendingGroupOffsets[] {
    return this.#db.transaction(() => {
      const pending = commit ? this.pendingOffsets(t.transactionalId) : [];
      for (const { groupId, offsets } of pending) {
        for (const o of offsets) this.#stmts.commitOffset.run(groupId, o.topic, o.partition, o.offset, o.leaderEpoch, o.metadata, now);
      }
      this.#stmts.deletePending.run(t.transactionalId);
      this.saveTransaction(t);
      return pending.map(({ groupId, offsets }) => ({ groupId, offsets: offsets.map((o) => ({ ...o, commitTimestamp: now })) }));
    })();
  }
}

function toTransaction(row: TransactionRow): StoredTransaction {
  const state = TRANSACTION_STATES.find((s) => s === row.state);
  const partitions = PartitionsJson.safeParse(JSON.parse(row.partitions) as unknown);
  const groups = GroupsJson.safeParse(JSON.parse(row.groups) as unknown);
  // A row this build cannot read is refused loudly: guessing a transaction's state could expose aborted records.
  if (state === undefined || !partitions.success || !groups.success) {
    throw new ParapetError('METADATA_ERROR', `the stored state of transactional id ${JSON.stringify(row.transactional_id)} is not readable`);
  }
  return {
    transactionalId: row.transactional_id,
    producerId: row.producer_id,
    producerEpoch: Number(row.producer_epoch),
    lastProducerEpoch: Number(row.last_producer_epoch),
    timeoutMs: Number(row.timeout_ms),
    state,
    partitions: partitions.data.map(([topic, partition]) => ({ topic, partition })),
    groups: groups.data,
    startedMs: Number(row.started_ms),
    updatedMs: Number(row.updated_ms),
    principal: row.principal,
  };
}
