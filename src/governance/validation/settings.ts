import { decompressedLimit } from '../../storage/log/append-rules.js';
import { DEFAULT_STRATEGY_CLASS, STRATEGY_PACKAGE, SUBJECT_NAME_STRATEGIES, VALIDATION_DEPTHS } from '../../topics/topic-configs.js';

export { DEFAULT_STRATEGY_CLASS, STRATEGY_PACKAGE, STRATEGY_VALUES, SUBJECT_NAME_STRATEGIES, VALIDATION_DEPTHS } from '../../topics/topic-configs.js';
export type SubjectNameStrategy = (typeof SUBJECT_NAME_STRATEGIES)[number];

/**
 * The topic configs of validation on produce (issue 18; docs/governance/validation.md), under Confluent
 * Server's names so that topics configured for Confluent keep working here
 * (docs.confluent.io/platform/current/schema-registry/schema-validation.html), and Parapet's own
 * `schema.validation`, which says how deep the check goes.
 */
export const KEY_VALIDATION = 'confluent.key.schema.validation';
export const VALUE_VALIDATION = 'confluent.value.schema.validation';
export const KEY_STRATEGY = 'confluent.key.subject.name.strategy';
export const VALUE_STRATEGY = 'confluent.value.subject.name.strategy';
export const VALIDATION_DEPTH = 'schema.validation';

/**
 * `id`: the wire-format header must name a schema registered under the record's subject (what
 * Confluent Server checks); `payload`: the payload must also decode against that schema.
 */
export type ValidationDepth = (typeof VALIDATION_DEPTHS)[number];

/** Kafka's max.message.bytes default, for a topic that does not set its own. */
const DEFAULT_MAX_MESSAGE_BYTES = 1048588;

/** The strategy a config value names, or null when it names none of Confluent's three. */
export function parseStrategy(value: string): SubjectNameStrategy | null {
  const short = value.startsWith(STRATEGY_PACKAGE) ? value.slice(STRATEGY_PACKAGE.length) : value;
  return (SUBJECT_NAME_STRATEGIES as readonly string[]).includes(short) ? (short as SubjectNameStrategy) : null;
}

/** What one topic's records are checked against on produce. */
export interface TopicValidation {
  /** The key's subject name strategy, or null when keys are not checked. */
  readonly key: SubjectNameStrategy | null;
  /** The value's subject name strategy, or null when values are not checked. */
  readonly value: SubjectNameStrategy | null;
  readonly depth: ValidationDepth;
  /**
   * Largest decompressed batch the check reads: the bound the log uses when it has to read a produced
   * batch's records (src/storage/log/append-rules.ts decompressedLimit: 32 × max.message.bytes, at most
   * 256 MiB; 32 MiB at the default). A batch past it cannot be checked, so it is refused.
   */
  readonly maxBatchBytes: number;
}

/**
 * The validation a topic's own configs (its stored overrides) ask for, or null when neither keys nor
 * values are checked (the default). A stored value that no version accepted reads as the default, as
 * the log reads its configs (src/topics/topic-configs.ts effectiveConfigValue).
 */
export function topicValidation(configs: Readonly<Record<string, string>>): TopicValidation | null {
  const keyOn = configs[KEY_VALIDATION] === 'true';
  const valueOn = configs[VALUE_VALIDATION] === 'true';
  if (!keyOn && !valueOn) return null;
  const strategy = (name: string) => parseStrategy(configs[name] ?? DEFAULT_STRATEGY_CLASS) ?? 'TopicNameStrategy';
  const depth: ValidationDepth = configs[VALIDATION_DEPTH] === 'payload' ? 'payload' : 'id';
  const own = configs['max.message.bytes'];
  const maxMessageBytes = own !== undefined && /^\d{1,10}$/.test(own) ? Number(own) : DEFAULT_MAX_MESSAGE_BYTES;
  return {
    key: keyOn ? strategy(KEY_STRATEGY) : null,
    value: valueOn ? strategy(VALUE_STRATEGY) : null,
    depth,
    maxBatchBytes: decompressedLimit(maxMessageBytes),
  };
}
