import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALL_APIS } from '../../../src/protocol/messages/index.js';
import { inRange, parseRange, type FieldDef, type FieldType, type StructDef } from '../../../src/protocol/messages/schema.js';
import { readSpec, referenceSkip, type SpecField, type SpecMessage } from '../../helpers/reference.js';

/**
 * Our hand-written schemas against Apache Kafka's message specs (read from ../shared/reference at
 * test time, never copied): within the versions we support, every field has the same name, order,
 * type, versions, nullable versions, tag, tagged versions and default.
 */

function versionsIn(range: string | undefined, min: number, max: number): number[] {
  const out: number[] = [];
  if (range === undefined) return out;
  for (let v = min; v <= max; v++) if (inRange(range, v)) out.push(v);
  return out;
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function describeType(t: FieldType): string {
  if (typeof t === 'string') return t;
  if ('array' in t) return `[]${describeType(t.array)}`;
  return 'struct';
}

function specDefault(field: SpecField): unknown {
  const d = field.default;
  const t = field.type;
  if (d === undefined) return undefined;
  if (d === 'null') return null;
  if (t === 'bool') return d === 'true';
  if (t === 'int64') return BigInt(d);
  if (t === 'string') return d;
  return Number(d);
}

function zero(t: FieldType): unknown {
  if (typeof t !== 'string') return undefined;
  if (t === 'bool') return false;
  if (t === 'int64') return 0n;
  if (t === 'string') return '';
  if (['int8', 'int16', 'uint16', 'int32', 'uint32', 'float64'].includes(t)) return 0;
  return undefined;
}

function compareStruct(
  ours: StructDef,
  theirs: SpecField[],
  common: SpecMessage['commonStructs'],
  min: number,
  max: number,
  path: string,
): string[] {
  const problems: string[] = [];
  const theirFields = theirs.filter((s) => versionsIn(s.versions, min, max).length > 0);
  const ourFields = Object.entries(ours).filter(([, d]) => versionsIn(d.versions, min, max).length > 0);
  const theirNames = theirFields.map((s) => lowerFirst(s.name));
  const ourNames = ourFields.map(([n]) => n);
  if (theirNames.join(',') !== ourNames.join(',')) {
    problems.push(`${path}: fields [${ourNames.join(', ')}] differ from the spec's [${theirNames.join(', ')}]`);
    return problems;
  }
  theirFields.forEach((spec, i) => {
    const [name, def] = ourFields[i] as [string, FieldDef];
    const at = `${path}.${name}`;
    const fv = versionsIn(spec.versions, min, max);
    const ov = versionsIn(def.versions, min, max);
    if (fv.join() !== ov.join()) problems.push(`${at}: versions ${ov.join()} ≠ spec ${fv.join()}`);
    const fn = versionsIn(spec.nullableVersions, min, max).filter((v) => fv.includes(v));
    const on = versionsIn(def.nullable, min, max).filter((v) => ov.includes(v));
    if (fn.join() !== on.join()) problems.push(`${at}: nullable ${on.join()} ≠ spec ${fn.join()}`);
    if (spec.tag !== def.tag) problems.push(`${at}: tag ${String(def.tag)} ≠ spec ${String(spec.tag)}`);
    if (spec.tag !== undefined) {
      const ft = versionsIn(spec.taggedVersions, min, max);
      const ot = versionsIn(def.taggedVersions, min, max);
      if (ft.join() !== ot.join()) problems.push(`${at}: tagged versions ${ot.join()} ≠ spec ${ft.join()}`);
    }
    problems.push(...compareType(def, spec, common, Math.max(min, fv[0] ?? min), max, at));
  });
  return problems;
}

function compareType(def: FieldDef, spec: SpecField, common: SpecMessage['commonStructs'], min: number, max: number, at: string): string[] {
  const isArray = spec.type.startsWith('[]');
  const element = isArray ? spec.type.slice(2) : spec.type;
  const structFields = spec.fields ?? common?.find((c) => c.name === element)?.fields;
  let ourType: FieldType = def.type;
  if (isArray) {
    if (typeof ourType === 'string' || !('array' in ourType)) return [`${at}: type ${describeType(ourType)} ≠ spec ${spec.type}`];
    ourType = ourType.array;
  }
  if (structFields !== undefined) {
    if (typeof ourType === 'string' || !('struct' in ourType)) return [`${at}: type ${describeType(def.type)} ≠ spec ${spec.type}`];
    return compareStruct(ourType.struct, structFields, common, min, max, at);
  }
  if (ourType !== element) return [`${at}: type ${describeType(def.type)} ≠ spec ${spec.type}`];
  if (!isArray) {
    const theirDefault = spec.default === undefined ? zero(def.type) : specDefault(spec);
    const ourDefault = 'default' in def ? def.default : zero(def.type);
    if (theirDefault !== ourDefault) return [`${at}: default ${String(ourDefault)} ≠ spec ${String(theirDefault)}`];
  }
  return [];
}

// One skip line for the whole comparison when the specs are absent, not one per message.
describe("schemas match Apache Kafka's message specs", { skip: referenceSkip }, () => {
  for (const api of ALL_APIS) {
    describe(`${api.name} schema matches Apache Kafka's spec`, () => {
      for (const message of [api.request, api.response]) {
        it(message.name, () => {
          const spec = readSpec(message.name);
          assert.equal(spec.apiKey, api.apiKey);
          const valid = parseRange(spec.validVersions);
          assert.ok(valid !== null && valid.min <= api.minVersion && valid.max >= api.maxVersion, `spec versions ${spec.validVersions} do not cover ours`);
          const flex = versionsIn(spec.flexibleVersions, api.minVersion, api.maxVersion);
          assert.equal(api.flexibleFrom, flex[0] ?? null, 'first flexible version');
          const problems = compareStruct(message.fields, spec.fields, spec.commonStructs, api.minVersion, api.maxVersion, message.name);
          assert.deepEqual(problems, []);
        });
      }
    });
  }
});
