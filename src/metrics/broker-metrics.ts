import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CloseReason } from '../close-reasons.js';
import type { RequestOutcome } from '../server/stages/metrics.js';
import { BoundedLabelValues } from './bounded-labels.js';
import { processMetricsRegistry } from './process-metrics.js';
import { RequestStats } from './request-stats.js';
import type { ScrapeSources } from './scrape-sources.js';
import { registerScrapeGauges } from './scrape-gauges.js';

export type { RequestOutcome };

/** Bounds of the labels whose values come from clients (docs/operations/monitoring.md, "Bounded labels"). */
export interface LabelBounds {
  /** Distinct principals in `parapet_authorization_denials_total`; beyond it, `other`. */
  readonly maxPrincipals: number;
  /** Distinct SASL mechanism names (a client may ask for any name); beyond it, `other`. */
  readonly maxMechanisms: number;
}

export const DEFAULT_LABEL_BOUNDS: LabelBounds = { maxPrincipals: 1000, maxMechanisms: 16 };

/**
 * Request latency buckets, in seconds: a produce on the page cache answers in tens of microseconds,
 * an acks=all one waits for an fsync (milliseconds), a long-polling fetch up to maxFetchWaitMs.
 */
const REQUEST_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** fsync buckets: an SSD syncs in well under a millisecond, a busy disk in tens, a failing one in seconds. */
const FSYNC_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];

/** A counter's collect: its series become the totals of `totals`, by topic. */
function topicTotals(totals: ReadonlyMap<string, number>) {
  return function (this: Counter<'topic'>): void {
    this.reset();
    for (const [topic, bytes] of totals) this.inc({ topic }, bytes);
  };
}

/**
 * Every metric of one broker, in a registry of its own (several brokers share a test process, and a
 * process-wide registry would mix them). The broker gets it through its deps and hands it to what
 * reports: the request stage, the listener, the log manager's observer, the security event sink.
 * Metric names follow Prometheus' conventions: `parapet_` prefix, units in the name, `_total` counters.
 */
export class BrokerMetrics {
  readonly registry = new Registry();
  readonly #requests: RequestStats;
  /** Bytes by topic since the start; at most one entry per topic (topics are bounded by maxPartitions). */
  readonly #topicBytesIn = new Map<string, number>();
  readonly #topicBytesOut = new Map<string, number>();
  readonly #connections: Gauge<'listener'>;
  readonly #accepted: Counter<'listener'>;
  readonly #closed: Counter<'listener' | 'reason'>;
  readonly #refused: Counter<'reason'>;
  readonly #authentications: Counter<'mechanism' | 'outcome'>;
  readonly #denials: Counter<'principal' | 'api'>;
  readonly #throttled: Counter;
  readonly #loginRefusals: Counter<'reason'>;
  readonly #loginDelays: Counter;
  readonly #throttleSeconds: Counter;
  readonly #fsync: Histogram;
  readonly #fsyncErrors: Counter;
  readonly #storageErrors: Counter<'operation' | 'code'>;
  readonly #cleanings: Counter<'outcome'>;
  readonly #cleanedBytes: Counter;
  readonly #reclaimedBytes: Counter;
  readonly #removedRecords: Counter;
  readonly #transactionsTimedOut: Counter;
  readonly #maskedRecords: Counter<'outcome'>;
  readonly #maskingRefusedPartitions: Counter;
  readonly #validationRefused: Counter<'reason'>;
  readonly #auditFailures: Counter;
  readonly #principals: BoundedLabelValues;
  readonly #mechanisms: BoundedLabelValues;
  /** The process's metrics (event-loop lag, GC…), shared by every broker of the process. */
  readonly #process: Registry | undefined;
  #auditWritable: Gauge | undefined;
  /** When a write to the logs last failed (ms, performance.now()); readiness looks at it. */
  #lastWriteFaultAt = -Infinity;

