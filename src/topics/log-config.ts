import { CompressionCodec } from '../records/compression.js';
import type { LogConfig } from '../storage/log/log-config.js';
import { effectiveConfigValue, TOPIC_CONFIGS, type TopicConfigLimits } from './topic-configs.js';

/** The value obeyed for `key`: the override brought within today's range (see effectiveConfigValue), else the default. */
export function effectiveValue(overrides: Readonly<Record<string, string>>, key: string, limits: TopicConfigLimits): string {
  const set = overrides[key];
  const def = TOPIC_CONFIGS[key]?.defaultValue ?? '';
  return effectiveConfigValue(key, set ?? def, limits).value;
}

/** A topic's configs as the data path uses them: numbers, with the topic's overrides over the defaults. */
export function effectiveTopicConfig(overrides: Readonly<Record<string, string>>, limits: TopicConfigLimits): LogConfig {
  const value = (key: string): string => effectiveValue(overrides, key, limits);
  return {
    segmentBytes: Number(value('segment.bytes')),
    segmentMs: Number(value('segment.ms')),
    retentionMs: Number(value('retention.ms')),
    retentionBytes: Number(value('retention.bytes')),
    maxMessageBytes: Number(value('max.message.bytes')),
    logAppendTime: value('message.timestamp.type') === 'LogAppendTime',
    encrypted: value('encryption') !== 'none',
    deleteRetention: value('cleanup.policy').includes('delete'),
    ...codecOf(value('compression.type')),
    timestampBounds: timestampBounds(overrides, value),
    ...(value('cleanup.policy').includes('compact')
      ? {
          compaction: {
            minCleanableDirtyRatio: Number(value('min.cleanable.dirty.ratio')),
            minCompactionLagMs: Number(value('min.compaction.lag.ms')),
            maxCompactionLagMs: Number(value('max.compaction.lag.ms')),
            deleteRetentionMs: Number(value('delete.retention.ms')),
          },
        }
      : {}),
  };
}

/** compression.type as the log takes it: a codec id, or nothing for `producer`. */
function codecOf(name: string): { compression?: number } {
  if (name === 'uncompressed') return { compression: CompressionCodec.none };
  return Object.hasOwn(CompressionCodec, name) ? { compression: CompressionCodec[name as keyof typeof CompressionCodec] } : {};
}

/** Milliseconds as the log compares them: Long.MAX (Kafka's "no bound") and anything past 2^53 are Infinity. */
const bound = (ms: string): number => (Number(ms) >= Number.MAX_SAFE_INTEGER ? Infinity : Number(ms));

/**
 * The timestamp bounds (KIP-937). The deprecated message.timestamp.difference.max.ms stands for
 * whichever bound the topic does not set itself, as Kafka 3.6–3.9 let it (LogConfig falls back to it
 * while the new config is at its default).
 */
function timestampBounds(overrides: Readonly<Record<string, string>>, value: (key: string) => string): { beforeMs: number; afterMs: number } {
  const difference = overrides['message.timestamp.difference.max.ms'] === undefined ? undefined : value('message.timestamp.difference.max.ms');
  const pick = (key: string) => (overrides[key] !== undefined || difference === undefined ? value(key) : difference);
  return { beforeMs: bound(pick('message.timestamp.before.max.ms')), afterMs: bound(pick('message.timestamp.after.max.ms')) };
}

/** The stored overrides of a topic that are outside today's ranges, each with the value obeyed instead. */
export function outOfRangeConfigs(overrides: Readonly<Record<string, string>>, limits: TopicConfigLimits): string[] {
  return Object.entries(overrides).flatMap(([key, value]) => {
    const { problem } = effectiveConfigValue(key, value, limits);
    return problem === null ? [] : [problem];
  });
}
