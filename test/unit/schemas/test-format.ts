import type { ParsedSchema, SchemaFormat } from '../../../src/schemas/formats/format.js';
import type { CompiledSchema } from '../../../src/schemas/types.js';

/**
 * A tiny format for the registry's tests, so that the mode logic is tested apart from any real format's
 * rules: a schema is `{"fields":{"name":"required"|"optional"}}` (as JSON), and a reader can read what a
 * writer wrote when every field the reader requires is one the writer has. It registers as AVRO, the
 * type a registration without `schemaType` has.
 */
export function fieldsOf(parsed: ParsedSchema): Record<string, string> {
  return (JSON.parse(parsed.canonical) as { fields: Record<string, string> }).fields;
}

export const fieldsFormat: SchemaFormat = {
  schemaType: 'AVRO',
  parse(schema, references) {
    let value: unknown;
    try {
      value = JSON.parse(schema);
    } catch {
      return { error: 'not JSON' };
    }
    const fields = (value as { fields?: unknown } | null)?.fields;
    if (typeof fields !== 'object' || fields === null || Object.values(fields).some((f) => f !== 'required' && f !== 'optional')) return { error: 'fields must map names to required or optional' };
    const sorted = Object.fromEntries(Object.entries(fields as Record<string, string>).sort(([a], [b]) => a.localeCompare(b)));
    return { schemaType: 'AVRO', schema, canonical: JSON.stringify({ fields: sorted }), references };
  },
  readerProblems(reader, writer) {
    const written = fieldsOf(writer);
    return Object.entries(fieldsOf(reader))
      .filter(([name, kind]) => kind === 'required' && written[name] === undefined)
      .map(([name]) => `field ${name} is required but missing`);
  },
  compile(id): CompiledSchema {
    return { id, schemaType: 'AVRO', recordName: undefined, decode: (payload) => ({ value: payload.toString() }), encode: (d) => Buffer.from(String(d.value)) };
  },
};

/** A schema of the test format with these fields. */
export function fields(spec: Record<string, 'required' | 'optional'>): string {
  return JSON.stringify({ fields: spec });
}
