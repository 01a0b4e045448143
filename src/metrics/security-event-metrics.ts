import type { SecurityEvents } from '../security/events.js';
import type { BrokerMetrics } from './broker-metrics.js';

/**
 * The security event stream as metrics (fanned out beside the log and the audit trail): authentications
 * by mechanism and outcome, denials by principal and API, refused connections by reason. A denial
 * event stands for itself and the identical ones folded into it (`repeated`), so the counter counts
 * every denied request even though the log reports a repeating one once a second.
 */
export function metricsSecurityEvents(metrics: BrokerMetrics): SecurityEvents {
  return {
    emit(event) {
      switch (event.type) {
        case 'authentication-succeeded':
          metrics.authentication(event.mechanism, 'success');
          break;
        case 'authentication-failed':
          metrics.authentication(event.mechanism, 'failure');
          break;
        case 'authorization-denied':
          metrics.denial(event.principal, event.api, 1 + (event.repeated ?? 0));
          break;
        case 'connection-refused':
          metrics.connectionRefused(event.reason, 1 + (event.repeated ?? 0));
          break;
        // Counted where they happen (the login guard's loginRefused, the quota stage), not from these
        // rate-limited summaries.
        case 'login-refused':
        case 'login-guard-engaged':
        case 'quota-throttled':
        case 'admin-change':
        case 'admin-request':
        case 'insecure-setting':
        case 'principal-disabled':
        case 'principal-enabled':
        case 'lockdown-on':
        case 'lockdown-off':
        case 'lockdown-in-force':
        case 'backup-capture-taken':
        case 'backup-capture-released':
          break;
      }
    },
  };
}
