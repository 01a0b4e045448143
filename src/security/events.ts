import type { Logger } from '../logger.js';
import type { CloseReason } from '../close-reasons.js';
import type { LoginRefusal } from './login-guard/login-guard-config.js';
import type { Principal, SaslFailureReason } from './types.js';

/**
 * What the security layer reports: every authentication, denial, refused connection and admin change.
 * Today they go to the structured log; the tamper-evident audit log subscribes to the same stream.
 * No event carries a secret (passwords, tokens, salted keys): only names, reasons and addresses.
 */
export type SecurityEvent =
  | {
      readonly type: 'authentication-succeeded';
      readonly connection: number;
      readonly remote: string;
      readonly mechanism: string;
      readonly principal: Principal;
      readonly tls?: TlsDetails;
      readonly client?: ClientSoftware;
    }
  | {
      readonly type: 'authentication-failed';
      readonly connection: number;
      readonly remote: string;
      readonly mechanism: string;
      readonly reason: SaslFailureReason | CloseReason;
      readonly claimedUser?: string;
      /** Why, when the reason needs it (a disabled principal: since when, by whom, why). */
      readonly detail?: string;
      readonly tls?: TlsDetails;
      readonly client?: ClientSoftware;
    }
  | {
      readonly type: 'connection-refused';
      readonly connection?: number;
      readonly remote: string;
      readonly reason: CloseReason | 'TLS_HANDSHAKE_FAILED';
      readonly detail?: string;
      /** How many identical refusals (same address and reason) were folded into this event instead of reported one by one. */
      readonly repeated?: number;
    }
  | {
      readonly type: 'authorization-denied';
      readonly connection: number;
      readonly remote: string;
      readonly principal: Principal;
      readonly api: string;
      readonly resources: readonly string[];
      /** How many identical denials on this connection were not reported since the last one. */
      readonly repeated?: number;
    }
  | {
      readonly type: 'admin-change';
      readonly principal: Principal;
      readonly remote: string;
      /** What was asked: create-topics, alter-configs, create-acls, rotate-key… */
      readonly action: string;
      readonly detail: object;
      /** The resource changed, when the action names one (a topic, a group, a data key). */
      readonly resource?: { readonly type: string; readonly name: string };
      /** Absent: it was done. Otherwise the Kafka error it was refused with. */
      readonly error?: string;
    }
  | { readonly type: 'insecure-setting'; readonly setting: string; readonly detail: string }
  /** The broker listens: the security settings in force, and every insecure one. */
  | { readonly type: 'broker-started'; readonly version: string; readonly settings: object; readonly insecure: readonly string[] }
  | { readonly type: 'broker-stopped'; readonly reason: string }
  /** Who read or wrote a topic, summed per principal and topic over an interval (src/audit/data-access.ts). */
  | {
      readonly type: 'data-access';
      readonly principal: Principal;
      readonly topic: string;
      readonly operation: 'read' | 'write';
      readonly requests: number;
      readonly bytes: number;
      readonly from: number;
      readonly to: number;
    }
  /**
   * Logins the login guard refused without verifying them (docs/security/network.md#brute-force-defence):
   * the first of a source at once, then one event per interval with the `count` of the others.
   */
  | {
      readonly type: 'login-refused';
      /** `ip:port` of the latest refused connection (`*`: sources past the reporter's bound). */
      readonly remote: string;
      /** What the guard counts: the IPv4 address, or the IPv6 /64. */
      readonly source: string;
      readonly reason: LoginRefusal;
      readonly mechanism: string;
      readonly count: number;
      readonly claimedUser?: string;
      readonly connection?: number;
    }
  /** A source was blocked, or a user name guarded, by the login guard (once per block or guard period). */
  | {
      readonly type: 'login-guard-engaged';
      readonly scope: 'source' | 'user';
      readonly source: string;
      readonly remote: string;
      readonly mechanism: string;
      /** The failures that made it (the source's, or the user's from every source). */
      readonly failures: number;
      /** Until when (ms since the epoch). */
      readonly until: number;
      readonly claimedUser?: string;
    }
  /**
   * A request to an authenticated route of the admin HTTP endpoint (/v1/sessions…): who, what, and the
   * HTTP status it got (401: no valid credentials, 403: not allowed, 2xx: done). Never the credentials.
   */
  | {
      readonly type: 'admin-request';
      readonly remote: string;
      readonly principal?: Principal;
      readonly method: string;
      readonly path: string;
      readonly status: number;
      readonly detail?: string;
    }
  /**
   * A user over a client quota was throttled (src/server/stages/quota.ts): reported at most once a
   * minute per user, with how many more throttles it got since the last report and the longest.
   */
  | {
      readonly type: 'quota-throttled';
      readonly connection: number;
      readonly remote: string;
      readonly principal: Principal;
      readonly clientId: string;
      readonly api: string;
      /** The quota key that set the throttle: producer_byte_rate, request_percentage… */
      readonly quota: string;
      readonly throttleMs: number;
      /** Throttles of this user since its last report that were not reported, and the longest of them. */
      readonly repeated?: number;
      readonly maxRepeatedMs?: number;
    }
  /** The TLS certificate files were read again (a change seen by polling, or SIGHUP). */
  | { readonly type: 'certificate-reloaded'; readonly ok: boolean; readonly detail: string }
  /**
   * The listener's address lists and connection limits were read again (SIGHUP): applied (`ok`), or
   * refused with the old ones kept; `closed` open connections whose address is now denied.
   */
  | { readonly type: 'listener-policy-reloaded'; readonly ok: boolean; readonly detail: string; readonly closed: number }
  // Incident response (src/security/containment): who was shut out, by whom, why; `closed` live connections.
  /** `principal` disabled `target` (`parapet user disable`): its logins are refused, its connections closed. */
  | { readonly type: 'principal-disabled'; readonly principal: Principal; readonly remote: string; readonly target: Principal; readonly reason: string; readonly closed: number }
  /** `principal` enabled `target` again; `disabledSince`: when it had been disabled (ms since the epoch). */
  | { readonly type: 'principal-enabled'; readonly principal: Principal; readonly remote: string; readonly target: Principal; readonly disabledSince: number }
  /** `principal` put the broker in lockdown (`parapet lockdown on`): only super users may connect. */
  | { readonly type: 'lockdown-on'; readonly principal: Principal; readonly remote: string; readonly reason: string; readonly closed: number }
  /** `principal` lifted the lockdown that was on since `since`. */
  | { readonly type: 'lockdown-off'; readonly principal: Principal; readonly remote: string; readonly since: number }
  /** The broker started (or restarted) while in lockdown: reported at every start until it is lifted. */
  | { readonly type: 'lockdown-in-force'; readonly since: number; readonly by: Principal; readonly reason: string }
  // Backups (src/backup/capture): a capture lets its holder read every partition, so taking one is audited.
  /**
   * A backup capture was taken: `id`, what it holds (`partitions`, `files`, `bytes`) and when its lease
   * ends; `principal`/`remote` of the admin endpoint's caller.
   */
  | { readonly type: 'backup-capture-taken'; readonly principal: Principal; readonly remote: string; readonly id: string; readonly partitions: number; readonly files: number; readonly bytes: number; readonly leaseExpiresAtMs: number }
  /**
   * A backup capture's staging directory was removed: released by `principal` (its holder, done), its
   * lease expired, or the broker closed.
   */
  | { readonly type: 'backup-capture-released'; readonly id: string; readonly reason: 'released' | 'expired' | 'closed'; readonly principal?: Principal; readonly remote?: string };