  constructor(options: { labelBounds?: LabelBounds; processMetrics?: boolean } = {}) {
    const bounds = options.labelBounds ?? DEFAULT_LABEL_BOUNDS;
    this.#principals = new BoundedLabelValues(bounds.maxPrincipals);
    this.#mechanisms = new BoundedLabelValues(bounds.maxMechanisms);
    const registers = [this.registry];
    this.#requests = new RequestStats(this.registry, REQUEST_BUCKETS);
    const bytesIn = this.#topicBytesIn;
    const bytesOut = this.#topicBytesOut;
    // Added up in plain maps on every append and fetch, handed to the counters at each scrape.
    new Counter({ name: 'parapet_topic_bytes_in_total', help: 'Record batch bytes appended to a topic by producers', labelNames: ['topic'], registers, collect: topicTotals(bytesIn) });
    new Counter({ name: 'parapet_topic_bytes_out_total', help: 'Record batch bytes of a topic sent to consumers in Fetch responses', labelNames: ['topic'], registers, collect: topicTotals(bytesOut) });
    this.#connections = new Gauge({ name: 'parapet_connections', help: 'Client connections open now, by listener', labelNames: ['listener'], registers });
    this.#accepted = new Counter({ name: 'parapet_connections_accepted_total', help: 'Client connections accepted, by listener', labelNames: ['listener'], registers });
    this.#closed = new Counter({ name: 'parapet_connections_closed_total', help: 'Client connections closed, by listener and close reason', labelNames: ['listener', 'reason'], registers });
    this.#refused = new Counter({ name: 'parapet_connections_refused_total', help: 'Connections refused (address lists, connection limits and rates, TLS handshake, client certificate, login deadline), by reason', labelNames: ['reason'], registers });
    this.#authentications = new Counter({ name: 'parapet_authentications_total', help: 'Authentications, by mechanism and outcome (success, failure)', labelNames: ['mechanism', 'outcome'], registers });
    this.#denials = new Counter({ name: 'parapet_authorization_denials_total', help: 'Requests (or parts of them) refused by the ACLs, by principal and API', labelNames: ['principal', 'api'], registers });
    this.#throttled = new Counter({ name: 'parapet_throttled_requests_total', help: 'Requests answered with a throttle time by a client quota, by API', labelNames: ['api'], registers });
    this.#throttleSeconds = new Counter({ name: 'parapet_throttle_seconds_total', help: 'Throttle time handed to clients by the quotas (their connections muted that long), in seconds', registers });
    this.#loginRefusals = new Counter({ name: 'parapet_login_refusals_total', help: 'Logins the login guard refused without verifying them, by reason (source-blocked, source-throttled, user-guarded)', labelNames: ['reason'], registers });
    this.#loginDelays = new Counter({ name: 'parapet_login_delays_total', help: 'Logins the login guard made wait because their source had spent its free budget of failures', registers });
    this.#fsync = new Histogram({ name: 'parapet_fsync_duration_seconds', help: 'Duration of each fsync of a partition log file', buckets: FSYNC_BUCKETS, registers });
    this.#fsyncErrors = new Counter({ name: 'parapet_fsync_errors_total', help: 'fsyncs of partition log files that failed (the partition goes offline)', registers });
    this.#storageErrors = new Counter({ name: 'parapet_storage_errors_total', help: 'File system errors of the partition logs, by operation and error code (ENOSPC, EIO, EMFILE…)', labelNames: ['operation', 'code'], registers });
    this.#cleanings = new Counter({ name: 'parapet_log_cleaner_cleanings_total', help: 'Cleanings of compacted partitions, by outcome (cleaned, interrupted, refused)', labelNames: ['outcome'], registers });
    this.#cleanedBytes = new Counter({ name: 'parapet_log_cleaner_cleaned_bytes_total', help: 'Bytes of rolled segments the compaction cleaner rewrote (their size before)', registers });
    this.#reclaimedBytes = new Counter({ name: 'parapet_log_cleaner_reclaimed_bytes_total', help: 'Bytes compaction removed from the logs', registers });
    this.#transactionsTimedOut = new Counter({ name: 'parapet_transactions_timed_out_total', help: 'Transactions the coordinator aborted because they stayed open past their transaction.timeout.ms', registers });
    this.#removedRecords = new Counter({ name: 'parapet_log_cleaner_removed_records_total', help: 'Records compaction removed (replaced by a newer record of their key, expired tombstones, records without a key)', registers });
    this.#maskedRecords = new Counter({ name: 'parapet_masking_records_total', help: 'Records of masked partitions sent to consumers, by outcome: masked (fields masked), failed_closed (key or value replaced whole: unreadable, unknown schema, or a rule its schema refuses)', labelNames: ['outcome'], registers });
    this.#maskingRefusedPartitions = new Counter({ name: 'parapet_masking_refused_partitions_total', help: 'Fetched partitions answered CORRUPT_MESSAGE because their batches could not be read for masking', registers });
    this.#validationRefused = new Counter({ name: 'parapet_validation_refused_records_total', help: 'Produced records found bad by schema validation (their partition refused with INVALID_RECORD), by reason', labelNames: ['reason'], registers });
    this.#auditFailures = new Counter({ name: 'parapet_audit_write_failures_total', help: 'Audit records that could not be written', registers });
    this.#process = options.processMetrics === false ? undefined : processMetricsRegistry();
  }

