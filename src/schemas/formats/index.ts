import type { SchemaType } from '../types.js';
import type { SchemaFormat } from './format.js';
import { avroFormat } from './avro.js';
import { jsonSchemaFormat } from './json-schema.js';
import { protobufFormat } from './protobuf.js';

/**
 * The formats this build serves, by Confluent's `schemaType`. A type missing here is refused at
 * registration with 42201 "unsupported schema type" and left out of GET /schemas/types.
 */
const FORMATS: Readonly<Partial<Record<SchemaType, SchemaFormat>>> = Object.freeze({
  AVRO: avroFormat,
  JSON: jsonSchemaFormat,
  PROTOBUF: protobufFormat,
});

/** The format of a schema type, or undefined when this build has none for it. */
export function formatOf(type: SchemaType): SchemaFormat | undefined {
  return FORMATS[type];
}