/** The TLS session a client logged in over. */
export interface TlsDetails {
  readonly version: string;
  readonly cipher: string;
}

/** What the client said it is in ApiVersions v3+ (KIP-511), cut to a bound. */
export interface ClientSoftware {
  readonly name: string;
  readonly version: string;
}

export interface SecurityEvents {
  emit(event: SecurityEvent): void;
}

/** Writes each event to the log with `event: <type>`: failures at warn, logins and data access at debug, the rest at info. */
export function loggingSecurityEvents(logger: Logger): SecurityEvents {
  return {
    emit(event) {
      const { type, ...fields } = event;
      if (type === 'authentication-failed' || type === 'connection-refused' || type === 'insecure-setting' || type === 'login-refused' || type === 'login-guard-engaged' || (type === 'listener-policy-reloaded' && !event.ok) || (type === 'admin-request' && event.status >= 400) || type === 'lockdown-on' || type === 'lockdown-in-force') logger.warn({ event: type, ...fields }, `security: ${type}`);
      // Successful logins and data access are many and all in the audit trail: the log keeps them at debug.
      else if (type === 'authentication-succeeded' || type === 'data-access') logger.debug({ event: type, ...fields }, `security: ${type}`);
      else logger.info({ event: type, ...fields }, `security: ${type}`);
    },
  };
}

/** One stream to many sinks (the log, the audit trail, the metrics), in order. */
export function fanOutSecurityEvents(...sinks: readonly SecurityEvents[]): SecurityEvents {
  return {
    emit(event) {
      for (const sink of sinks) sink.emit(event);
    },
  };
}
