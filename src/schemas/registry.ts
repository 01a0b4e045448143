import { createHash } from 'node:crypto';
import { ParapetError } from '../errors.js';
import type { NewStoredSchema, SchemaRegistryStore, StoredSchema } from '../storage/schema-store.js';
import { checkCompatibility, DEFAULT_COMPATIBILITY, isCompatibilityLevel, versionsToCheck, type CompatibilityLevel, type PriorVersion } from './compatibility.js';
import type { ParsedSchema, SchemaFormat } from './formats/format.js';
import { formatOf as defaultFormatOf } from './formats/index.js';
import { DEFAULT_REGISTRY_LIMITS, type RegistryLimits } from './registry-limits.js';
import { SCHEMA_TYPES, type CompiledSchema, type RegisteredSchema, type SchemaLookup, type SchemaReference, type SchemaType } from './types.js';

/**
 * The schema registry (docs/governance/schemas.md): Confluent's model of subjects, versions and global
 * schema ids, kept in the metadata store (src/storage/schema-store.ts) and mirrored in memory, so that
 * the record stages ask it synchronously ({@link SchemaLookup}) and every read of the REST routes
 * (src/metrics/admin-schema-registry.ts) is answered without touching the disk.
 *
 * Each change is written to the store first (one SQLite transaction, synchronous=FULL) and applied to
 * memory only once it is there: an id answered to a serializer is never lost by a crash, and a store
 * that refuses leaves memory as it was (error 50001).
 *
 * Refusals carry Confluent's error codes (docs.confluent.io/platform/current/schema-registry/develop/api.html#errors),
 * which the serializers turn into their exceptions.
 */

/** Confluent's error codes; the HTTP status is the code's first three digits (409 stands alone). */
export const RegistryErrorCode = {
  SUBJECT_NOT_FOUND: 40401,
  VERSION_NOT_FOUND: 40402,
  SCHEMA_NOT_FOUND: 40403,
  SUBJECT_SOFT_DELETED: 40404,
  SUBJECT_NOT_SOFT_DELETED: 40405,
  VERSION_SOFT_DELETED: 40406,
  VERSION_NOT_SOFT_DELETED: 40407,
  SUBJECT_COMPATIBILITY_NOT_CONFIGURED: 40408,
  SUBJECT_MODE_NOT_CONFIGURED: 40409,
  INCOMPATIBLE_SCHEMA: 409,
  INVALID_SCHEMA: 42201,
  INVALID_VERSION: 42202,
  INVALID_COMPATIBILITY_LEVEL: 42203,
  INVALID_MODE: 42204,
  OPERATION_NOT_PERMITTED: 42205,
  REFERENCE_EXISTS: 42206,
  INVALID_SUBJECT: 42208,
  STORE_ERROR: 50001,
} as const;

/** Why the registry did not do what was asked: Confluent's code and message, as the REST answer carries them. */
export interface RegistryRefusal {
  readonly errorCode: number;
  readonly message: string;
}

export type RegistryOutcome<T> = { readonly ok: T } | RegistryRefusal;

export function isRefusal<T>(outcome: RegistryOutcome<T>): outcome is RegistryRefusal {
  return 'errorCode' in outcome;
}

/** The HTTP status Confluent answers a code with: 40401 → 404, 42201 → 422, 409 → 409. */
export function httpStatusOf(errorCode: number): number {
  return errorCode >= 10_000 ? Math.floor(errorCode / 100) : errorCode;
}

export const REGISTRY_MODES = ['READWRITE', 'READONLY'] as const;
export type RegistryMode = (typeof REGISTRY_MODES)[number];
/** Confluent's other modes, refused by name rather than as unknown. */
const OTHER_CONFLUENT_MODES = ['IMPORT', 'READONLY_OVERRIDE'];

/** A schema as a client registers or looks it up: its type defaults to AVRO, its references to none. */
export interface SchemaInput {
  readonly schema: string;
  readonly schemaType: SchemaType;
  readonly references: readonly SchemaReference[];
}

/** One version of a subject, as GET /subjects/{s}/versions/{v} answers it. */
export interface SubjectVersion extends RegisteredSchema {
  readonly subject: string;
  readonly version: number;
  readonly deleted: boolean;
}

/** `latest` (or Confluent's -1): the newest version. */
export type VersionSpec = number | 'latest';

export interface SchemaRegistryOptions {
  readonly store: SchemaRegistryStore;
  /** The format of a schema type (./formats/index.ts); tests inject their own. */
  readonly formatOf?: (type: SchemaType) => SchemaFormat | undefined;
  readonly limits?: Partial<RegistryLimits>;
}

interface VersionEntry {
  readonly schemaId: number;
  deleted: boolean;
}

