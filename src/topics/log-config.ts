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

/** The stored overrides of a topic that are outside today's ranges, each with the value obeyed instead. */
export function outOfRangeConfigs(overrides: Readonly<Record<string, string>>, limits: TopicConfigLimits): string[] {
  return Object.entries(overrides).flatMap(([key, value]) => {
    const { problem } = effectiveConfigValue(key, value, limits);
    return problem === null ? [] : [problem];
  });
}
