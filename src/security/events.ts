import type { Logger } from '../logger.js';
import type { CloseReason } from '../close-reasons.js';
import type { Principal, SaslFailureReason } from './types.js';

/**
 * What the security layer reports: every authentication, denial, refused connection and admin change.
 * Today they go to the structured log; the tamper-evident audit log subscribes to the same stream.
 * No event carries a secret (passwords, tokens, salted keys): only names, reasons and addresses.
 */
export type SecurityEvent =
  | { readonly type: 'authentication-succeeded'; readonly connection: number; readonly remote: string; readonly mechanism: string; readonly principal: Principal }
  | {
      readonly type: 'authentication-failed';
      readonly connection: number;
      readonly remote: string;
      readonly mechanism: string;
      readonly reason: SaslFailureReason | CloseReason;
      readonly claimedUser?: string;
    }
  | { readonly type: 'connection-refused'; readonly connection?: number; readonly remote: string; readonly reason: CloseReason | 'TLS_HANDSHAKE_FAILED'; readonly detail?: string }
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
  | { readonly type: 'admin-change'; readonly principal: Principal; readonly remote: string; readonly action: string; readonly detail: object }
  | { readonly type: 'insecure-setting'; readonly setting: string; readonly detail: string };

export interface SecurityEvents {
  emit(event: SecurityEvent): void;
}

/** Writes each event to the log with `event: <type>`: failures and denials at warn, the rest at info. */
export function loggingSecurityEvents(logger: Logger): SecurityEvents {
  return {
    emit(event) {
      const { type, ...fields } = event;
      const warn = type === 'authentication-failed' || type === 'connection-refused' || type === 'insecure-setting';
      if (warn) logger.warn({ event: type, ...fields }, `security: ${type}`);
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
