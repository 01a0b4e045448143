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
  /**
   * What the config does here, in one line: DescribeConfigs v3+ sends it as `documentation`. A config
   * accepted for Kafka compatibility that has no effect on this broker says so, and why.
   */
  readonly doc: string;
  /** INT and LONG configs: the accepted range, under the broker's limits. */
  readonly range?: (limits: TopicConfigLimits) => NumericRange;
  /** DOUBLE configs: the accepted closed interval. */
  readonly fraction?: { readonly min: number; readonly max: number };
  /** STRING, LIST and BOOLEAN configs: the accepted values. */
  readonly allowed?: readonly string[];
  /** A rule beyond the range, with the reason in the refusal. */
  readonly check?: (value: bigint) => string | null;
  /** Free-text configs (LIST of names): why a value is refused, or null. */
  readonly text?: (value: string) => string | null;
}

/** Confluent's subject name strategies (io.confluent.kafka.serializers.subject.*), for the strategy configs. */
export const SUBJECT_NAME_STRATEGIES = ['TopicNameStrategy', 'RecordNameStrategy', 'TopicRecordNameStrategy'] as const;
/** The package of Confluent's strategy classes: a strategy config names a class, or here its short name. */
export const STRATEGY_PACKAGE = 'io.confluent.kafka.serializers.subject.';
export const DEFAULT_STRATEGY_CLASS = `${STRATEGY_PACKAGE}TopicNameStrategy`;
/** Every value a strategy config accepts: the full class names and the short names. */
export const STRATEGY_VALUES: readonly string[] = SUBJECT_NAME_STRATEGIES.flatMap((s) => [`${STRATEGY_PACKAGE}${s}`, s]);
/** The values of `schema.validation` (src/governance/validation/settings.ts says what each checks). */
export const VALIDATION_DEPTHS = ['id', 'payload'] as const;

const LONG_MAX = '9223372036854775807';
const BOOLEAN = ['true', 'false'] as const;
const anyLong = (min: bigint) => () => ({ min, max: INT64_MAX });
const anyInt = (min: bigint) => () => ({ min, max: INT32_MAX });

/**
 * Every topic config, in one table with its meaning (docs/topics.md, "Topic configs", lists the same).
 * Defaults and ranges are Kafka 4.0's unless a comment says otherwise.
 */
