/**
 * The topic configs Parapet understands, with their defaults and ranges. Unknown keys are refused
 * (INVALID_CONFIG) rather than silently stored: a typo in `retention.ms` must not pass as accepted.
 *
 * The ranges are Kafka's (LogConfig's validators) except where Kafka's let one topic owner exhaust the
 * broker: segment.bytes=14 rolls a segment per batch (a file each, KIP-1030 raised Kafka 4.0's minimum
 * to 1 MiB for this reason), segment.ms=1 rolls on every append (KIP-1030 plans 1 minute for Kafka 5.0).
 * Those minimums are broker settings ({@link TopicConfigLimits}), as is the ceiling of
 * max.message.bytes: a batch larger than the broker's frame limit can never arrive.
 */
/** Kafka's ConfigType values reported by DescribeConfigs v3+. */
export const ConfigType = { BOOLEAN: 1, STRING: 2, INT: 3, LONG: 5, DOUBLE: 6, LIST: 7 } as const;

/** The broker settings that bound topic configs (docs/topics.md, "Config ranges"). */
export interface TopicConfigLimits {
  /** Smallest segment.bytes a topic may set (the broker's minSegmentBytes). */
  readonly minSegmentBytes: number;
  /** Smallest segment.ms a topic may set (the broker's minSegmentMs). */
  readonly minSegmentMs: number;
  /** Largest max.message.bytes a topic may set: the broker's maxFrameBytes. */
  readonly maxMessageBytes: number;
}

/** Parapet's defaults of the limits (the broker's minSegmentBytes, minSegmentMs and maxFrameBytes defaults). */
export const DEFAULT_TOPIC_CONFIG_LIMITS: TopicConfigLimits = { minSegmentBytes: 1024 * 1024, minSegmentMs: 60_000, maxMessageBytes: 100 * 1024 * 1024 };

/** Kafka's own floors: what the broker settings may be lowered to (tests of segment rolls use them). */
export const KAFKA_SEGMENT_BYTES_MIN = 14;
export const KAFKA_SEGMENT_MS_MIN = 1;

const INT32_MAX = 2147483647n;
/** The value of the topic config `encryption` that seals batches at rest. */
export const ENCRYPTED = 'aes-256-gcm';
const INT64_MAX = 9223372036854775807n;

interface NumericRange {
  readonly min: bigint;
  readonly max: bigint;
  /** The broker setting that moves the bound, named in the message. */
  readonly minSetting?: string;
  readonly maxSetting?: string;
}

export interface TopicConfigDef {
  readonly defaultValue: string;
  readonly type: (typeof ConfigType)[keyof typeof ConfigType];
  /** INT and LONG configs: the accepted range, under the broker's limits. */
  readonly range?: (limits: TopicConfigLimits) => NumericRange;
  /** DOUBLE configs: the accepted closed interval. */
  readonly fraction?: { readonly min: number; readonly max: number };
  /** STRING and LIST configs: the accepted values. */
  readonly allowed?: readonly string[];
}