  /** The label children of one API, made on its first request. */
  /** One request answered (or its connection closed) after `seconds`. */
  request(api: string, outcome: RequestOutcome, seconds: number): void {
    this.#requests.record(api, outcome, seconds);
  }

  bytesIn(topic: string, bytes: number): void {
    this.#topicBytesIn.set(topic, (this.#topicBytesIn.get(topic) ?? 0) + bytes);
  }

  bytesOut(topic: string, bytes: number): void {
    this.#topicBytesOut.set(topic, (this.#topicBytesOut.get(topic) ?? 0) + bytes);
  }

  /** A topic was deleted: its series go (a re-created topic of the same name starts from zero). */
  topicDeleted(topic: string): void {
    this.#topicBytesIn.delete(topic);
    this.#topicBytesOut.delete(topic);
  }

  connectionOpened(listener: string): void {
    this.#connections.labels(listener).inc();
    this.#accepted.labels(listener).inc();
  }

  connectionClosed(listener: string, reason: CloseReason): void {
    this.#connections.labels(listener).dec();
    this.#closed.labels(listener, reason).inc();
  }

  connectionRefused(reason: string, count = 1): void {
    this.#refused.labels(reason).inc(count);
  }

  authentication(mechanism: string, outcome: 'success' | 'failure'): void {
    this.#authentications.labels(this.#mechanisms.of(mechanism), outcome).inc();
  }

  /** `count` denials of `principal` (bounded: see {@link LabelBounds}) on `api`. */
  denial(principal: string, api: string, count = 1): void {
    this.#denials.labels(this.#principals.of(principal), api).inc(count);
  }

  /** A request throttled by a quota (src/server/stages/quota.ts), by API, with its throttle time. */
  throttled(api: string, ms: number): void {
    this.#throttled.labels(api).inc();
    this.#throttleSeconds.inc(ms / 1000);
  }

  /** A login refused unverified by the login guard (src/security/login-guard). */
  loginRefused(reason: string): void {
    this.#loginRefusals.labels(reason).inc();
  }

  loginDelayed(): void {
    this.#loginDelays.inc();
  }

  /** `parapet_login_blocked_sources` and `parapet_login_guarded_users`, read from the guard at each scrape. */
  watchLoginGuard(stats: () => { blockedSources: number; guardedUsers: number }): void {
    const registers = [this.registry];
    new Gauge({ name: 'parapet_login_blocked_sources', help: 'Source addresses (IPv6: /64) the login guard blocks now', registers, collect() { this.set(stats().blockedSources); } });
    new Gauge({ name: 'parapet_login_guarded_users', help: 'User names the login guard guards now (verified only from trusted or clean sources)', registers, collect() { this.set(stats().guardedUsers); } });
  }

  /** `parapet_access_log_entries` and `parapet_access_log_dropped_total`, read from the access log at each scrape. */
  watchAccessLog(stats: () => { entries: number; dropped: number }): void {
    const registers = [this.registry];
    new Gauge({ name: 'parapet_access_log_entries', help: 'Observed access tuples the access log keeps (least-privilege advisor)', registers, collect() { this.set(stats().entries); } });
    new Counter({
      name: 'parapet_access_log_dropped_total',
      help: 'Observations the access log dropped to stay within accessLog.maxEntries, maxEntriesPerPrincipal and maxPrincipals',
      registers,
      collect() {
        this.reset();
        this.inc(stats().dropped);
      },
    });
  }

  fsync(seconds: number, failed: boolean): void {
    this.#fsync.observe(seconds);
    if (failed) this.#fsyncErrors.inc();
  }

  /** A file system error of the logs (`operation`: append, open, retention…; `code`: the errno name). */
  storageError(operation: string, code: string): void {
    this.#storageErrors.labels(operation, code).inc();
    if (operation === 'append') this.#lastWriteFaultAt = performance.now();
  }

