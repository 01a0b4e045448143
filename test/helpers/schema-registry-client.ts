import { createRequire } from 'node:module';
import { join } from 'node:path';
import { projectRoot } from './reference.js';

/**
 * @kafkajs/confluent-schema-registry, a Node serializer for Avro, Protobuf and JSON Schema speaking
 * Confluent's registry API. It is one of the interop clients installed into test/clients/ (`npm run
 * install:interop-clients`; CI always does), not part of Parapet's install, so it is loaded at run time:
 * a plain clone's `npm test` skips its tests with one visible line, and PARAPET_FULL_SUITE=1 (.ci/run)
 * fails them instead.
 */

/** What the tests use of the client (its own types are not compiled in: the package may be absent). */
export interface SchemaRegistryClient {
  register(schema: { type: 'AVRO' | 'PROTOBUF' | 'JSON'; schema: string; references?: unknown[] }, options?: { subject: string }): Promise<{ id: number }>;
  encode(registryId: number, payload: unknown): Promise<Buffer>;
  decode(buffer: Buffer): Promise<unknown>;
  getLatestSchemaId(subject: string): Promise<number>;
}

export interface SchemaRegistryModule {
  SchemaRegistry: new (
    args: { host: string; auth?: { username: string; password: string }; agent?: unknown },
    options?: unknown,
  ) => SchemaRegistryClient;
  SchemaType: { AVRO: 'AVRO'; PROTOBUF: 'PROTOBUF'; JSON: 'JSON' };
}

const clientsDir = join(projectRoot, 'test/clients');

/** The module, or undefined when test/clients is not installed. */
export function loadSchemaRegistryClient(): SchemaRegistryModule | undefined {
  try {
    return createRequire(join(clientsDir, 'package.json'))('@kafkajs/confluent-schema-registry') as SchemaRegistryModule;
  } catch {
    return undefined;
  }
}

/** `{ skip: schemaRegistryClientSkip }` on the tests that drive it. */
export const schemaRegistryClientSkip: string | false =
  loadSchemaRegistryClient() !== undefined || process.env.PARAPET_FULL_SUITE === '1'
    ? false
    : '@kafkajs/confluent-schema-registry is not installed (npm run install:interop-clients)';
