/**
 * What the schema registry lets its clients make the broker hold (docs/governance/schemas.md#bounds).
 * Every bound is checked before anything is stored or parsed, and a request past one is refused with
 * a message naming the bound and its value. The defaults leave room for far more than a serializer
 * fleet needs: a subject per topic key and value, a few hundred versions each.
 */
export interface RegistryLimits {
  /** UTF-8 bytes of one schema's text. Default 256 KiB. */
  readonly maxSchemaBytes: number;
  /** Subjects, soft-deleted ones and ones that only have settings included. Default 10,000. */
  readonly maxSubjects: number;
  /** Versions of one subject, soft-deleted ones included (they still hold their schema). Default 1,000. */
  readonly maxVersionsPerSubject: number;
  /** Distinct schemas (global ids held). Default 20,000. */
  readonly maxSchemas: number;
  /**
   * References of one schema, counted over the whole graph it pulls in (references of references too):
   * what a parse or a compile of it must load. Default 100.
   */
  readonly maxReferences: number;
  /** Characters of a subject name (a topic name is at most 249, and `-value` or a record name is added). Default 512. */
  readonly maxSubjectLength: number;
  /** Bytes of a request body: a schema escaped as a JSON string, its references and the rest. Default 1 MiB. */
  readonly maxRequestBytes: number;
  /**
   * Requests per second to the registry's routes, all clients together, with a burst of `requestBurst`:
   * its own bucket, apart from the admin routes' 5/s, because every serializer asks at its start. Past
   * it, 429. Defaults 200 and 400.
   */
  readonly requestsPerSecond: number;
  readonly requestBurst: number;
  /** Compiled schemas kept for the record stages (least recently used dropped first). Default 1,000. */
  readonly compiledCacheSize: number;
  /** Parsed schemas kept for compatibility checks (least recently used dropped first). Default 1,000. */
  readonly parsedCacheSize: number;
}

export const DEFAULT_REGISTRY_LIMITS: RegistryLimits = Object.freeze({
  maxSchemaBytes: 256 * 1024,
  maxSubjects: 10_000,
  maxVersionsPerSubject: 1000,
  maxSchemas: 20_000,
  maxReferences: 100,
  maxSubjectLength: 512,
  maxRequestBytes: 1024 * 1024,
  requestsPerSecond: 200,
  requestBurst: 400,
  compiledCacheSize: 1000,
  parsedCacheSize: 1000,
});

/** The names of the bounds, as the config file's `schemaRegistry.limits` spells them. */
export const REGISTRY_LIMIT_KEYS = Object.keys(DEFAULT_REGISTRY_LIMITS) as readonly (keyof RegistryLimits)[];

/** The config file's `schemaRegistry:` section (docs/configuration.md). */
export interface SchemaRegistryConfig {
  /**
   * Serves the registry on the admin endpoint (its REST routes) and keeps it for the record stages.
   * Default true; without the admin endpoint the routes are not served.
   */
  readonly enabled: boolean;
  readonly limits: RegistryLimits;
}

export const DEFAULT_SCHEMA_REGISTRY_CONFIG: SchemaRegistryConfig = Object.freeze({ enabled: true, limits: DEFAULT_REGISTRY_LIMITS });
