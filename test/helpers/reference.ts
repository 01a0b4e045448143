import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The project root: tests run from it (`npm test`). */
export const projectRoot = process.cwd();

/**
 * `../shared/reference` beside the project: Apache Kafka's message specs and the protocol notes.
 * They are read at test time and never copied into the project. CI lays shared/ beside the clone; a
 * plain clone has no such directory, so the tests that compare against it are skipped there.
 */
export const referenceDir = resolve(projectRoot, '../shared/reference');

/**
 * `{ skip: referenceSkip }` on a `describe` or `it` that reads the reference: one visible skip line
 * saying why when it is absent. PARAPET_FULL_SUITE=1 (set by .ci/run, which always has it) turns the
 * skip off, so a missing reference there fails those tests instead of passing unnoticed.
 */
export const referenceSkip: string | false =
  existsSync(referenceDir) || process.env.PARAPET_FULL_SUITE === '1'
    ? false
    : `reference material not found at ${referenceDir} (Apache Kafka's specs; see docs/contributing.md)`;

export function requireReference(): string {
  if (!existsSync(referenceDir)) throw new Error(`reference material not found at ${referenceDir}`);
  return referenceDir;
}

export interface SpecField {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string;
  fields?: SpecField[];
}
export interface SpecMessage {
  apiKey: number;
  type: 'request' | 'response';
  name: string;
  validVersions: string;
  flexibleVersions: string;
  fields: SpecField[];
  commonStructs?: { name: string; versions: string; fields: SpecField[] }[];
}

/** Reads one spec file: JSON with `//` line comments. */
export function readSpec(name: string): SpecMessage {
  const text = readFileSync(join(requireReference(), 'kafka-message-specs', `${name}.json`), 'utf8');
  const json = text
    .split('\n')
    .filter((line) => !/^\s*\/\//.test(line))
    .join('\n');
  return JSON.parse(json) as SpecMessage;
}

export function readNotes(): string {
  return readFileSync(join(requireReference(), 'kafka-protocol-notes.md'), 'utf8');
}