interface SubjectState {
  /** By version number, ascending (loaded in order; new versions are always higher). */
  readonly versions: Map<number, VersionEntry>;
  compatibility: CompatibilityLevel | undefined;
  mode: RegistryMode | undefined;
  /** The ids of its live versions: what a produce to it may carry (subjectHasId, per record). */
  liveIds: Set<number>;
  /** The ids of all its versions, soft-deleted ones included. */
  allIds: Set<number>;
}

const MAX_VERSION = 2 ** 31 - 1;

/** A least-recently-used cache of at most `size` entries (a Map keeps insertion order). */
class Lru<V> {
  readonly #map = new Map<number, V>();
  constructor(readonly size: number) {}

  get(key: number): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }

  set(key: number, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    while (this.#map.size > this.size) {
      const oldest = this.#map.keys().next();
      if (oldest.done === true) break;
      this.#map.delete(oldest.value);
    }
  }

  delete(key: number): void {
    this.#map.delete(key);
  }

  get count(): number {
    return this.#map.size;
  }
}

const refuse = (errorCode: number, message: string): RegistryRefusal => ({ errorCode, message });
const subjectNotFound = (subject: string) => refuse(RegistryErrorCode.SUBJECT_NOT_FOUND, `Subject '${subject}' not found.`);
const versionNotFound = (version: VersionSpec) => refuse(RegistryErrorCode.VERSION_NOT_FOUND, `Version ${version} not found.`);

export class SchemaRegistry implements SchemaLookup {
  readonly #store: SchemaRegistryStore;
  readonly #formatOf: (type: SchemaType) => SchemaFormat | undefined;
  readonly #limits: RegistryLimits;
  readonly #schemas = new Map<number, StoredSchema & { readonly schemaType: SchemaType }>();
  readonly #byFingerprint = new Map<string, number>();
  readonly #subjects = new Map<string, SubjectState>();
  /** The subjects that hold each id (any version, soft-deleted included). */
  readonly #holders = new Map<number, Set<string>>();
  /** The ids whose schemas reference each `subject\0version`. */
  readonly #referencedBy = new Map<string, Set<number>>();
  #globalCompatibility: CompatibilityLevel | undefined;
  #globalMode: RegistryMode | undefined;
  readonly #parsed: Lru<ParsedSchema>;
  readonly #compiled: Lru<CompiledSchema>;

