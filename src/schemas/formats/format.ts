import type { CompiledSchema, SchemaType } from '../types.js';

/**
 * One schema format (JSON Schema, Avro, Protobuf) as the registry needs it: check a schema before it
 * is registered, say whether one schema can read what another wrote (the compatibility rules), and
 * compile one for the record stages.
 */

/** A schema checked by its format, with its references resolved. */
export interface ParsedSchema {
  readonly schemaType: SchemaType;
  /** The text as registered. */
  readonly schema: string;
  /**
   * The schema in a normal form: two registrations whose normal forms are equal are the same schema
   * (same id; re-registering it under a subject returns the existing version, as Confluent does).
   */
  readonly canonical: string;
  /** Referenced schemas' texts by reference name (an import path, a `$ref` URL, an Avro type name). */
  readonly references: ReadonlyMap<string, string>;
}

export interface SchemaFormat {
  readonly schemaType: SchemaType;
  /** Checks a schema; `error` says what is wrong (the registry answers 422, error_code 42201). */
  parse(schema: string, references: ReadonlyMap<string, string>): ParsedSchema | { readonly error: string };
  /**
   * Why data written with `writer` cannot be read with `reader`: one sentence per problem, naming the
   * field or path; empty when it can. BACKWARD checks (reader: the new schema, writer: an older one),
   * FORWARD the other way round, FULL both.
   */
  readerProblems(reader: ParsedSchema, writer: ParsedSchema): string[];
  /** The schema for the record stages; throws only for a schema `parse` accepted and this build cannot use. */
  compile(id: number, parsed: ParsedSchema): CompiledSchema;
}
