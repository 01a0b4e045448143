/**
 * The partition bounds must nest: a topic created without a count must fit in one topic, one topic in
 * the broker. Returns the problem, or null.
 */
export function storageLimitsProblem(config: {
  readonly defaultPartitions: number;
  readonly maxPartitionsPerTopic: number;
  readonly maxPartitions: number;
}): string | null {
  if (config.defaultPartitions > config.maxPartitionsPerTopic) {
    return `defaultPartitions (${config.defaultPartitions}) must not be more than maxPartitionsPerTopic (${config.maxPartitionsPerTopic})`;
  }
  if (config.maxPartitionsPerTopic > config.maxPartitions) {
    return `maxPartitionsPerTopic (${config.maxPartitionsPerTopic}) must not be more than maxPartitions (${config.maxPartitions})`;
  }
  return null;
}
