import type Database from 'better-sqlite3';
import { z } from 'zod';
import { ParapetError } from '../errors.js';

/**
 * Where the schema registry keeps its subjects, versions, schemas and settings (metadata store v12),
 * in the same SQLite file as the rest of the metadata (synchronous=FULL, so a registration is on disk
 * before its id is answered, and part of every backup). The registry (src/schemas/registry.ts) gives
 * the rows meaning and checks every bound before it writes; storage keeps them as given.
 *
 * Global ids come from a counter row, never from MAX(id): an id whose schema was hard-deleted is never
 * handed out again, so a record written with it can never be read with another schema.
 */

/** One registered schema: its global id and the document as registered. */
export interface StoredSchema {
  readonly id: number;
  readonly schemaType: string;
  readonly schema: string;
  /** The format's normal form (src/schemas/formats/format.ts `canonical`), kept so the start needs no parsing. */
  readonly canonical: string;
  readonly references: readonly { readonly name: string; readonly subject: string; readonly version: number }[];
  /** What makes two registrations the same schema (the registry's digest of type, canonical form and references). */
  readonly fingerprint: string;
}

/** A new schema, before the store gives it its id. */
export type NewStoredSchema = Omit<StoredSchema, 'id'>;

/** One version of a subject. */
export interface StoredSubjectVersion {
  readonly subject: string;
  readonly version: number;
  readonly schemaId: number;
  /** Soft-deleted (Confluent's `DELETE /subjects/{s}/versions/{v}` without `permanent=true`). */
  readonly deleted: boolean;
}

/** Settings of one subject, or the global ones (subject null); null fields are not set. */
export interface StoredRegistrySettings {
  readonly subject: string | null;
  readonly compatibility: string | null;
  readonly mode: string | null;
}

export interface SchemaRegistryState {
  readonly schemas: readonly StoredSchema[];
  readonly versions: readonly StoredSubjectVersion[];
  readonly settings: readonly StoredRegistrySettings[];
  /** The id the next new schema gets. */
  readonly nextId: number;
}

export interface SchemaRegistryStore {
  /** Everything, as the registry loads it at the start. */
  load(): SchemaRegistryState;
  /**
   * Adds `subject`'s `version`, of an existing schema (`schema` a number: its id) or of a new one that
   * takes the next id; one transaction. Returns the schema's id.
   */
  addVersion(subject: string, version: number, schema: number | NewStoredSchema): number;
  /** Soft-deletes versions (they stay, marked deleted). */
  softDeleteVersions(subject: string, versions: readonly number[]): void;
  /**
   * Removes versions for good, then the schemas no version holds any more (their ids are not reused).
   * With `settings`, the subject's settings go too (a subject deleted permanently). One transaction.
   */
  hardDeleteVersions(subject: string, versions: readonly number[], settings: boolean): void;
  /** Sets or clears (null) one setting of a subject, or the global one (subject null). */
  setSetting(subject: string | null, key: 'compatibility' | 'mode', value: string | null): void;
}

/**
 * The v12 tables; run inside the migration's transaction. `schema_registry_settings` keys the global
 * row by '' (a subject is never empty: the registry refuses empty names).
 */
export const SCHEMA_REGISTRY_SCHEMA_V12 = `
  CREATE TABLE schema_registry_schemas (
    id INTEGER PRIMARY KEY CHECK (id > 0),
    schema_type TEXT NOT NULL,
    schema_text TEXT NOT NULL,
    canonical TEXT NOT NULL,
    refs TEXT NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE);
  CREATE TABLE schema_registry_versions (
    subject TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version > 0),
    schema_id INTEGER NOT NULL REFERENCES schema_registry_schemas(id),
    deleted INTEGER NOT NULL CHECK (deleted IN (0, 1)),
    PRIMARY KEY (subject, version)) WITHOUT ROWID;
  CREATE INDEX schema_registry_versions_by_id ON schema_registry_versions (schema_id);
  CREATE TABLE schema_registry_settings (
    subject TEXT PRIMARY KEY,
    compatibility TEXT,
    mode TEXT) WITHOUT ROWID;
  CREATE TABLE schema_registry_ids (name TEXT PRIMARY KEY, next_id INTEGER NOT NULL CHECK (next_id > 0)) WITHOUT ROWID;
  INSERT INTO schema_registry_ids (name, next_id) VALUES ('schemas', 1);`;

interface SchemaRow {
  id: number;
  schema_type: string;
  schema_text: string;
  canonical: string;
  refs: string;
  fingerprint: string;
}

interface VersionRow {
  subject: string;
  version: number;
  schema_id: number;
  deleted: number;
}

interface SettingsRow {
  subject: string;
  compatibility: string | null;
  mode: string | null;
}

const ReferencesJson = z.array(z.object({ name: z.string(), subject: z.string(), version: z.number().int().positive() }).strict());

