import type { Logger } from '../logger.js';
import { CompressionCodec } from '../records/compression.js';
import { buildBatchSync } from '../records/record.js';
import type { AppendOutcome } from '../storage/log-store.js';
import { AUDIT_TOPIC } from '../topics/internal-topics.js';
import type { TopicAdmin } from '../topics/topic-admin.js';

/** Lines per record batch of the topic, and the bytes one batch holds at most before it is cut. */
const MAX_LINES_PER_BATCH = 1000;
const MAX_BATCH_BYTES = 512 * 1024;
/** Lines waiting for the topic at most; past it the copy skips lines (the file keeps every one) and says how many. */
export const MAX_PENDING_TOPIC_LINES = 50_000;

interface Appender {
  append(topic: string, partition: number, records: Buffer | null): Promise<AppendOutcome>;
}

/**
 * The `__audit` topic: the audit file's lines, the same bytes (hash chain included), copied to a
 * topic that a SIEM connector reads with an ordinary Kafka consumer and a READ ACL. Lines arrive once
 * they are durable in the file (the file is the record; the topic is a copy for consumers). Nobody
 * can write to it through the protocol (src/server/stages/protected-topics.ts). It is encrypted at
 * rest like any topic. One partition: the events keep their order.
 */
export class AuditTopicCopy {
  readonly #logs: Appender;
  readonly #logger: Logger;
  #pending: string[] = [];
  #running: Promise<void> | undefined;
  #skipped = 0;

  constructor(logs: Appender, logger: Logger) {
    this.#logs = logs;
    this.#logger = logger;
  }

  /**
   * Creates the topic on the first start (kept topicRetentionMs), before any client connects. Returns
   * false, having logged why, when it cannot be: the file still records everything.
   */
  static ensureTopic(topics: TopicAdmin, retentionMs: number, logger: Logger): boolean {
    if (topics.get(AUDIT_TOPIC) !== undefined) return true;
    const created = topics.create(
      { name: AUDIT_TOPIC, numPartitions: 1, replicationFactor: -1, assignments: [], configs: { 'retention.ms': String(retentionMs), 'cleanup.policy': 'delete' } },
      false,
    );
    if (created.errorCode === 0) return true;
    logger.error({ event: 'audit-topic-unavailable', reason: created.errorMessage }, `the ${AUDIT_TOPIC} topic cannot be created: the audit trail is written to its files only`);
    return false;
  }

  /** Queues lines for the topic; they are appended in order, one batch after the other. */
  add(lines: readonly string[]): void {
    const room = MAX_PENDING_TOPIC_LINES - this.#pending.length;
    if (lines.length > room) this.#skipped += lines.length - Math.max(0, room);
    for (let i = 0; i < Math.min(lines.length, room); i++) this.#pending.push(lines[i] as string);
    this.#running ??= this.#drain().finally(() => {
      this.#running = undefined;
    });
  }

  /** Resolves once every line queued so far is in the topic (or could not be put there, which is logged). */
  async settled(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const lines = this.#takeBatch();
      const batch = buildBatchSync({ records: lines.map((value) => ({ value })), compression: CompressionCodec.lz4 });
      let outcome: AppendOutcome;
      try {
        outcome = await this.#logs.append(AUDIT_TOPIC, 0, batch);
      } catch (err) {
        outcome = { kind: 'unavailable', message: err instanceof Error ? err.message : String(err) };
      }
      if (outcome.kind !== 'appended' && outcome.kind !== 'duplicate') {
        this.#logger.error({ event: 'audit-topic-append-failed', lines: lines.length, reason: outcome.kind, detail: outcome.message }, `${lines.length} audit events could not be copied to ${AUDIT_TOPIC} (they are in the audit file)`);
      }
      if (this.#skipped > 0) {
        this.#logger.warn({ event: 'audit-topic-behind', skipped: this.#skipped }, `the ${AUDIT_TOPIC} topic fell behind: ${this.#skipped} audit events were not copied to it (they are in the audit file)`);
        this.#skipped = 0;
      }
    }
  }

  #takeBatch(): string[] {
    let bytes = 0;
    let n = 0;
    while (n < this.#pending.length && n < MAX_LINES_PER_BATCH) {
      bytes += (this.#pending[n] as string).length;
      if (n > 0 && bytes > MAX_BATCH_BYTES) break;
      n++;
    }
    return this.#pending.splice(0, n);
  }
}