export const TOPIC_CONFIGS: Readonly<Record<string, TopicConfigDef>> = {
  'retention.ms': {
    defaultValue: '604800000',
    type: ConfigType.LONG,
    range: anyLong(-1n),
    doc: 'Deletes a whole segment once its newest record is older than this (-1: keep forever); the active segment is never deleted.',
  },
  'retention.bytes': {
    defaultValue: '-1',
    type: ConfigType.LONG,
    range: anyLong(-1n),
    doc: 'Deletes the oldest segments while the partition stays at least this big without them (-1: no size limit).',
  },
  // An INT in Kafka: segment positions are int32 in the offset index.
  'segment.bytes': {
    defaultValue: '1073741824',
    type: ConfigType.INT,
    range: (l) => ({ min: BigInt(l.minSegmentBytes), max: INT32_MAX, minSetting: 'minSegmentBytes' }),
    doc: "Starts a new segment before the active one would grow past this many bytes (at least the broker's minSegmentBytes).",
  },
  'segment.ms': {
    defaultValue: '604800000',
    type: ConfigType.LONG,
    range: (l) => ({ min: BigInt(l.minSegmentMs), max: INT64_MAX, minSetting: 'minSegmentMs' }),
    doc: "Starts a new segment when the active one's first write is older than this (at least the broker's minSegmentMs).",
  },
  // Accepted so that tools that copy a Kafka topic's configs work; segments roll exactly at segment.ms.
  'segment.jitter.ms': {
    defaultValue: '0',
    type: ConfigType.LONG,
    range: anyLong(0n),
    doc: 'No effect here: segments roll exactly at segment.ms (Kafka subtracts a random jitter to spread the rolls of many partitions).',
  },
  'segment.index.bytes': {
    defaultValue: '10485760',
    type: ConfigType.INT,
    range: anyInt(4n),
    doc: "No effect here: a segment's offset and time indexes are kept in memory while it is active and written at their real size when it rolls, never preallocated.",
  },
  'index.interval.bytes': {
    defaultValue: '4096',
    type: ConfigType.INT,
    range: anyInt(0n),
    doc: 'No effect here: the offset index takes an entry every 4096 bytes of log, whatever this says (a fetch scans at most that far past an entry).',
  },
  // Kafka accepts the two policies in either order (a list); both mean retention and compaction.
  'cleanup.policy': {
    defaultValue: 'delete',
    type: ConfigType.LIST,
    allowed: ['delete', 'compact', 'compact,delete', 'delete,compact'],
    doc: 'delete: old segments go by retention.ms and retention.bytes; compact: the cleaner keeps the newest record of each key; both: both.',
  },
  // Compaction (docs/topics.md#compaction): when the cleaner takes a partition, and how long tombstones stay.
  'min.cleanable.dirty.ratio': {
    defaultValue: '0.5',
    type: ConfigType.DOUBLE,
    fraction: { min: 0, max: 1 },
    doc: 'Compacted topics: the share of the log not yet cleaned that makes the cleaner take the partition.',
  },
  'min.compaction.lag.ms': {
    defaultValue: '0',
    type: ConfigType.LONG,
    range: anyLong(0n),
    doc: 'Compacted topics: a record stays uncompacted at least this long after it was written.',
  },
  'max.compaction.lag.ms': {
    defaultValue: LONG_MAX,
    type: ConfigType.LONG,
    range: anyLong(1n),
    doc: 'Compacted topics: a record is compacted at most this long after it was written, whatever the dirty ratio.',
  },
  'delete.retention.ms': {
    defaultValue: '86400000',
    type: ConfigType.LONG,
    range: anyLong(0n),
    doc: 'Compacted topics: how long a tombstone (a null value) stays readable after the cleaner first saw it.',
  },
  'file.delete.delay.ms': {
    defaultValue: '60000',
    type: ConfigType.LONG,
    range: anyLong(0n),
    doc: "No effect here: a deleted segment's files are unlinked at once (a read already holding one finishes from its open file).",
  },
  'max.message.bytes': {
    defaultValue: '1048588',
    type: ConfigType.INT,
    range: (l) => ({ min: 0n, max: BigInt(Math.min(l.maxMessageBytes, Number(INT32_MAX))), maxSetting: 'maxFrameBytes' }),
    doc: "The largest record batch accepted, after recompression to compression.type (else MESSAGE_TOO_LARGE); at most the broker's maxFrameBytes.",
  },
  'compression.type': {
    defaultValue: 'producer',
    type: ConfigType.STRING,
    allowed: ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'],
    doc: "The codec batches are stored in: producer keeps each batch's own; any other value recompresses a batch in another codec on append (uncompressed: none).",
  },
  'message.timestamp.type': {
    defaultValue: 'CreateTime',
    type: ConfigType.STRING,
    allowed: ['CreateTime', 'LogAppendTime'],
    doc: "CreateTime keeps the producer's timestamps (within the before/after bounds); LogAppendTime stamps each batch with the broker's clock.",
  },
  // KIP-937 (Kafka 3.6): two bounds instead of one symmetric difference. Kafka 4.0 (KIP-1030) bounds
  // the future at one hour by default: a producer's clock may run ahead, a year-3000 timestamp is a bug
  // that would keep its segment from ever expiring by retention.ms.
  'message.timestamp.before.max.ms': {
    defaultValue: LONG_MAX,
    type: ConfigType.LONG,
    range: anyLong(0n),
    doc: "CreateTime topics: a record whose timestamp is more than this before the broker's clock is refused with its batch (INVALID_TIMESTAMP).",
  },
  'message.timestamp.after.max.ms': {
    defaultValue: '3600000',
    type: ConfigType.LONG,
    range: anyLong(0n),
    doc: "CreateTime topics: a record whose timestamp is more than this after the broker's clock is refused with its batch (INVALID_TIMESTAMP).",
  },
  // Deprecated by KIP-937 and removed in Kafka 4.0; 3.x clients and tools still set it.
  'message.timestamp.difference.max.ms': {
    defaultValue: LONG_MAX,
    type: ConfigType.LONG,
    range: anyLong(0n),
    doc: '[Deprecated] Both bounds at once: applies to whichever of message.timestamp.before.max.ms and after.max.ms the topic does not set itself.',
  },
  'min.insync.replicas': {
    defaultValue: '1',
    type: ConfigType.INT,
    range: anyInt(1n),
    check: (n) =>
      n === 1n ? null : 'must be 1: this broker keeps one replica of each partition, so with more, every acks=all produce would fail (NOT_ENOUGH_REPLICAS)',
    doc: 'acks=all needs this many in-sync replicas; one broker has exactly one, so only 1 is accepted.',
  },
  'unclean.leader.election.enable': {
    defaultValue: 'false',
    type: ConfigType.BOOLEAN,
    allowed: BOOLEAN,
    doc: 'No effect here: the one replica is always the leader and always in sync, so no out-of-sync replica can ever be elected.',
  },
  // flush.* force an fsync every N messages or ms in Kafka; its defaults leave flushing to the OS.
  'flush.messages': {
    defaultValue: LONG_MAX,
    type: ConfigType.LONG,
    range: anyLong(1n),
    doc: 'No effect here: an acks=all produce is answered after an fsync of its batch (group commit); acks=1 and 0 after the write, synced with the next fsync.',
  },
  'flush.ms': {
    defaultValue: LONG_MAX,
    type: ConfigType.LONG,
    range: anyLong(0n),
    doc: 'No effect here: an acks=all produce is answered after an fsync of its batch (group commit); acks=1 and 0 after the write, synced with the next fsync.',
  },
  preallocate: {
    defaultValue: 'false',
    type: ConfigType.BOOLEAN,
    allowed: BOOLEAN,
    doc: 'No effect here: segment files grow as they are written, never preallocated.',
  },
  // Removed in Kafka 4.0 with the old message formats; 3.x tools still copy it.
  'message.downconversion.enable': {
    defaultValue: 'true',
    type: ConfigType.BOOLEAN,
    allowed: BOOLEAN,
    doc: 'No effect here: the broker stores and serves record batch v2 only, and never converts to older formats.',
  },
  // Encryption at rest (docs/security/encryption-at-rest.md), on unless a topic asks for `none` by name.
  encryption: {
    defaultValue: ENCRYPTED,
    type: ConfigType.STRING,
    allowed: [ENCRYPTED, 'none'],
    doc: 'How new batches are stored: sealed with AES-256-GCM, or in clear text (none: insecure, warned about and recorded as a security event).',
  },
  // Parapet's own (issue 18): labels that topic policies select topics by (docs/governance/topic-policies.md).
  tags: {
    defaultValue: '',
    type: ConfigType.LIST,
    text: (value) => tagsProblem(value),
    doc: 'Labels of the topic (comma-separated, up to 16, each a-z, 0-9 and -, at most 32 characters), such as pii or pci: the topic policies with these tags apply to it.',
  },
  // Validation on produce (issue 18; docs/governance/validation.md) under Confluent Server's names, so
  // that topics configured for Confluent keep working; `schema.validation` is Parapet's own.
  'confluent.key.schema.validation': {
    defaultValue: 'false',
    type: ConfigType.BOOLEAN,
    allowed: BOOLEAN,
    doc: "true: every record's key must carry the schema registry wire-format header naming a schema registered under its subject (else INVALID_RECORD); null keys pass.",
  },
  'confluent.value.schema.validation': {
    defaultValue: 'false',
    type: ConfigType.BOOLEAN,
    allowed: BOOLEAN,
    doc: "true: every record's value must carry the schema registry wire-format header naming a schema registered under its subject (else INVALID_RECORD); null values (tombstones) pass.",
  },
  'confluent.key.subject.name.strategy': {
    defaultValue: DEFAULT_STRATEGY_CLASS,
    type: ConfigType.STRING,
    allowed: STRATEGY_VALUES,
    doc: "The subject a key's schema is looked up under: TopicNameStrategy <topic>-key, RecordNameStrategy the record's name, TopicRecordNameStrategy <topic>-<record name> (full class name or short name).",
  },
  'confluent.value.subject.name.strategy': {
    defaultValue: DEFAULT_STRATEGY_CLASS,
    type: ConfigType.STRING,
    allowed: STRATEGY_VALUES,
    doc: "The subject a value's schema is looked up under: TopicNameStrategy <topic>-value, RecordNameStrategy the record's name, TopicRecordNameStrategy <topic>-<record name> (full class name or short name).",
  },
  'schema.validation': {
    defaultValue: 'id',
    type: ConfigType.STRING,
    allowed: VALIDATION_DEPTHS,
    doc: 'With key or value validation on: id checks that the header names a schema of the subject (as Confluent Server); payload also decodes the key or value with that schema.',
  },
};

