import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { AdminEndpointConfig } from '../metrics/admin-endpoint-config.js';
import type { BrokerMetrics } from '../metrics/broker-metrics.js';
import type { ReadinessCheck } from '../metrics/readiness.js';
import type { CommittedSample, ScrapeSources } from '../metrics/scrape-sources.js';
import type { TlsFiles } from '../security/tls/tls-options.js';
import type { LogManager } from '../storage/log/log-manager.js';
import type { LogObserver } from '../storage/log/log-observer.js';
import type { OffsetStore } from '../storage/offset-store.js';

/** An append that failed on a file system error this recently keeps /readyz at 503 (storage-writable). */
export const WRITE_FAULT_NOT_READY_MS = 30_000;

/** The log manager's reports, as metrics. */
export function logObserverOf(metrics: BrokerMetrics): LogObserver {
  return {
    appended: (topic, bytes) => {
      metrics.bytesIn(topic, bytes);
    },
    fsync: (seconds, failed) => {
      metrics.fsync(seconds, failed);
    },
    storageError: (operation, code) => {
      metrics.storageError(operation, code);
    },
    topicDeleted: (topic) => {
      metrics.topicDeleted(topic);
    },
    cleaning: (outcome, bytesBefore, bytesAfter, recordsRemoved) => {
      metrics.cleaning(outcome, bytesBefore, bytesAfter, recordsRemoved);
    },
  };
}

/** What the scrape-time gauges read: the open partition logs, the committed offsets, the certificate files. */
export function brokerScrapeSources(deps: { logs: LogManager; offsets: OffsetStore; dataDir: string; tlsFiles: TlsFiles | undefined; adminEndpoint: AdminEndpointConfig }): ScrapeSources {
  const { logs, offsets, tlsFiles, adminEndpoint } = deps;
  const certificates = [
    ...(tlsFiles === undefined ? [] : [{ name: 'listener', file: tlsFiles.certFile }]),
    ...(tlsFiles?.caFile === undefined ? [] : [{ name: 'listener-client-ca', file: tlsFiles.caFile }]),
    ...(adminEndpoint.tls === undefined ? [] : [{ name: 'admin-endpoint', file: adminEndpoint.tls.certFile }]),
  ];
  return {
    dataDir: deps.dataDir,
    partitions: () => logs.openLogs(),
    *committedOffsets(): Iterable<CommittedSample> {
      for (const group of offsets.groupsWithOffsets()) {
        for (const c of offsets.fetchOffsets(group, null)) yield { group, topic: c.topic, partition: c.partition, offset: c.offset };
      }
    },
    logEndOffset: (topic, partition) => logs.openLog(topic, partition)?.logEndOffset,
    certificates: () => certificates,
  };
}

/** The broker's own conditions of /readyz. */
export function brokerReadinessChecks(deps: { listening: () => boolean; logs: LogManager; dataDir: string; metrics?: BrokerMetrics }): ReadinessCheck[] {
  const logsDir = join(deps.dataDir, 'logs');
  return [
    { name: 'listeners-up', ready: () => deps.listening() || 'the Kafka listener is not accepting connections' },
    {
      name: 'storage-writable',
      ready: () => {
        try {
          accessSync(logsDir, constants.W_OK);
        } catch (err) {
          return `${logsDir} is not writable (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
        }
        const since = deps.metrics?.msSinceWriteFault ?? Infinity;
        return since >= WRITE_FAULT_NOT_READY_MS || `an append failed on a file system error ${Math.round(since / 1000)} s ago`;
      },
    },
    {
      name: 'partitions-online',
      ready: () => {
        const offline: string[] = [];
        for (const log of deps.logs.openLogs()) if (log.offline !== null) offline.push(`${log.id.topic}-${log.id.partition}`);
        if (offline.length === 0) return true;
        return `${offline.length} partition(s) offline after a failed fsync: ${offline.slice(0, 5).join(', ')}${offline.length > 5 ? ', …' : ''}`;
      },
    },
  ];
}