export const TOPIC_CONFIGS: Readonly<Record<string, TopicConfigDef>> = {
  'retention.ms': { defaultValue: '604800000', type: ConfigType.LONG, range: () => ({ min: -1n, max: INT64_MAX }) },
  'retention.bytes': { defaultValue: '-1', type: ConfigType.LONG, range: () => ({ min: -1n, max: INT64_MAX }) },
  // An INT in Kafka: segment positions are int32 in the offset index.
  'segment.bytes': {
    defaultValue: '1073741824',
    type: ConfigType.INT,
    range: (l) => ({ min: BigInt(l.minSegmentBytes), max: INT32_MAX, minSetting: 'minSegmentBytes' }),
  },
  'segment.ms': { defaultValue: '604800000', type: ConfigType.LONG, range: (l) => ({ min: BigInt(l.minSegmentMs), max: INT64_MAX, minSetting: 'minSegmentMs' }) },
  // Kafka accepts the two policies in either order (a list); both mean retention and compaction.
  'cleanup.policy': { defaultValue: 'delete', type: ConfigType.LIST, allowed: ['delete', 'compact', 'compact,delete', 'delete,compact'] },
  // Compaction (docs/topics.md#compaction): when the cleaner takes a partition, and how long tombstones stay.
  'min.cleanable.dirty.ratio': { defaultValue: '0.5', type: ConfigType.DOUBLE, fraction: { min: 0, max: 1 } },
  'min.compaction.lag.ms': { defaultValue: '0', type: ConfigType.LONG, range: () => ({ min: 0n, max: INT64_MAX }) },
  'max.compaction.lag.ms': { defaultValue: '9223372036854775807', type: ConfigType.LONG, range: () => ({ min: 1n, max: INT64_MAX }) },
  'delete.retention.ms': { defaultValue: '86400000', type: ConfigType.LONG, range: () => ({ min: 0n, max: INT64_MAX }) },
  'max.message.bytes': {
    defaultValue: '1048588',
    type: ConfigType.INT,
    range: (l) => ({ min: 0n, max: BigInt(Math.min(l.maxMessageBytes, Number(INT32_MAX))), maxSetting: 'maxFrameBytes' }),
  },
  'message.timestamp.type': { defaultValue: 'CreateTime', type: ConfigType.STRING, allowed: ['CreateTime', 'LogAppendTime'] },
  // Encryption at rest (docs/security/encryption-at-rest.md), on unless a topic asks for `none` by name.
  encryption: { defaultValue: ENCRYPTED, type: ConfigType.STRING, allowed: [ENCRYPTED, 'none'] },
};

/** Why `value` is not valid for `def`, or null. */
function valueProblem(def: TopicConfigDef, value: string, limits: TopicConfigLimits): string | null {
  if (def.allowed !== undefined) return def.allowed.includes(value) ? null : `must be one of ${def.allowed.join(', ')}`;
  if (def.fraction !== undefined) {
    const x = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(value) ? Number(value) : NaN;
    return x >= def.fraction.min && x <= def.fraction.max ? null : `must be a number from ${def.fraction.min} to ${def.fraction.max}`;
  }
  if (def.range === undefined) return null;
  if (!/^-?\d+$/.test(value)) return 'must be an integer';
  const n = BigInt(value);
  const range = def.range(limits);
  const why = (setting: string | undefined) => (setting === undefined ? '' : ` (this broker's ${setting})`);
  if (n < range.min) return `must be at least ${range.min}${why(range.minSetting)}`;
  if (n > range.max) return `must be at most ${range.max}${why(range.maxSetting)}`;
  return null;
}

/** Checks a set of config changes; returns the first problem as a message, or null. */
export function validateTopicConfigs(configs: Readonly<Record<string, string>>, limits: TopicConfigLimits): string | null {
  for (const [key, value] of Object.entries(configs)) {
    const def = TOPIC_CONFIGS[key];
    if (def === undefined) return `unknown topic config ${key}`;
    const problem = valueProblem(def, value, limits);
    if (problem !== null) return `${key} ${problem}`;
  }
  return null;
}

/**
 * The value the broker obeys for a stored config, and why it differs when it does. An older version
 * accepted values outside today's ranges (segment.bytes=14): they are brought to the nearest bound
 * rather than refused, so that the broker still starts and serves the topic (a larger segment only
 * rolls less often, and no bound of a number makes data go sooner than the stored value asked).
 * A value that is not even of its type (never accepted by any version) falls back to the default.
 */
export function effectiveConfigValue(key: string, value: string, limits: TopicConfigLimits): { value: string; problem: string | null } {
  const def = TOPIC_CONFIGS[key];
  if (def === undefined) return { value, problem: `unknown topic config ${key}: ignored` };
  const problem = valueProblem(def, value, limits);
  if (problem === null) return { value, problem: null };
  if (def.range === undefined || !/^-?\d+$/.test(value)) return { value: def.defaultValue, problem: `${key}=${value} ${problem}: the default ${def.defaultValue} applies` };
  const range = def.range(limits);
  const n = BigInt(value);
  const bounded = (n < range.min ? range.min : range.max).toString();
  return { value: bounded, problem: `${key}=${value} ${problem}: ${bounded} applies` };
}
