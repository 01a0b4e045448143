import { join, resolve } from 'node:path';
import { DEFAULT_AUDIT_TRAIL } from './audit-trail.js';
import { defaultAuditSigningKeyFile } from './signing-key.js';

/** The audit trail's settings (docs/security/audit.md#configuration). */
export interface AuditConfig {
  /** On by default; `false` is insecure (nothing records who did what) and is warned about. */
  readonly enabled: boolean;
  /** Where the audit files go; default `<data dir>/audit`. */
  readonly dir?: string;
  /** `${file:…}` or `${env:…}` holding the Ed25519 checkpoint key; default `${file:<data dir>-keys/audit-signing.key}`. */
  readonly signingKey?: string;
  /**
   * INSECURE when true: while the trail cannot be written, admin changes and logins go on unrecorded.
   * By default the broker fails closed: it refuses them until the trail can be written again.
   */
  readonly allowInsecureFailOpen: boolean;
  /** A signed checkpoint at least this often while events are written. */
  readonly checkpointIntervalMs: number;
  /** An audit file is closed (with a checkpoint) and a new one begun at this size. */
  readonly maxFileBytes: number;
  /** Retention: at most this many files, none older than maxAgeMs (the newest is always kept). */
  readonly maxFiles: number;
  readonly maxAgeMs: number;
  /** Events waiting to be written at most (memory); past it what must be audited is refused, as when the disk fails. */
  readonly maxQueuedEvents: number;
  /** Reads and writes of each principal and topic are summed over this interval into one event. */
  readonly dataAccessIntervalMs: number;
  /** retention.ms of the `__audit` topic. */
  readonly topicRetentionMs: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export const DEFAULT_AUDIT_CONFIG: AuditConfig = {
  enabled: true,
  allowInsecureFailOpen: false,
  // The writer's own defaults: files, retention, checkpoints and its queue (audit-trail.ts).
  checkpointIntervalMs: DEFAULT_AUDIT_TRAIL.checkpointIntervalMs,
  maxFileBytes: DEFAULT_AUDIT_TRAIL.maxFileBytes,
  maxFiles: DEFAULT_AUDIT_TRAIL.maxFiles,
  maxAgeMs: DEFAULT_AUDIT_TRAIL.maxAgeMs,
  maxQueuedEvents: DEFAULT_AUDIT_TRAIL.maxQueuedEvents,
  dataAccessIntervalMs: 60_000,
  topicRetentionMs: 30 * DAY_MS,
};

export function auditDirOf(config: AuditConfig, dataDir: string): string {
  return config.dir ?? join(resolve(dataDir), 'audit');
}

export function auditSigningKeyRefOf(config: AuditConfig, dataDir: string): string {
  return config.signingKey ?? `\${file:${defaultAuditSigningKeyFile(resolve(dataDir))}}`;
}

/** The audit settings that weaken it: insecure by name, warned about at start and by check-config, and audited. */
export function auditWarnings(config: AuditConfig): { setting: string; detail: string }[] {
  const warnings: { setting: string; detail: string }[] = [];
  if (!config.enabled) warnings.push({ setting: 'audit.enabled=false', detail: 'no audit trail: nothing records who logged in, who was denied or who changed what' });
  if (config.enabled && config.allowInsecureFailOpen) {
    warnings.push({ setting: 'audit.allowInsecureFailOpen', detail: 'while the audit trail cannot be written, admin changes and logins go on unrecorded' });
  }
  return warnings;
}
