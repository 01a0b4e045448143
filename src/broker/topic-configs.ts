/**
 * The topic configs Parapet understands, with their defaults and validation. Unknown keys are refused
 * (INVALID_CONFIG) rather than silently stored: a typo in `retention.ms` must not pass as accepted.
 */
/** Kafka's ConfigType values reported by DescribeConfigs v3+. */
export const ConfigType = { INT: 3, LONG: 5, STRING: 2, LIST: 7 } as const;

export interface TopicConfigDef {
  readonly defaultValue: string;
  readonly type: (typeof ConfigType)[keyof typeof ConfigType];
  /** Returns why the value is invalid, or null. */
  readonly validate: (value: string) => string | null;
}

const longAtLeast = (min: bigint) => (value: string) => {
  if (!/^-?\d+$/.test(value)) return 'must be an integer';
  return BigInt(value) < min ? `must be at least ${min}` : null;
};
/** INT configs are int32 in Kafka (segment positions are int32 in the offset index). */
const intAtLeast = (min: bigint) => (value: string) => {
  const problem = longAtLeast(min)(value);
  if (problem !== null) return problem;
  return BigInt(value) > 2147483647n ? 'must be at most 2147483647' : null;
};
const oneOf = (...allowed: string[]) => (value: string) => (allowed.includes(value) ? null : `must be one of ${allowed.join(', ')}`);

export const TOPIC_CONFIGS: Readonly<Record<string, TopicConfigDef>> = {
  'retention.ms': { defaultValue: '604800000', type: ConfigType.LONG, validate: longAtLeast(-1n) },
  'retention.bytes': { defaultValue: '-1', type: ConfigType.LONG, validate: longAtLeast(-1n) },
  'segment.bytes': { defaultValue: '1073741824', type: ConfigType.INT, validate: intAtLeast(14n) },
  'segment.ms': { defaultValue: '604800000', type: ConfigType.LONG, validate: longAtLeast(1n) },
  // Compaction is not implemented: only `delete` is accepted.
  'cleanup.policy': { defaultValue: 'delete', type: ConfigType.LIST, validate: oneOf('delete') },
  'max.message.bytes': { defaultValue: '1048588', type: ConfigType.INT, validate: intAtLeast(0n) },
  'message.timestamp.type': { defaultValue: 'CreateTime', type: ConfigType.STRING, validate: oneOf('CreateTime', 'LogAppendTime') },
};

/** Checks a set of config changes; returns the first problem as a message, or null. */
export function validateTopicConfigs(configs: Readonly<Record<string, string>>): string | null {
  for (const [key, value] of Object.entries(configs)) {
    const def = TOPIC_CONFIGS[key];
    if (def === undefined) return `unknown topic config ${key}`;
    const problem = def.validate(value);
    if (problem !== null) return `${key} ${problem}`;
  }
  return null;
}
