import type { LogConfig } from '../storage/log/partition-log.js';
import { TOPIC_CONFIGS } from './topic-configs.js';

/** A topic's configs as the data path uses them: numbers, with the topic's overrides over the defaults. */
export interface EffectiveTopicConfig extends LogConfig {
  readonly maxMessageBytes: number;
  /** message.timestamp.type=LogAppendTime: the broker stamps each batch with its own clock. */
  readonly logAppendTime: boolean;
}

export function effectiveTopicConfig(overrides: Readonly<Record<string, string>>): EffectiveTopicConfig {
  const value = (key: string): string => overrides[key] ?? TOPIC_CONFIGS[key]?.defaultValue ?? '';
  return {
    segmentBytes: Number(value('segment.bytes')),
    segmentMs: Number(value('segment.ms')),
    retentionMs: Number(value('retention.ms')),
    retentionBytes: Number(value('retention.bytes')),
    maxMessageBytes: Number(value('max.message.bytes')),
    logAppendTime: value('message.timestamp.type') === 'LogAppendTime',
  };
}
