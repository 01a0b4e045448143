import type avsc from 'avsc';
import { buildAvroType } from './avro.js';
import type { ParsedSchema } from './format.js';

/**
 * Avro's compatibility rule: data written with `writer` can be read with `reader` when the spec's schema
 * resolution succeeds (avro.apache.org/docs/1.11.1/specification/#schema-resolution), the rule Confluent's
 * registry applies to Avro (docs.confluent.io/platform/current/schema-registry/fundamentals/schema-evolution.html):
 * - primitives match themselves, and promote int → long, float, double; long → float, double;
 *   float → double; string ↔ bytes;
 * - records match by full name (or a reader alias of the writer's name); a reader field matches a writer
 *   field by name or by one of the reader field's aliases; a reader field the writer lacks needs a
 *   default; a writer field the reader lacks is skipped;
 * - enums match by name; a symbol the writer has and the reader lacks needs the reader's enum default;
 * - fixed match by name and size; arrays by items; maps by values;
 * - a writer union: each of its branches must be readable; a reader union (writer not a union): its
 *   first branch matching the writer's type is used, and there must be one.
 * Each problem names the path: field names joined by dots, `[]` for array items, `{}` for map values,
 * `<branch>` for a union branch. avsc's own resolver (`createResolver`) is run too: if it refuses a pair
 * this walk found no problem with, its reason is reported, so the two never disagree towards "compatible".
 */

type AvroType = avsc.Type & {
  readonly fields?: readonly AvroField[];
  readonly symbols?: readonly string[];
  readonly default?: unknown;
  readonly size?: number;
  readonly itemsType?: AvroType;
  readonly valuesType?: AvroType;
  readonly types?: readonly AvroType[];
};
interface AvroField {
  readonly name: string;
  readonly type: AvroType;
  readonly aliases: readonly string[];
  defaultValue(): unknown;
}

const PROMOTIONS: Readonly<Record<string, readonly string[]>> = {
  int: ['long', 'float', 'double'],
  long: ['float', 'double'],
  float: ['double'],
  string: ['bytes'],
  bytes: ['string'],
};

const kind = (type: AvroType): string => (type.typeName.startsWith('union') ? 'union' : type.typeName === 'abstract:long' ? 'long' : type.typeName === 'error' ? 'record' : type.typeName);
const describe = (type: AvroType): string => (type.name !== undefined ? `${kind(type)} ${type.name}` : kind(type));
const at = (path: string): string => (path === '' ? 'the schema' : path);

/** Whether the reader's type can take the writer's at the top level (the spec's "match"). */
function matches(reader: AvroType, writer: AvroType): boolean {
  const r = kind(reader);
  const w = kind(writer);
  if (r === w) {
    if (reader.name === undefined) return true;
    return reader.name === writer.name || (reader.aliases ?? []).includes(writer.name ?? '');
  }
  return (PROMOTIONS[w] ?? []).includes(r);
}

function walk(reader: AvroType, writer: AvroType, path: string, seen: Set<string>, problems: string[]): void {
  if (kind(writer) === 'union') {
    for (const branch of writer.types ?? []) walk(reader, branch, `${path}<${branch.branchName ?? kind(branch)}>`, seen, problems);
    return;
  }
  if (kind(reader) === 'union') {
    const branch = (reader.types ?? []).find((b) => matches(b, writer));
    if (branch === undefined) problems.push(`${at(path)}: the reader's union has no branch for the writer's ${describe(writer)}`);
    else walk(branch, writer, path, seen, problems);
    return;
  }
  if (!matches(reader, writer)) {
    if (kind(reader) === kind(writer) && reader.name !== undefined) {
      problems.push(`${at(path)}: the writer's ${kind(writer)} ${writer.name ?? ''} is read as ${reader.name}: names differ (the reader may list the old name in its aliases)`);
    } else {
      problems.push(`${at(path)}: the writer's ${describe(writer)} cannot be read as ${describe(reader)}`);
    }
    return;
  }
  // Recursive named types: a pair already being compared is not compared again.
  if (reader.name !== undefined) {
    const key = `${reader.name}\u0000${writer.name ?? ''}`;
    if (seen.has(key)) return;
    seen.add(key);
  }
  const prefix = path === '' ? '' : `${path}.`;
  switch (kind(reader)) {
    case 'record': {
      const writerFields = new Map((writer.fields ?? []).map((f) => [f.name, f]));
      for (const field of reader.fields ?? []) {
        const written = writerFields.get(field.name) ?? field.aliases.map((a) => writerFields.get(a)).find((f) => f !== undefined);
        if (written !== undefined) walk(field.type, written.type, `${prefix}${field.name}`, seen, problems);
        else if (field.defaultValue() === undefined) problems.push(`${prefix}${field.name}: a field the writer does not have and the reader has no default for`);
      }
      return;
    }
    case 'enum': {
      const symbols = new Set(reader.symbols ?? []);
      const missing = (writer.symbols ?? []).filter((s) => !symbols.has(s));
      if (missing.length > 0 && reader.default === undefined) problems.push(`${at(path)}: enum ${reader.name ?? ''} lacks the writer's symbols ${missing.join(', ')} and has no default`);
      return;
    }
    case 'fixed':
      if (reader.size !== writer.size) problems.push(`${at(path)}: fixed ${reader.name ?? ''} has size ${reader.size ?? 0} where the writer's has ${writer.size ?? 0}`);
      return;
    case 'array':
      if (reader.itemsType !== undefined && writer.itemsType !== undefined) walk(reader.itemsType, writer.itemsType, `${path}[]`, seen, problems);
      return;
    case 'map':
      if (reader.valuesType !== undefined && writer.valuesType !== undefined) walk(reader.valuesType, writer.valuesType, `${path}{}`, seen, problems);
      return;
    default:
      return;
  }
}

export function avroReaderProblems(reader: ParsedSchema, writer: ParsedSchema): string[] {
  const r = buildAvroType(reader.schema, reader.references, false);
  const w = buildAvroType(writer.schema, writer.references, false);
  if ('error' in r) return [`the reader schema is invalid: ${r.error}`];
  if ('error' in w) return [`the writer schema is invalid: ${w.error}`];
  const problems: string[] = [];
  walk(r.type, w.type, '', new Set(), problems);
  if (problems.length === 0) {
    try {
      r.type.createResolver(w.type);
    } catch (err) {
      problems.push(`the schemas do not resolve: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return problems;
}
