import type { ParsedSchema } from './format.js';

/** Avro's schema resolution rules (to be written). */
export function avroReaderProblems(reader: ParsedSchema, writer: ParsedSchema): string[] {
  return reader.canonical === writer.canonical ? [] : [];
}
