import type { QuotaKey } from './entities.js';
import type { RateWindow } from './windowed-rate.js';

/** The `quotas:` section of the config file (docs/security/network.md, "Quotas"), in the file's own layout. */
export interface QuotaConfig {
  /** Off: nothing is measured or throttled (warned about); AlterClientQuotas still stores settings. */
  readonly enabled: boolean;
  /** Length of one sample of the measuring window (Kafka's quota.window.size.seconds). */
  readonly windowSeconds: number;
  /** Samples in the window (Kafka's quota.window.num): rates are measured over windowSamples × windowSeconds. */
  readonly windowSamples: number;
  // Per user where no stored entity sets the key (0: no limit).
  readonly producerByteRate: number;
  readonly consumerByteRate: number;
  readonly requestPercentage: number;
  readonly controllerMutationRate: number;
  /** Most entities AlterClientQuotas may store. */
  readonly maxEntities: number;
  /** Most measures (one per user, client id or pair, per key) kept at once; the least recently used goes first. */
  readonly maxTrackedClients: number;
}

/**
 * On by default, with limits a well-behaved client of one broker rarely reaches (one Parapet process
 * moves a few hundred MB/s in all: a user producing 64 MiB/s or reading 128 MiB/s is a big one, and is
 * given a quota of its own by name) that still leave room for everyone else when one client tries to
 * take it all (docs/security/network.md#quotas): no single user gets
 * more than 70% of the event loop's request time, and topic churn is paced at 100 partitions/s after a
 * burst of 1,100 (one window's worth), which no deployment script comes near. Kafka's window: 11
 * samples of 1 s.
 */
export const DEFAULT_QUOTA_CONFIG: QuotaConfig = {
  enabled: true,
  windowSeconds: 1,
  windowSamples: 11,
  producerByteRate: 64 * 1024 * 1024,
  consumerByteRate: 128 * 1024 * 1024,
  requestPercentage: 70,
  controllerMutationRate: 100,
  maxEntities: 1000,
  maxTrackedClients: 10_000,
};

export function rateWindowOf(config: QuotaConfig): RateWindow {
  return { samples: config.windowSamples, sampleMs: config.windowSeconds * 1000 };
}

/** The config file's per-user defaults, by quota key. */
export function configDefaults(config: QuotaConfig): Readonly<Record<QuotaKey, number>> {
  return {
    producer_byte_rate: config.producerByteRate,
    consumer_byte_rate: config.consumerByteRate,
    request_percentage: config.requestPercentage,
    controller_mutation_rate: config.controllerMutationRate,
  };
}
