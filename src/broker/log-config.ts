import type { LogConfig } from '../storage/log/partition-log.js';
import { effectiveConfigValue, TOPIC_CONFIGS, type TopicConfigLimits } from './topic-configs.js';

/** A topic's configs as the data path uses them: numbers, with the topic's overrides over the defaults. */
export interface EffectiveTopicConfig extends LogConfig {
  readonly maxMessageBytes: number;
  /** message.timestamp.type=LogAppendTime: the broker stamps each batch with its own clock. */
  readonly logAppendTime: boolean;
}

/** The value obeyed for `key`: the override brought within today's range (see effectiveConfigValue), else the default. */
export function effectiveValue(overrides: Readonly<Record<string, string>>, key: string, limits: TopicConfigLimits): string {
  const set = overrides[key];
  const def = TOPIC_CONFIGS[key]?.defaultValue ?? '';
  return effectiveConfigValue(key, set ?? def, limits).value;
}

export function effectiveTopicConfig(overrides: Readonly<Record<string, string>>, limits: TopicConfigLimits): EffectiveTopicConfig {
  const value = (key: string): string => effectiveValue(overrides, key, limits);
  return {
    segmentBytes: Number(value('segment.bytes')),
    segmentMs: Number(value('segment.ms')),
    retentionMs: Number(value('retention.ms')),
    retentionBytes: Number(value('retention.bytes')),
    maxMessageBytes: Number(value('max.message.bytes')),
    logAppendTime: value('message.timestamp.type') === 'LogAppendTime',
  };
}

/** The stored overrides of a topic that are outside today's ranges, each with the value obeyed instead. */
export function outOfRangeConfigs(overrides: Readonly<Record<string, string>>, limits: TopicConfigLimits): string[] {
  return Object.entries(overrides).flatMap(([key, value]) => {
    const { problem } = effectiveConfigValue(key, value, limits);
    return problem === null ? [] : [problem];
  });
}
