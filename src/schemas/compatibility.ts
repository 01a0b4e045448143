import type { ParsedSchema, SchemaFormat } from './formats/format.js';

/**
 * The compatibility modes of Confluent's Schema Registry
 * (docs.confluent.io/platform/current/schema-registry/fundamentals/schema-evolution.html): which earlier
 * versions a new schema is checked against, and in which direction. Whether one schema can read what
 * another wrote is the format's business (`SchemaFormat.readerProblems`); this file only decides whom to
 * ask and what to ask.
 *
 * - BACKWARD: consumers on the new schema read data written with the previous live version
 *   (reader: new, writer: previous). The default, as in Confluent.
 * - FORWARD: consumers still on the previous version read data written with the new one.
 * - FULL: both.
 * - The *_TRANSITIVE forms check against every live version, not only the latest.
 * - NONE: no check.
 *
 * Soft-deleted versions are not checked against, as in Confluent: deleting a version is how an operator
 * lets an incompatible change through.
 */

export const COMPATIBILITY_LEVELS = ['BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE', 'NONE'] as const;
export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];

export const DEFAULT_COMPATIBILITY: CompatibilityLevel = 'BACKWARD';

export function isCompatibilityLevel(value: unknown): value is CompatibilityLevel {
  return typeof value === 'string' && (COMPATIBILITY_LEVELS as readonly string[]).includes(value);
}

/** At most this many problem sentences are answered: one broken field per old version would otherwise grow with the versions. */
const MAX_MESSAGES = 50;

/**
 * The live versions (ascending) a new schema must be checked against under `level`, newest first:
 * none for NONE, the latest for the plain modes, all of them for the transitive ones.
 */
export function versionsToCheck(level: CompatibilityLevel, liveVersions: readonly number[]): number[] {
  if (level === 'NONE' || liveVersions.length === 0) return [];
  const newestFirst = [...liveVersions].sort((a, b) => b - a);
  return level.endsWith('_TRANSITIVE') ? newestFirst : newestFirst.slice(0, 1);
}

export interface PriorVersion {
  readonly version: number;
  readonly parsed: ParsedSchema;
}

export interface CompatibilityResult {
  readonly compatible: boolean;
  /** One sentence per problem, naming the old version and the direction; empty when compatible. */
  readonly messages: readonly string[];
}

/**
 * Checks `candidate` against `priors` (what {@link versionsToCheck} chose, parsed) in the directions of
 * `level`. Every prior is checked (the answer lists what breaks against each), up to MAX_MESSAGES sentences.
 */
export function checkCompatibility(format: SchemaFormat, level: CompatibilityLevel, candidate: ParsedSchema, priors: readonly PriorVersion[]): CompatibilityResult {
  if (level === 'NONE') return { compatible: true, messages: [] };
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL');
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL');
  const messages: string[] = [];
  let compatible = true;
  for (const prior of priors) {
    const problems: string[] = [];
    if (backward) for (const p of format.readerProblems(candidate, prior.parsed)) problems.push(`the new schema cannot read data written with version ${prior.version}: ${p}`);
    if (forward) for (const p of format.readerProblems(prior.parsed, candidate)) problems.push(`version ${prior.version} cannot read data written with the new schema: ${p}`);
    if (problems.length > 0) compatible = false;
    for (const p of problems) if (messages.length < MAX_MESSAGES) messages.push(p);
  }
  if (!compatible) messages.push(`{compatibility: '${level}'}`);
  return { compatible, messages };
}
