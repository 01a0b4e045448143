import type { AuditFs } from '../audit/audit-fs.js';
import { BrokerAudit, openAuditSigningKey } from '../audit/broker-audit.js';
import type { Logger } from '../logger.js';
import type { BrokerMetrics } from '../metrics/broker-metrics.js';
import type { SecurityEvent } from '../security/events.js';
import { productVersion } from '../version.js';
import type { BrokerConfig } from './broker.js';

/**
 * The broker's audit trail (docs/security/audit.md), or none when `audit.enabled` is false (insecure,
 * warned about). The signing key is opened now, so that a missing or unreadable one stops the start.
 * `report` takes the trail's own reports (data access sums), which go to every sink as any event does.
 */
export function createBrokerAudit(
  config: BrokerConfig,
  deps: { logger: Logger; metrics: BrokerMetrics | undefined; fs?: AuditFs },
  report: (event: SecurityEvent) => void,
): BrokerAudit | undefined {
  if (!config.audit.enabled) return undefined;
  const { metrics } = deps;
  return new BrokerAudit(
    {
      config: config.audit,
      dataDir: config.dataDir,
      signingKey: openAuditSigningKey(config.audit, config.dataDir, deps.logger),
      logger: deps.logger,
      // Audit times are the wall clock's, whatever clock the logs are given (tests move theirs).
      clock: Date.now,
      productVersion: productVersion(),
      ...(deps.fs === undefined ? {} : { fs: deps.fs }),
      ...(metrics === undefined
        ? {}
        : {
            onFault: () => {
              metrics.auditWriteFailed();
            },
          }),
    },
    { emit: report },
  );
}
