import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { CompiledSchema, DecodedPayload } from '../types.js';
import { PayloadError } from '../types.js';
import { linearRegExp, namePatternProblem } from '../../regex-guard.js';
import type { ParsedSchema, SchemaFormat } from './format.js';
import { jsonSchemaReaderProblems, type JsonSchemaDocument } from './json-schema-compatibility.js';

/**
 * JSON Schema (draft-07 and 2020-12, chosen by `$schema` as Confluent's serializers do), checked and
 * compiled with ajv. The payload is UTF-8 JSON.
 */

const DRAFT_2020 = /^https?:\/\/json-schema\.org\/draft\/2020-12\/schema#?$/;

/**
 * The engine ajv compiles `pattern` and `patternProperties` with. The ReDoS guard below stops
 * exponential backtracking, not polynomial: /a*a*b/ passes it and took 8.6 s on one 4 KiB value here. So
 * user regexes run on V8's linear-time engine (src/regex-guard.ts); one it cannot run makes the schema
 * invalid, with the reason.
 */
const patternEngine = Object.assign(
  (pattern: string): RegExp => {
    const compiled = linearRegExp(pattern);
    if ('problem' in compiled) throw new Error(`pattern ${JSON.stringify(pattern.length > 80 ? `${pattern.slice(0, 80)}…` : pattern)} ${compiled.problem}`);
    return compiled;
  },
  { code: 'linearRegExp' },
);

function newAjv(schemaUri: unknown): Ajv | Ajv2020 {
  // strict off: Confluent's JSON schemas carry annotations ajv does not know (javaType, connect.*).
  const options = { strict: false, allErrors: false, validateSchema: true, addUsedSchema: false, code: { regExp: patternEngine } } as const;
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

/**
 * Bounds on what a registered schema can make the broker do: its JSON nests at most MAX_SCHEMA_DEPTH
 * levels (ajv compiles recursively), and every `pattern` and `patternProperties` key passes the ReDoS
 * guard (src/regex-guard.ts): ajv runs them with JavaScript's backtracking engine on every payload
 * validated, so an exponential pattern would let one record stall the event loop.
 */
export const MAX_SCHEMA_DEPTH = 128;

/**
 * Why the schema is refused by the bounds above, or null. Every object is looked at, data (enum,
 * default) included: telling keywords from property names (`properties: { default: {…} }`) would be a
 * way around the guard, and a refused default that looks like a bad pattern costs nothing.
 */
function schemaBoundsProblem(value: unknown, path: string, depth: number): string | null {
  if (depth > MAX_SCHEMA_DEPTH) return `nests deeper than ${MAX_SCHEMA_DEPTH} levels`;
  if (typeof value !== 'object' || value === null) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = schemaBoundsProblem(value[i] as unknown, `${path}/${i}`, depth + 1);
      if (problem !== null) return problem;
    }
    return null;
  }
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'pattern' && typeof child === 'string') {
      const problem = namePatternProblem(child);
      if (problem !== null) return `the pattern at #${path} ${problem}`;
    }
    if (key === 'patternProperties' && typeof child === 'object' && child !== null && !Array.isArray(child)) {
      for (const pattern of Object.keys(child)) {
        const problem = namePatternProblem(pattern);
        if (problem !== null) return `the patternProperties key ${JSON.stringify(pattern)} at #${path} ${problem}`;
      }
    }
    const problem = schemaBoundsProblem(child, `${path}/${key}`, depth + 1);
    if (problem !== null) return problem;
  }
  return null;
}

/** The schema and its references as JSON values, for the compatibility rules. */
function documentOf(parsed: ParsedSchema): JsonSchemaDocument {
  const references = new Map<string, JsonSchemaDocument['root']>();
  for (const [name, text] of parsed.references) references.set(name, JSON.parse(text) as JsonSchemaDocument['root']);
  return { root: JSON.parse(parsed.schema) as JsonSchemaDocument['root'], references };
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

/** The format; the compatibility rules are in ./json-schema-compatibility.ts. */
export const jsonSchemaFormat: SchemaFormat = {
  schemaType: 'JSON',
  parse(schema, references) {
    const root = parseJson(schema);
    if ('error' in root) return root;
    if (typeof root.value !== 'object' || root.value === null) {
      if (typeof root.value !== 'boolean') return { error: 'a JSON schema is an object or a boolean' };
    }
    const rootProblem = schemaBoundsProblem(root.value, '', 0);
    if (rootProblem !== null) return { error: `invalid JSON schema: ${rootProblem}` };
    for (const [name, text] of references) {
      const ref = parseJson(text);
      const problem = 'error' in ref ? ref.error : schemaBoundsProblem(ref.value, '', 0);
      if (problem !== null) return { error: `invalid JSON schema: reference ${name}: ${problem}` };
    }
    try {
      compileValidator({ schema, references });
    } catch (err) {
      return { error: `invalid JSON schema: ${(err as Error).message}` };
    }
    return { schemaType: 'JSON', schema, canonical: JSON.stringify(root.value), references };
  },
  readerProblems(reader, writer) {
    return jsonSchemaReaderProblems(documentOf(reader), documentOf(writer));
  },
  compile: compileJsonSchema,
};
