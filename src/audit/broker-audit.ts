import type { KeyObject } from 'node:crypto';
import { resolve } from 'node:path';
import type { Logger } from '../logger.js';
import type { SecurityEvent, SecurityEvents } from '../security/events.js';
import type { AuditStageDeps } from './stage-deps.js';
import type { AuditEvent } from './audit-event.js';
import { auditDirOf, auditSigningKeyRefOf, type AuditConfig } from './audit-config.js';
import { AuditTopicCopy } from './audit-topic.js';
import { AuditTrail } from './audit-trail.js';
import { DataAccessLedger } from './data-access.js';
import { toAuditEvents } from './ocsf.js';
import { defaultAuditSigningKeyFile, ensureAuditSigningKey, keyId, loadAuditSigningKey, publicKeyOf } from './signing-key.js';
import type { AuditFs } from './audit-fs.js';

/** Events reported before the trail is open (the settings checked while the broker is built) wait here, at most this many. */
const MAX_EARLY_EVENTS = 1000;

export interface BrokerAuditOptions {
  readonly config: AuditConfig;
  readonly dataDir: string;
  readonly signingKey: KeyObject;
  readonly logger: Logger;
  readonly clock: () => number;
  readonly productVersion: string;
  /** Every failed write of the trail (the metrics count them). */
  readonly onFault?: (err: Error) => void;
  /** The file system of the audit files (tests inject faults: a full disk). */
  readonly fs?: AuditFs;
}

/**
 * The broker's audit trail: security events become OCSF events (ocsf.ts), written to the hash-chained
 * file (audit-trail.ts) and, once durable there, copied to the `__audit` topic (audit-topic.ts). It
 * decides when the broker fails closed: while the file cannot be written, unless the insecure
 * fail-open option is set.
 */
export class BrokerAudit implements SecurityEvents {
  readonly #o: BrokerAuditOptions;
  readonly ledger: DataAccessLedger;
  #trail: AuditTrail | undefined;
  #early: AuditEvent[] = [];
  #earlyDropped = 0;
  #topic: AuditTopicCopy | undefined;

  constructor(options: BrokerAuditOptions, events: SecurityEvents) {
    this.#o = options;
    this.ledger = new DataAccessLedger({ events, intervalMs: options.config.dataAccessIntervalMs, clock: options.clock });
  }

  /** The signing key's id, which `parapet audit verify` prints: an auditor compares the two. */
  get keyId(): string {
    return keyId(publicKeyOf(this.#o.signingKey));
  }

  get dir(): string {
    return auditDirOf(this.#o.config, this.#o.dataDir);
  }

  emit(event: SecurityEvent): void {
    for (const e of toAuditEvents(event, { time: this.#o.clock(), productVersion: this.#o.productVersion })) this.#record(e);
  }

  #record(event: AuditEvent): void {
    if (this.#trail !== undefined) {
      this.#trail.record(event);
    } else if (this.#early.length < MAX_EARLY_EVENTS) {
      this.#early.push(event);
    } else {
      this.#earlyDropped++;
    }
  }

  /** Whether what must be audited is refused now: the file cannot be written, and the broker fails closed. */
  refuseUnaudited = (): boolean => this.#trail !== undefined && !this.#trail.writable && !this.#o.config.allowInsecureFailOpen;

  /** What the audit stage needs, its events going to `events` (the log, the trail and the metrics). */
  stageDeps(events: SecurityEvents): AuditStageDeps {
    return { events, access: this.ledger, refuseUnaudited: this.refuseUnaudited, durable: () => this.flush() };
  }

  /** Opens the file (continuing its chain) and writes what was reported while the broker was built. */
  async open(): Promise<void> {
    const { config, logger } = this.#o;
    this.#trail = await AuditTrail.open({
      dir: this.dir,
      signingKey: this.#o.signingKey,
      clock: this.#o.clock,
      maxFileBytes: config.maxFileBytes,
      maxFiles: config.maxFiles,
      maxAgeMs: config.maxAgeMs,
      checkpointIntervalMs: config.checkpointIntervalMs,
      maxQueuedEvents: config.maxQueuedEvents,
      ...(this.#o.fs === undefined ? {} : { fs: this.#o.fs }),
      onWritten: (lines) => this.#topic?.add(lines),
      onFault: (err) => {
        logger.error(
          { event: 'audit-write-failed', err: err.message, failClosed: !config.allowInsecureFailOpen },
          config.allowInsecureFailOpen
            ? 'the audit trail cannot be written: changes and logins go on UNRECORDED (audit.allowInsecureFailOpen)'
            : 'the audit trail cannot be written: admin changes and new logins are refused until it can (established connections keep working)',
        );
        this.#o.onFault?.(err);
      },
    });
    const early = this.#early;
    this.#early = [];
    for (const e of early) this.#trail.record(e);
    if (this.#earlyDropped > 0) logger.warn({ dropped: this.#earlyDropped }, 'audit events reported before the trail opened were more than it keeps: some were only logged');
    this.ledger.start();
    logger.info({ event: 'audit-trail-open', dir: this.dir, signingKeyId: this.keyId, failClosed: !config.allowInsecureFailOpen }, 'audit trail open');
  }

  /** Copies every line written from now on to the `__audit` topic (created on the first start). */
  copyToTopic(copy: AuditTopicCopy): void {
    this.#topic = copy;
  }

  get writable(): boolean {
    return this.#trail?.writable ?? false;
  }

  /** Resolves once every event recorded so far is durable in the file; rejects when it cannot be. */
  flush(): Promise<void> {
    return this.#trail?.flush() ?? Promise.resolve();
  }

  /** Reports the last data access sums, then closes the file with a signed checkpoint. */
  async close(): Promise<void> {
    this.ledger.close();
    const trail = this.#trail;
    if (trail === undefined) return;
    try {
      await trail.close();
    } catch (err) {
      this.#o.logger.error({ event: 'audit-close-failed', err: err instanceof Error ? err.message : String(err) }, 'the audit trail could not be closed cleanly');
    }
    await this.#topic?.settled();
  }
}

/**
 * The checkpoint signing key the config names. A broker started without `parapet init` (and without
 * `audit.signingKey`) creates one at the default place, beside the data directory, and says so.
 */
export function openAuditSigningKey(config: AuditConfig, dataDir: string, logger: Logger): KeyObject {
  if (config.signingKey === undefined) {
    const path = defaultAuditSigningKeyFile(resolve(dataDir));
    if (ensureAuditSigningKey(path)) {
      logger.warn({ signingKeyFile: path }, 'created the signing key of the audit trail: keep it apart from the audit files (whoever holds it can sign a rewritten trail); its public key is beside it');
    }
  }
  return loadAuditSigningKey(auditSigningKeyRefOf(config, dataDir));
}
