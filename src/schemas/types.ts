/**
 * The contracts of the schema registry (docs/governance/schemas.md) between its parts: the registry
 * (./registry.ts, its store and REST routes), the formats (./formats/), and the record stages that use
 * registered schemas (src/governance/: validation on produce, masking on fetch).
 *
 * The ids, subjects and versions follow Confluent's Schema Registry REST API, which the serializers of
 * every client speak (docs.confluent.io/platform/current/schema-registry/develop/api.html).
 */

/** Confluent's `schemaType` values; a schema registered without one is AVRO. */
export const SCHEMA_TYPES = ['AVRO', 'JSON', 'PROTOBUF'] as const;
export type SchemaType = (typeof SCHEMA_TYPES)[number];

/** A schema named by another (`import`, `$ref`, an Avro named type): the subject and version that hold it. */
export interface SchemaReference {
  readonly name: string;
  readonly subject: string;
  readonly version: number;
}

/** A schema as registered: its text, its format and the schemas it references. */
export interface SchemaDocument {
  readonly schemaType: SchemaType;
  readonly schema: string;
  readonly references: readonly SchemaReference[];
}

/** A registered schema: one global id per distinct document, stable across restarts and backups. */
export interface RegisteredSchema extends SchemaDocument {
  readonly id: number;
}

/** A payload decoded by its schema: a plain JS value (objects, arrays, strings, numbers, null…). */
export interface DecodedPayload {
  readonly value: unknown;
  /** Protobuf only: which message of the schema the payload is (the indexes of the wire format). */
  readonly messageIndexes?: readonly number[];
}

/**
 * A schema compiled for the record stages. Built once per id and cached (bounded) by the registry.
 * `decode` and `encode` are exact inverses for what `decode` accepts, so that a masked value can be
 * written back in the record's own format.
 */
export interface CompiledSchema {
  readonly id: number;
  readonly schemaType: SchemaType;
  /**
   * The fully qualified name of the record type (Avro record full name, Protobuf message full name,
   * a JSON schema's `title`), for the RecordNameStrategy subjects; undefined when it has none.
   */
  readonly recordName: string | undefined;
  /**
   * Decodes the bytes after the 5-byte wire-format header (for Protobuf, its message indexes first).
   * Throws {@link PayloadError} when the bytes do not match the schema.
   */
  decode(payload: Buffer): DecodedPayload;
  /** The bytes after the 5-byte header (Protobuf: message indexes included) for a decoded, possibly changed, value. Throws PayloadError when the value no longer fits the schema. */
  encode(decoded: DecodedPayload): Buffer;
}

/** A payload that does not match its schema; the message says where and why, never the payload's content. */
export class PayloadError extends Error {
  override readonly name = 'PayloadError';
}

/**
 * What the record stages ask of the registry: synchronous, answered from memory (the registry loads
 * its store at start and keeps it current), so a produce or a fetch never waits on it.
 */
export interface SchemaLookup {
  /** The schema with this id (including one whose versions were all soft-deleted), or undefined. */
  schemaById(id: number): RegisteredSchema | undefined;
  /** Whether `id` is a live (not soft-deleted) version of `subject`. */
  subjectHasId(subject: string, id: number): boolean;
  /** The schema with this id compiled (cached, bounded), or why it cannot be (unknown id, a reference missing). */
  compiled(id: number): CompiledSchema | { readonly error: string };
}