  /** Loads the whole store; a row this build cannot read stops the start (METADATA_ERROR) rather than be skipped. */
  constructor(options: SchemaRegistryOptions) {
    this.#store = options.store;
    this.#formatOf = options.formatOf ?? defaultFormatOf;
    this.#limits = { ...DEFAULT_REGISTRY_LIMITS, ...options.limits };
    this.#parsed = new Lru(Math.max(1, this.#limits.parsedCacheSize));
    this.#compiled = new Lru(Math.max(1, this.#limits.compiledCacheSize));
    const state = this.#store.load();
    for (const schema of state.schemas) {
      const schemaType = SCHEMA_TYPES.find((t) => t === schema.schemaType);
      if (schemaType === undefined) throw new ParapetError('METADATA_ERROR', `stored schema id ${schema.id} has an unknown type ${JSON.stringify(schema.schemaType)}`);
      this.#addSchema({ ...schema, schemaType });
    }
    for (const v of state.versions) {
      if (!this.#schemas.has(v.schemaId)) throw new ParapetError('METADATA_ERROR', `stored version ${v.version} of subject ${JSON.stringify(v.subject)} names schema id ${v.schemaId}, which is not stored`);
      this.#subjectState(v.subject).versions.set(v.version, { schemaId: v.schemaId, deleted: v.deleted });
    }
    for (const s of state.settings) {
      const compatibility = s.compatibility === null ? undefined : isCompatibilityLevel(s.compatibility) ? s.compatibility : null;
      const mode = s.mode === null ? undefined : (REGISTRY_MODES as readonly string[]).includes(s.mode) ? (s.mode as RegistryMode) : null;
      if (compatibility === null || mode === null) throw new ParapetError('METADATA_ERROR', `stored registry settings of ${s.subject === null ? 'the registry' : JSON.stringify(s.subject)} are not readable`);
      if (s.subject === null) {
        this.#globalCompatibility = compatibility;
        this.#globalMode = mode;
      } else {
        const subject = this.#subjectState(s.subject);
        subject.compatibility = compatibility;
        subject.mode = mode;
      }
    }
    for (const name of this.#subjects.keys()) this.#reindex(name);
  }

  get limits(): RegistryLimits {
    return this.#limits;
  }

  /** The schema types this build serves (GET /schemas/types). */
  types(): SchemaType[] {
    return SCHEMA_TYPES.filter((t) => this.#formatOf(t) !== undefined);
  }

  // ---- SchemaLookup (the record stages) ----

  schemaById(id: number): RegisteredSchema | undefined {
    const s = this.#schemas.get(id);
    return s === undefined ? undefined : { id: s.id, schemaType: s.schemaType, schema: s.schema, references: s.references };
  }

  subjectHasId(subject: string, id: number): boolean {
    return this.#subjects.get(subject)?.liveIds.has(id) ?? false;
  }

  compiled(id: number): CompiledSchema | { readonly error: string } {
    const cached = this.#compiled.get(id);
    if (cached !== undefined) return cached;
    const schema = this.#schemas.get(id);
    if (schema === undefined) return { error: `no schema has id ${id}` };
    const format = this.#formatOf(schema.schemaType);
    if (format === undefined) return { error: `schema id ${id} is ${schema.schemaType}, which this build cannot read` };
    const parsed = this.#parsedOf(id);
    if ('error' in parsed) return parsed;
    try {
      const compiled = format.compile(id, parsed);
      this.#compiled.set(id, compiled);
      return compiled;
    } catch (err) {
      return { error: `schema id ${id} cannot be compiled: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  // ---- reads (the REST routes) ----

  /** Subject names, sorted: those with a live version, or with any version when `includeDeleted`. */
  subjects(includeDeleted: boolean): string[] {
    const names: string[] = [];
    for (const [name, s] of this.#subjects) if (s.liveIds.size > 0 || (includeDeleted && s.versions.size > 0)) names.push(name);
    return names.sort();
  }

  /** A subject's version numbers, ascending; 40401 when it has none (live ones, without `includeDeleted`). */
  versions(subject: string, includeDeleted: boolean): RegistryOutcome<number[]> {
    const s = this.#subjects.get(subject);
    const versions = [...(s?.versions ?? [])].filter(([, v]) => includeDeleted || !v.deleted).map(([n]) => n);
    return versions.length === 0 ? subjectNotFound(subject) : { ok: versions };
  }

  /** One version: 40401 for a subject without (live) versions, 40402 for a version it does not have. */
  version(subject: string, spec: VersionSpec, includeDeleted: boolean): RegistryOutcome<SubjectVersion> {
    const s = this.#subjects.get(subject);
    const visible = [...(s?.versions ?? [])].filter(([, v]) => includeDeleted || !v.deleted);
    if (visible.length === 0) return subjectNotFound(subject);
    const found = spec === 'latest' ? visible[visible.length - 1] : visible.find(([n]) => n === spec);
    if (found === undefined) return versionNotFound(spec);
    return { ok: this.#subjectVersion(subject, found[0], found[1]) };
  }

  /** The (subject, version) pairs holding an id; soft-deleted ones only with `includeDeleted`. */
  versionsOfId(id: number, includeDeleted: boolean): { subject: string; version: number }[] {
    const found: { subject: string; version: number }[] = [];
    for (const subject of [...(this.#holders.get(id) ?? [])].sort()) {
      for (const [version, v] of this.#subjects.get(subject)?.versions ?? []) {
        if (v.schemaId === id && (includeDeleted || !v.deleted)) found.push({ subject, version });
      }
    }
    return found;
  }

  /**
   * Finds `input` under `subject` (POST /subjects/{s}): 40401 without the subject, 40403 when none of
   * its versions is this schema, 42201 when the schema does not parse.
   */
  lookup(subject: string, input: SchemaInput, includeDeleted: boolean): RegistryOutcome<SubjectVersion> {
    const s = this.#subjects.get(subject);
    if (s === undefined || ![...s.versions.values()].some((v) => includeDeleted || !v.deleted)) return subjectNotFound(subject);
    const prepared = this.#prepare(input);
    if (isRefusal(prepared)) return prepared;
    const id = this.#byFingerprint.get(prepared.ok.fingerprint);
    for (const [version, v] of s.versions) {
      if (v.schemaId === id && (includeDeleted || !v.deleted)) return { ok: this.#subjectVersion(subject, version, v) };
    }
    return refuse(RegistryErrorCode.SCHEMA_NOT_FOUND, 'Schema not found');
  }

  // ---- changes ----

  /**
   * Registers `input` under `subject` (POST /subjects/{s}/versions). The same schema as a live version
   * of the subject answers that version unchanged; otherwise it is checked against the subject's
   * compatibility (409 when it breaks it), keeps the global id it has elsewhere or takes a new one, and
   * becomes the subject's next version.
   */
  register(subject: string, input: SchemaInput): RegistryOutcome<{ id: number; version: number; created: boolean }> {
    const named = this.#checkSubject(subject);
    if (named !== null) return named;
    if (this.#modeOf(subject) === 'READONLY') return refuse(RegistryErrorCode.OPERATION_NOT_PERMITTED, `Subject ${subject} is in read-only mode`);
    const prepared = this.#prepare(input);
    if (isRefusal(prepared)) return prepared;
    const { parsed, fingerprint, format } = prepared.ok;
    const existingId = this.#byFingerprint.get(fingerprint);
    const state = this.#subjects.get(subject);
    if (existingId !== undefined && state !== undefined) {
      for (const [version, v] of state.versions) if (!v.deleted && v.schemaId === existingId) return { ok: { id: existingId, version, created: false } };
    }
    const level = this.#compatibilityOf(subject);
    const live = [...(state?.versions ?? [])].filter(([, v]) => !v.deleted).map(([n]) => n);
    const priors: PriorVersion[] = [];
    for (const version of versionsToCheck(level, live)) {
      const entry = state?.versions.get(version);
      const prior = entry === undefined ? undefined : this.#parsedOf(entry.schemaId);
      if (prior === undefined || 'error' in prior) return refuse(RegistryErrorCode.STORE_ERROR, `version ${version} of subject '${subject}' cannot be read to check compatibility: ${prior?.error ?? 'missing'}`);
      priors.push({ version, parsed: prior });
    }
    const result = checkCompatibility(format, level, parsed, priors);
    if (!result.compatible) {
      return refuse(RegistryErrorCode.INCOMPATIBLE_SCHEMA, `Schema being registered is incompatible with an earlier schema for subject "${subject}", details: [${result.messages.join(', ')}]`);
    }
    const bound = this.#checkGrowth(subject, existingId === undefined);
    if (bound !== null) return bound;
    const version = Math.max(0, ...(state?.versions.keys() ?? [])) + 1;
    const fresh: NewStoredSchema | undefined =
      existingId === undefined ? { schemaType: input.schemaType, schema: input.schema, canonical: parsed.canonical, references: input.references, fingerprint } : undefined;
    let id: number;
    try {
      id = this.#store.addVersion(subject, version, fresh ?? (existingId as number));
    } catch (err) {
      return storeError(err);
    }
    if (fresh !== undefined) {
      this.#addSchema({ ...fresh, id, schemaType: input.schemaType });
      this.#parsed.set(id, parsed);
    }
    this.#subjectState(subject).versions.set(version, { schemaId: id, deleted: false });
    this.#reindex(subject);
    return { ok: { id, version, created: true } };
  }

  /**
   * Tests `input` against a subject (POST /compatibility/…): against one version (`spec`), or, when
   * `spec` is undefined, against the versions the subject's compatibility names. A subject without
   * versions is compatible with anything when no version is named.
   */
  testCompatibility(subject: string, spec: VersionSpec | undefined, input: SchemaInput): RegistryOutcome<{ compatible: boolean; messages: readonly string[] }> {
    const state = this.#subjects.get(subject);
    const live = [...(state?.versions ?? [])].filter(([, v]) => !v.deleted).map(([n]) => n);
    if (spec !== undefined && live.length === 0) return subjectNotFound(subject);
    const chosen = spec === undefined ? versionsToCheck(this.#compatibilityOf(subject), live) : [spec === 'latest' ? (live[live.length - 1] ?? 0) : spec];
    if (spec !== undefined && !live.includes(chosen[0] ?? 0)) return versionNotFound(spec);
    const prepared = this.#prepare(input);
    if (isRefusal(prepared)) return prepared;
    const priors: PriorVersion[] = [];
    for (const version of chosen) {
      const entry = state?.versions.get(version);
      const prior = entry === undefined ? undefined : this.#parsedOf(entry.schemaId);
      if (prior === undefined || 'error' in prior) return refuse(RegistryErrorCode.STORE_ERROR, `version ${version} of subject '${subject}' cannot be read: ${prior?.error ?? 'missing'}`);
      priors.push({ version, parsed: prior });
    }
    // Against one named version the subject's mode gives the direction; NONE still answers compatible.
    const level = this.#compatibilityOf(subject);
    const result = checkCompatibility(prepared.ok.format, level, prepared.ok.parsed, priors);
    return { ok: { compatible: result.compatible, messages: result.messages } };
  }

  /**
   * Deletes a subject (DELETE /subjects/{s}): soft, its live versions marked deleted; or, with
   * `permanent`, every version for good once all were soft-deleted first (40405 otherwise), with the
   * subject's settings. Answers the versions deleted.
   */
  deleteSubject(subject: string, permanent: boolean): RegistryOutcome<number[]> {
    const state = this.#subjects.get(subject);
    if (state === undefined || state.versions.size === 0) return subjectNotFound(subject);
    if (this.#modeOf(subject) === 'READONLY') return refuse(RegistryErrorCode.OPERATION_NOT_PERMITTED, `Subject ${subject} is in read-only mode`);
    const all = [...state.versions.keys()];
    const live = all.filter((n) => state.versions.get(n)?.deleted === false);
    if (!permanent && live.length === 0) return refuse(RegistryErrorCode.SUBJECT_SOFT_DELETED, `Subject '${subject}' was soft deleted.Set permanent=true to delete permanently`);
    if (permanent && live.length > 0) return refuse(RegistryErrorCode.SUBJECT_NOT_SOFT_DELETED, `Subject '${subject}' was not deleted first before being permanently deleted`);
    const targets = permanent ? all : live;
    for (const version of targets) {
      const referenced = this.#referenceHolding(subject, version, permanent);
      if (referenced !== null) return referenced;
    }
    try {
      if (permanent) this.#store.hardDeleteVersions(subject, targets, true);
      else this.#store.softDeleteVersions(subject, targets);
    } catch (err) {
      return storeError(err);
    }
    if (permanent) {
      this.#subjects.delete(subject);
      this.#reindex(subject, state);
    } else {
      for (const n of targets) {
        const v = state.versions.get(n);
        if (v !== undefined) v.deleted = true;
      }
      this.#reindex(subject);
    }
    return { ok: targets };
  }

  /**
   * Deletes one version (DELETE /subjects/{s}/versions/{v}): soft, or with `permanent` for good once it
   * was soft-deleted (40407 otherwise). `latest` is the newest live version, or with `permanent` the
   * newest of all. Refused (42206) while another schema's version references it.
   */
  deleteVersion(subject: string, spec: VersionSpec, permanent: boolean): RegistryOutcome<number> {
    const state = this.#subjects.get(subject);
    if (state === undefined || state.versions.size === 0) return subjectNotFound(subject);
    if (this.#modeOf(subject) === 'READONLY') return refuse(RegistryErrorCode.OPERATION_NOT_PERMITTED, `Subject ${subject} is in read-only mode`);
    const candidates = [...state.versions].filter(([, v]) => permanent || !v.deleted);
    const found = spec === 'latest' ? candidates[candidates.length - 1] : [...state.versions].find(([n]) => n === spec);
    if (found === undefined) return versionNotFound(spec);
    const [version, entry] = found;
    if (!permanent && entry.deleted) return refuse(RegistryErrorCode.VERSION_SOFT_DELETED, `Subject '${subject}' Version ${version} was soft deleted.Set permanent=true to delete permanently`);
    if (permanent && !entry.deleted) return refuse(RegistryErrorCode.VERSION_NOT_SOFT_DELETED, `Subject '${subject}' Version ${version} was not deleted first before being permanently deleted`);
    const referenced = this.#referenceHolding(subject, version, permanent);
    if (referenced !== null) return referenced;
    try {
      if (permanent) this.#store.hardDeleteVersions(subject, [version], false);
      else this.#store.softDeleteVersions(subject, [version]);
    } catch (err) {
      return storeError(err);
    }
    if (permanent) state.versions.delete(version);
    else entry.deleted = true;
    this.#reindex(subject);
    return { ok: version };
  }

  /** The compatibility in force (GET /config[/s]): the subject's own, else (`defaultToGlobal`) the global one; 40408 otherwise. */
  compatibility(subject: string | null, defaultToGlobal: boolean): RegistryOutcome<CompatibilityLevel> {
    if (subject === null) return { ok: this.#globalCompatibility ?? DEFAULT_COMPATIBILITY };
    const own = this.#subjects.get(subject)?.compatibility;
    if (own !== undefined) return { ok: own };
    if (defaultToGlobal) return { ok: this.#globalCompatibility ?? DEFAULT_COMPATIBILITY };
    return refuse(RegistryErrorCode.SUBJECT_COMPATIBILITY_NOT_CONFIGURED, `Subject '${subject}' does not have subject-level compatibility configured`);
  }

  /** Sets the compatibility (PUT /config[/s]); 42203 for a level Confluent does not have. */
  setCompatibility(subject: string | null, level: unknown): RegistryOutcome<CompatibilityLevel> {
    const name = typeof level === 'string' ? level.toUpperCase() : level;
    if (!isCompatibilityLevel(name)) {
      return refuse(RegistryErrorCode.INVALID_COMPATIBILITY_LEVEL, 'Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive');
    }
    return this.#setSetting(subject, 'compatibility', name);
  }

  /** Removes a subject's own compatibility (DELETE /config/s), answering the one it had. */
  deleteCompatibility(subject: string | null): RegistryOutcome<CompatibilityLevel> {
    const before = this.compatibility(subject, false);
    if (isRefusal(before)) return before;
    const removed = this.#setSetting(subject, 'compatibility', null);
    return isRefusal(removed) ? removed : before;
  }

  /** The mode in force (GET /mode[/s]), as {@link compatibility} answers the compatibility. */
  mode(subject: string | null, defaultToGlobal: boolean): RegistryOutcome<RegistryMode> {
    if (subject === null) return { ok: this.#globalMode ?? 'READWRITE' };
    const own = this.#subjects.get(subject)?.mode;
    if (own !== undefined) return { ok: own };
    if (defaultToGlobal) return { ok: this.#globalMode ?? 'READWRITE' };
    return refuse(RegistryErrorCode.SUBJECT_MODE_NOT_CONFIGURED, `Subject '${subject}' does not have subject-level mode configured`);
  }

  /** Sets the mode (PUT /mode[/s]): READWRITE or READONLY; Confluent's IMPORT and others are refused (42204). */
  setMode(subject: string | null, mode: unknown): RegistryOutcome<RegistryMode> {
    const name = typeof mode === 'string' ? mode.toUpperCase() : mode;
    if (typeof name !== 'string' || !(REGISTRY_MODES as readonly string[]).includes(name)) {
      const known = typeof name === 'string' && OTHER_CONFLUENT_MODES.includes(name);
      return refuse(RegistryErrorCode.INVALID_MODE, `Invalid mode${known ? ` ${name}: Parapet's registry serves` : '. Valid values are'} READWRITE and READONLY`);
    }
    return this.#setSetting(subject, 'mode', name as RegistryMode);
  }

  /** Removes a subject's own mode (DELETE /mode/s), answering the one it had. */
  deleteMode(subject: string): RegistryOutcome<RegistryMode> {
    const before = this.mode(subject, false);
    if (isRefusal(before)) return before;
    const removed = this.#setSetting(subject, 'mode', null);
    return isRefusal(removed) ? removed : before;
  }

  /** What the registry holds now, for the tests of its bounds and for metrics. */
  stats(): { subjects: number; schemas: number; compiledCached: number; parsedCached: number } {
    return { subjects: this.#subjects.size, schemas: this.#schemas.size, compiledCached: this.#compiled.count, parsedCached: this.#parsed.count };
  }

  // ---- internals ----

  #setSetting<K extends 'compatibility' | 'mode'>(subject: string | null, key: K, value: SubjectState[K] | null): RegistryOutcome<NonNullable<SubjectState[K]>> {
    if (subject !== null) {
      const named = this.#checkSubject(subject);
      if (named !== null) return named;
      if (value !== null && !this.#subjects.has(subject) && this.#subjects.size >= this.#limits.maxSubjects) {
        return refuse(RegistryErrorCode.OPERATION_NOT_PERMITTED, `the registry holds ${this.#limits.maxSubjects} subjects, its bound (schemaRegistry.limits.maxSubjects)`);
      }
    }
    try {
      this.#store.setSetting(subject, key, value ?? null);
    } catch (err) {
      return storeError(err);
    }
    if (subject === null) {
      if (key === 'compatibility') this.#globalCompatibility = (value ?? undefined) as CompatibilityLevel | undefined;
      else this.#globalMode = (value ?? undefined) as RegistryMode | undefined;
    } else {
      const state = this.#subjectState(subject);
      state[key] = value ?? undefined;
      if (state.versions.size === 0 && state.compatibility === undefined && state.mode === undefined) this.#subjects.delete(subject);
    }
    return { ok: value as NonNullable<SubjectState[K]> };
  }

  #compatibilityOf(subject: string): CompatibilityLevel {
    return this.#subjects.get(subject)?.compatibility ?? this.#globalCompatibility ?? DEFAULT_COMPATIBILITY;
  }

  #modeOf(subject: string): RegistryMode {
    return this.#subjects.get(subject)?.mode ?? this.#globalMode ?? 'READWRITE';
  }

  /** A subject name the registry accepts: not empty, bounded, no control characters (it reaches logs and the audit trail). */
  #checkSubject(subject: string): RegistryRefusal | null {
    // eslint-disable-next-line no-control-regex
    if (subject.length === 0 || subject.length > this.#limits.maxSubjectLength || /[\x00-\x1f\x7f]/.test(subject)) {
      return refuse(RegistryErrorCode.INVALID_SUBJECT, `Invalid subject: a subject name has 1 to ${this.#limits.maxSubjectLength} characters and no control characters`);
    }
    return null;
  }

  /** The bounds a new version (and, with `newSchema`, a new id) must stay within. */
  #checkGrowth(subject: string, newSchema: boolean): RegistryRefusal | null {
    const state = this.#subjects.get(subject);
    const l = this.#limits;
    if (state === undefined && this.#subjects.size >= l.maxSubjects) return refuse(RegistryErrorCode.OPERATION_NOT_PERMITTED, `the registry holds ${l.maxSubjects} subjects, its bound (schemaRegistry.limits.maxSubjects)`);
    if ((state?.versions.size ?? 0) >= l.maxVersionsPerSubject) {
      return refuse(RegistryErrorCode.OPERATION_NOT_PERMITTED, `subject '${subject}' has ${l.maxVersionsPerSubject} versions, its bound (schemaRegistry.limits.maxVersionsPerSubject): delete old versions permanently first`);
    }
    if (newSchema && this.#schemas.size >= l.maxSchemas) return refuse(RegistryErrorCode.OPERATION_NOT_PERMITTED, `the registry holds ${l.maxSchemas} schemas, its bound (schemaRegistry.limits.maxSchemas)`);
    return null;
  }

  /** Checks and parses a schema a client sent, with its references resolved from the registry. */
  #prepare(input: SchemaInput): RegistryOutcome<{ parsed: ParsedSchema; fingerprint: string; format: SchemaFormat }> {
    const format = this.#formatOf(input.schemaType);
    if (format === undefined) return refuse(RegistryErrorCode.INVALID_SCHEMA, `unsupported schema type ${input.schemaType}: this broker serves ${this.types().join(', ')}`);
    const bytes = Buffer.byteLength(input.schema, 'utf8');
    if (bytes > this.#limits.maxSchemaBytes) return refuse(RegistryErrorCode.INVALID_SCHEMA, `Invalid schema: ${bytes} bytes, over the bound of ${this.#limits.maxSchemaBytes} (schemaRegistry.limits.maxSchemaBytes)`);
    const references = this.#resolve(input.references);
    if ('error' in references) return refuse(RegistryErrorCode.INVALID_SCHEMA, `Invalid schema: ${references.error}`);
    const parsed = format.parse(input.schema, references);
    if ('error' in parsed) return refuse(RegistryErrorCode.INVALID_SCHEMA, `Invalid schema: ${parsed.error}`);
    return { ok: { parsed, fingerprint: fingerprintOf(input.schemaType, parsed.canonical, input.references), format } };
  }

  /**
   * The texts of the schemas `refs` pull in, by reference name, references of references included
   * (a format resolves names anywhere in the graph), at most maxReferences of them.
   */
  #resolve(refs: readonly SchemaReference[]): ReadonlyMap<string, string> | { error: string } {
    const texts = new Map<string, string>();
    const seen = new Set<string>();
    const queue = [...refs];
    for (let ref = queue.shift(); ref !== undefined; ref = queue.shift()) {
      const key = `${ref.subject}\0${ref.version}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (seen.size > this.#limits.maxReferences) return { error: `more than ${this.#limits.maxReferences} referenced schemas (schemaRegistry.limits.maxReferences)` };
      const entry = this.#subjects.get(ref.subject)?.versions.get(ref.version);
      const schema = entry === undefined ? undefined : this.#schemas.get(entry.schemaId);
      if (schema === undefined) return { error: `reference ${JSON.stringify(ref.name)}: subject '${ref.subject}' has no version ${ref.version}` };
      const before = texts.get(ref.name);
      if (before !== undefined && before !== schema.schema) return { error: `reference name ${JSON.stringify(ref.name)} names two different schemas` };
      texts.set(ref.name, schema.schema);
      queue.push(...schema.references);
    }
    return texts;
  }

  /** A stored schema parsed (cached): for compatibility checks and compiling. */
  #parsedOf(id: number): ParsedSchema | { error: string } {
    const cached = this.#parsed.get(id);
    if (cached !== undefined) return cached;
    const schema = this.#schemas.get(id);
    if (schema === undefined) return { error: `no schema has id ${id}` };
    const format = this.#formatOf(schema.schemaType);
    if (format === undefined) return { error: `schema id ${id} is ${schema.schemaType}, which this build cannot read` };
    const references = this.#resolve(schema.references);
    if ('error' in references) return references;
    const parsed = format.parse(schema.schema, references);
    if ('error' in parsed) return { error: `stored schema id ${id} no longer parses: ${parsed.error}` };
    this.#parsed.set(id, parsed);
    return parsed;
  }

  /** 42206 when a schema still held by a version (a live one, or with `anyVersion` any) references `subject`'s `version`. */
  #referenceHolding(subject: string, version: number, anyVersion: boolean): RegistryRefusal | null {
    for (const id of this.#referencedBy.get(`${subject}\0${version}`) ?? []) {
      const held = this.versionsOfId(id, anyVersion);
      if (held.length > 0) {
        const by = held[0];
        return refuse(
          RegistryErrorCode.REFERENCE_EXISTS,
          `One or more references exist to the schema {subject=${subject},version=${version}}: schema id ${id} (subject '${by?.subject ?? ''}' version ${by?.version ?? 0}) references it`,
        );
      }
    }
    return null;
  }