  /** The compaction cleaner finished with a partition (see LogObserver.cleaning). */
  cleaning(outcome: string, bytesBefore: number, bytesAfter: number, recordsRemoved: number): void {
    this.#cleanings.labels(outcome).inc();
    this.#cleanedBytes.inc(bytesBefore);
    this.#reclaimedBytes.inc(Math.max(0, bytesBefore - bytesAfter));
    this.#removedRecords.inc(recordsRemoved);
  }

  /** What the masking stage did for one topic of one fetch (src/server/stages/record-masking.ts). */
  masked(maskedRecords: number, failedClosed: number, refusedPartitions: number): void {
    if (maskedRecords > 0) this.#maskedRecords.labels('masked').inc(maskedRecords);
    if (failedClosed > 0) this.#maskedRecords.labels('failed_closed').inc(failedClosed);
    if (refusedPartitions > 0) this.#maskingRefusedPartitions.inc(refusedPartitions);
  }

  /** Records schema validation found bad, by reason (src/server/stages/record-validation.ts). */
  validationRefused(reasons: Readonly<Partial<Record<string, number>>>): void {
    for (const [reason, n] of Object.entries(reasons)) if (n !== undefined && n > 0) this.#validationRefused.labels(reason).inc(n);
  }

  /** The transaction coordinator aborted a transaction open past its timeout. */
  transactionTimedOut(): void {
    this.#transactionsTimedOut.inc();
  }

  /**
   * The transaction coordinator's gauges, read at each scrape: transactional ids by state, the offsets
   * open transactions hold, and the age of the oldest open transaction (what holds a last stable
   * offset back: read_committed consumers wait for it).
   */
  watchTransactions(stats: () => TransactionStats): void {
    new Gauge({
      name: 'parapet_transactions',
      help: 'Transactional ids the coordinator holds, by the state of their transaction',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [state, count] of Object.entries(stats().byState)) this.labels(state).set(count);
      },
    });
    new Gauge({
      name: 'parapet_transaction_pending_offsets',
      help: 'Offsets committed inside open transactions, not yet visible to their groups',
      registers: [this.registry],
      collect() {
        this.set(stats().pendingOffsets);
      },
    });
    new Gauge({
      name: 'parapet_transaction_oldest_open_seconds',
      help: 'How long the oldest open transaction has been open (0 when none is)',
      registers: [this.registry],
      collect() {
        this.set(stats().oldestOpenMs / 1000);
      },
    });
  }

  /** How long ago (ms) an append last failed on a file system error; Infinity when never. */
  get msSinceWriteFault(): number {
    return performance.now() - this.#lastWriteFaultAt;
  }

  /** An audit record could not be written (the audit trail calls this). */
  auditWriteFailed(): void {
    this.#auditFailures.inc();
  }

  /** `parapet_audit_writable`: 1 while `writable()` says so, read at each scrape (the audit trail sets it). */
  setAuditWritable(writable: () => boolean): void {
    if (this.#auditWritable !== undefined) this.registry.removeSingleMetric('parapet_audit_writable');
    this.#auditWritable = new Gauge({
      name: 'parapet_audit_writable',
      help: '1 while the audit trail can be written, 0 when it cannot',
      registers: [this.registry],
      collect() {
        this.set(writable() ? 1 : 0);
      },
    });
  }

  /** Registers the gauges read at scrape time from the broker's objects (partitions, lag, certificates, disk). */
  watch(sources: ScrapeSources): void {
    registerScrapeGauges(this.registry, sources);
  }

  /** The exposition text of every metric (what GET /metrics answers). */
  async metrics(): Promise<string> {
    const own = await this.registry.metrics();
    return this.#process === undefined ? own : `${own}\n${await this.#process.metrics()}`;
  }

  /** The names of every metric exposed (the broker's and the process's). */
  metricNames(): string[] {
    const registries = this.#process === undefined ? [this.registry] : [this.registry, this.#process];
    return registries.flatMap((r) => r.getMetricsAsArray().map((m) => m.name));
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** What the transaction coordinator reports at each scrape (see BrokerMetrics.watchTransactions). */
export interface TransactionStats {
  readonly byState: Readonly<Record<string, number>>;
  readonly pendingOffsets: number;
  /** 0 when no transaction is open. */
  readonly oldestOpenMs: number;
}
