import type { SchemaType } from '../types.js';
import type { SchemaFormat } from './format.js';
import { jsonSchemaFormat } from './json-schema.js';

/**
 * The formats this build serves, by Confluent's `schemaType`. A type missing here is refused at
 * registration with 42201 "unsupported schema type" and left out of GET /schemas/types.
 */
const FORMATS: Readonly<Partial<Record<SchemaType, SchemaFormat>>> = Object.freeze({
  JSON: jsonSchemaFormat,
  // AVRO: avroFormat (./avro.ts) and PROTOBUF: protobufFormat (./protobuf.ts) are added here.
});

/** The format of a schema type, or undefined when this build has none for it. */
export function formatOf(type: SchemaType): SchemaFormat | undefined {
  return FORMATS[type];
}