export const TAG = /^[a-z0-9-]{1,32}$/;
export const MAX_TAGS = 16;

/** The `tags` topic config's problem, or null: a comma-separated list of up to 16 tags, each [a-z0-9-]{1,32}. */
export function tagsProblem(value: string): string | null {
  if (value === '') return null;
  const tags = value.split(',');
  if (tags.length > MAX_TAGS) return `must list at most ${MAX_TAGS} tags (got ${tags.length})`;
  const bad = tags.find((t) => !TAG.test(t));
  if (bad !== undefined) return `must be a comma-separated list of tags of 1 to 32 characters a-z, 0-9 and - (got "${bad}")`;
  return null;
}

/** The tags a `tags` config value names. */
export function parseTags(value: string | undefined): string[] {
  return value === undefined || value === '' ? [] : value.split(',');
}

/** Why `value` is not valid for `def`, or null. */
function valueProblem(def: TopicConfigDef, value: string, limits: TopicConfigLimits): string | null {
  if (def.text !== undefined) return def.text(value);
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
  return def.check?.(n) ?? null;
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
  // Within the range but refused by the config's own rule (min.insync.replicas=2): the default applies.
  if (n >= range.min && n <= range.max) return { value: def.defaultValue, problem: `${key}=${value} ${problem}: the default ${def.defaultValue} applies` };
  const bounded = (n < range.min ? range.min : range.max).toString();
  return { value: bounded, problem: `${key}=${value} ${problem}: ${bounded} applies` };
}