/** The SQLite implementation, sharing the metadata store's database (metadata-store.ts). */
export class SchemaRegistryTables implements SchemaRegistryStore {
  readonly #db: Database.Database;
  readonly #stmts;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#stmts = {
      schemas: db.prepare<[], SchemaRow>('SELECT id, schema_type, schema_text, canonical, refs, fingerprint FROM schema_registry_schemas ORDER BY id'),
      versions: db.prepare<[], VersionRow>('SELECT subject, version, schema_id, deleted FROM schema_registry_versions ORDER BY subject, version'),
      settings: db.prepare<[], SettingsRow>('SELECT subject, compatibility, mode FROM schema_registry_settings ORDER BY subject'),
      nextId: db.prepare<[], { next_id: number }>("SELECT next_id FROM schema_registry_ids WHERE name = 'schemas'"),
      bumpId: db.prepare("UPDATE schema_registry_ids SET next_id = next_id + 1 WHERE name = 'schemas'"),
      insertSchema: db.prepare<[number, string, string, string, string, string]>(
        'INSERT INTO schema_registry_schemas (id, schema_type, schema_text, canonical, refs, fingerprint) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      insertVersion: db.prepare<[string, number, number]>('INSERT INTO schema_registry_versions (subject, version, schema_id, deleted) VALUES (?, ?, ?, 0)'),
      softDelete: db.prepare<[string, number]>('UPDATE schema_registry_versions SET deleted = 1 WHERE subject = ? AND version = ?'),
      hardDelete: db.prepare<[string, number]>('DELETE FROM schema_registry_versions WHERE subject = ? AND version = ?'),
      orphans: db.prepare('DELETE FROM schema_registry_schemas WHERE id NOT IN (SELECT schema_id FROM schema_registry_versions)'),
      deleteSettings: db.prepare<[string]>('DELETE FROM schema_registry_settings WHERE subject = ?'),
      upsertCompatibility: db.prepare<[string, string | null]>(
        'INSERT INTO schema_registry_settings (subject, compatibility, mode) VALUES (?, ?, NULL) ON CONFLICT (subject) DO UPDATE SET compatibility = excluded.compatibility',
      ),
      upsertMode: db.prepare<[string, string | null]>(
        'INSERT INTO schema_registry_settings (subject, compatibility, mode) VALUES (?, NULL, ?) ON CONFLICT (subject) DO UPDATE SET mode = excluded.mode',
      ),
      emptySettings: db.prepare('DELETE FROM schema_registry_settings WHERE compatibility IS NULL AND mode IS NULL'),
    };
  }

  load(): SchemaRegistryState {
    return this.#db.transaction(() => {
      const nextId = this.#stmts.nextId.get()?.next_id;
      if (nextId === undefined) throw new ParapetError('METADATA_ERROR', 'the schema registry id counter is missing from the metadata store');
      return {
        schemas: this.#stmts.schemas.all().map(toSchema),
        versions: this.#stmts.versions.all().map((r) => ({ subject: r.subject, version: r.version, schemaId: r.schema_id, deleted: r.deleted === 1 })),
        settings: this.#stmts.settings.all().map((r) => ({ subject: r.subject === '' ? null : r.subject, compatibility: r.compatibility, mode: r.mode })),
        nextId,
      };
    })();
  }

  addVersion(subject: string, version: number, schema: number | NewStoredSchema): number {
    return this.#db.transaction(() => {
      let id: number;
      if (typeof schema === 'number') {
        id = schema;
      } else {
        const next = this.#stmts.nextId.get()?.next_id;
        if (next === undefined) throw new ParapetError('METADATA_ERROR', 'the schema registry id counter is missing from the metadata store');
        id = next;
        this.#stmts.bumpId.run();
        this.#stmts.insertSchema.run(id, schema.schemaType, schema.schema, schema.canonical, JSON.stringify(schema.references), schema.fingerprint);
      }
      this.#stmts.insertVersion.run(subject, version, id);
      return id;
    })();
  }

  softDeleteVersions(subject: string, versions: readonly number[]): void {
    this.#db.transaction(() => {
      for (const v of versions) this.#stmts.softDelete.run(subject, v);
    })();
  }

  hardDeleteVersions(subject: string, versions: readonly number[], settings: boolean): void {
    this.#db.transaction(() => {
      for (const v of versions) this.#stmts.hardDelete.run(subject, v);
      this.#stmts.orphans.run();
      if (settings) this.#stmts.deleteSettings.run(subject);
    })();
  }

  setSetting(subject: string | null, key: 'compatibility' | 'mode', value: string | null): void {
    this.#db.transaction(() => {
      (key === 'compatibility' ? this.#stmts.upsertCompatibility : this.#stmts.upsertMode).run(subject ?? '', value);
      this.#stmts.emptySettings.run();
    })();
  }
}

function toSchema(row: SchemaRow): StoredSchema {
  let refs: unknown;
  try {
    refs = JSON.parse(row.refs);
  } catch {
    refs = undefined;
  }
  const references = ReferencesJson.safeParse(refs);
  // A row this build cannot read is refused loudly: a schema read wrongly would validate or mask records wrongly.
  if (!references.success) throw new ParapetError('METADATA_ERROR', `the stored references of schema id ${row.id} are not readable`);
  return { id: row.id, schemaType: row.schema_type, schema: row.schema_text, canonical: row.canonical, references: references.data, fingerprint: row.fingerprint };
}
