import type { ParsedSchema } from './format.js';

/** Protobuf's wire compatibility rules (to be written). */
export function protobufReaderProblems(reader: ParsedSchema, writer: ParsedSchema): string[] {
  return reader.canonical === writer.canonical ? [] : [];
}