  #addSchema(schema: StoredSchema & { readonly schemaType: SchemaType }): void {
    this.#schemas.set(schema.id, schema);
    this.#byFingerprint.set(schema.fingerprint, schema.id);
    for (const ref of schema.references) {
      const key = `${ref.subject}\0${ref.version}`;
      let ids = this.#referencedBy.get(key);
      if (ids === undefined) this.#referencedBy.set(key, (ids = new Set()));
      ids.add(schema.id);
    }
  }

  #dropSchema(id: number): void {
    const schema = this.#schemas.get(id);
    if (schema === undefined) return;
    this.#schemas.delete(id);
    this.#byFingerprint.delete(schema.fingerprint);
    for (const ref of schema.references) {
      const key = `${ref.subject}\0${ref.version}`;
      const ids = this.#referencedBy.get(key);
      ids?.delete(id);
      if (ids?.size === 0) this.#referencedBy.delete(key);
    }
    this.#parsed.delete(id);
    this.#compiled.delete(id);
  }

  #subjectState(subject: string): SubjectState {
    let state = this.#subjects.get(subject);
    if (state === undefined) {
      state = { versions: new Map(), compatibility: undefined, mode: undefined, liveIds: new Set(), allIds: new Set() };
      this.#subjects.set(subject, state);
    }
    return state;
  }

  /**
   * Brings the indexes of one subject up to date after a change (`removed`: the state of a subject just
   * deleted for good), and drops the schemas no version holds any more, as the store did.
   */
  #reindex(subject: string, removed?: SubjectState): void {
    const state = removed ?? this.#subjects.get(subject);
    if (state === undefined) return;
    const before = state.allIds;
    const all = new Set<number>();
    const live = new Set<number>();
    if (removed === undefined) {
      for (const v of state.versions.values()) {
        all.add(v.schemaId);
        if (!v.deleted) live.add(v.schemaId);
      }
    }
    state.allIds = all;
    state.liveIds = live;
    for (const id of all) {
      let holders = this.#holders.get(id);
      if (holders === undefined) this.#holders.set(id, (holders = new Set()));
      holders.add(subject);
    }
    for (const id of before) {
      if (all.has(id)) continue;
      const holders = this.#holders.get(id);
      holders?.delete(subject);
      if (holders?.size === 0) {
        this.#holders.delete(id);
        this.#dropSchema(id);
      }
    }
    if (removed === undefined && state.versions.size === 0 && state.compatibility === undefined && state.mode === undefined) this.#subjects.delete(subject);
  }

  #subjectVersion(subject: string, version: number, entry: VersionEntry): SubjectVersion {
    const schema = this.#schemas.get(entry.schemaId);
    if (schema === undefined) throw new ParapetError('METADATA_ERROR', `version ${version} of subject ${JSON.stringify(subject)} names schema id ${entry.schemaId}, which is not held`);
    return { subject, version, id: schema.id, schemaType: schema.schemaType, schema: schema.schema, references: schema.references, deleted: entry.deleted };
  }
}

/** What makes two registrations the same schema: the type, the normal form and the references, as one digest. */
function fingerprintOf(type: SchemaType, canonical: string, references: readonly SchemaReference[]): string {
  return createHash('sha256')
    .update(JSON.stringify([type, canonical, references.map((r) => [r.name, r.subject, r.version])]))
    .digest('hex');
}

function storeError(err: unknown): RegistryRefusal {
  return refuse(RegistryErrorCode.STORE_ERROR, `Error in the backend data store: ${err instanceof Error ? err.message : String(err)}`);
}

/** Parses a version path segment: a number in [1, 2^31−1], `latest` or -1; undefined otherwise (42202). */
export function parseVersionSpec(text: string): VersionSpec | undefined {
  if (text === 'latest' || text === '-1') return 'latest';
  if (!/^[1-9][0-9]{0,9}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_VERSION ? n : undefined;
}

export function invalidVersion(text: string): RegistryRefusal {
  return refuse(RegistryErrorCode.INVALID_VERSION, `The specified version '${text.slice(0, 32)}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`);
}
