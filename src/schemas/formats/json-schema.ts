import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { CompiledSchema, DecodedPayload } from '../types.js';
import { PayloadError } from '../types.js';
import type { ParsedSchema, SchemaFormat } from './format.js';

/**
 * JSON Schema (draft-07 and 2020-12, chosen by `$schema` as Confluent's serializers do), checked and
 * compiled with ajv. The payload is UTF-8 JSON.
 */

const DRAFT_2020 = /^https?:\/\/json-schema\.org\/draft\/2020-12\/schema#?$/;

function newAjv(schemaUri: unknown): Ajv | Ajv2020 {
  // strict off: Confluent's JSON schemas carry annotations ajv does not know (javaType, connect.*).
  const options = { strict: false, allErrors: false, validateSchema: true, addUsedSchema: false } as const;
  return typeof schemaUri === 'string' && DRAFT_2020.test(schemaUri) ? new Ajv2020(options) : new Ajv(options);
}

/** The schema text as a JSON value, or why it is not one. */
function parseJson(text: string): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (err) {
    return { error: `not JSON: ${(err as Error).message}` };
  }
}

/** Compiles the schema with its referenced schemas added by their reference names (the `$ref` targets). */
function compileValidator(parsed: { schema: string; references: ReadonlyMap<string, string> }): ValidateFunction {
  const root = parseJson(parsed.schema);
  if ('error' in root) throw new Error(root.error);
  const ajv = newAjv(typeof root.value === 'object' && root.value !== null ? (root.value as Record<string, unknown>).$schema : undefined);
  for (const [name, text] of parsed.references) {
    const ref = parseJson(text);
    if ('error' in ref) throw new Error(`reference ${name}: ${ref.error}`);
    ajv.addSchema(ref.value as object, name);
  }
  return ajv.compile(root.value as object);
}

/** The validation error in one line: the JSON pointer and the rule, never the offending value. */
function describeErrors(validate: ValidateFunction): string {
  const first = validate.errors?.[0];
  if (first === undefined) return 'does not match the schema';
  return `${first.instancePath === '' ? '(root)' : first.instancePath} ${first.message ?? 'does not match'}`;
}

function compileJsonSchema(id: number, parsed: ParsedSchema): CompiledSchema {
  const validate = compileValidator(parsed);
  const root = JSON.parse(parsed.schema) as unknown;
  const title = typeof root === 'object' && root !== null ? (root as Record<string, unknown>).title : undefined;
  return {
    id,
    schemaType: 'JSON',
    recordName: typeof title === 'string' ? title : undefined,
    decode(payload: Buffer): DecodedPayload {
      let value: unknown;
      try {
        value = JSON.parse(payload.toString('utf8'));
      } catch {
        throw new PayloadError('the payload is not JSON');
      }
      if (!validate(value)) throw new PayloadError(describeErrors(validate));
      return { value };
    },
    encode(decoded: DecodedPayload): Buffer {
      if (!validate(decoded.value)) throw new PayloadError(describeErrors(validate));
      return Buffer.from(JSON.stringify(decoded.value), 'utf8');
    },
  };
}

/**
 * The format. `readerProblems` is a placeholder the compatibility rules replace (helper brief: the
 * JSON Schema rules of Confluent's documentation).
 */
export const jsonSchemaFormat: SchemaFormat = {
  schemaType: 'JSON',
  parse(schema, references) {
    const root = parseJson(schema);
    if ('error' in root) return root;
    if (typeof root.value !== 'object' || root.value === null) {
      if (typeof root.value !== 'boolean') return { error: 'a JSON schema is an object or a boolean' };
    }
    try {
      compileValidator({ schema, references });
    } catch (err) {
      return { error: `invalid JSON schema: ${(err as Error).message}` };
    }
    return { schemaType: 'JSON', schema, canonical: JSON.stringify(root.value), references };
  },
  readerProblems() {
    return [];
  },
  compile: compileJsonSchema,
};
