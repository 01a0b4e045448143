import { jsonSchemaFormat } from '../../../../src/schemas/formats/json-schema.js';
import type { CompiledSchema, RegisteredSchema, SchemaLookup } from '../../../../src/schemas/types.js';

/**
 * A schema registry in memory for the validation tests: JSON schemas compiled by the real format
 * (src/schemas/formats/json-schema.ts), ids and subjects as the test registers them. The lead replaces
 * it with the registry in the broker's wiring.
 */
export class MemoryLookup implements SchemaLookup {
  readonly #schemas = new Map<number, RegisteredSchema>();
  readonly #compiled = new Map<number, CompiledSchema>();
  readonly #subjects = new Map<string, Set<number>>();
  /** How often `compiled` was asked, to see that `id` mode does not decode. */
  compiledCalls = 0;

  /** Registers a JSON schema under `subject` with `id`. */
  register(subject: string, id: number, schema: object): this {
    const text = JSON.stringify(schema);
    const parsed = jsonSchemaFormat.parse(text, new Map());
    if ('error' in parsed) throw new Error(parsed.error);
    this.#schemas.set(id, { id, schemaType: 'JSON', schema: text, references: [] });
    this.#compiled.set(id, jsonSchemaFormat.compile(id, parsed));
    const ids = this.#subjects.get(subject) ?? new Set<number>();
    ids.add(id);
    this.#subjects.set(subject, ids);
    return this;
  }

  /** Soft-deletes `id` from `subject` (the schema stays known by id). */
  softDelete(subject: string, id: number): void {
    this.#subjects.get(subject)?.delete(id);
  }

  schemaById(id: number): RegisteredSchema | undefined {
    return this.#schemas.get(id);
  }

  subjectHasId(subject: string, id: number): boolean {
    return this.#subjects.get(subject)?.has(id) === true;
  }

  compiled(id: number): CompiledSchema | { readonly error: string } {
    this.compiledCalls++;
    return this.#compiled.get(id) ?? { error: `schema id ${id} is not registered` };
  }
}
