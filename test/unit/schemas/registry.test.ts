import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { isRefusal, RegistryErrorCode, SchemaRegistry, type RegistryOutcome, type SchemaInput } from '../../../src/schemas/registry.js';
import type { RegistryLimits } from '../../../src/schemas/registry-limits.js';
import type { SchemaReference } from '../../../src/schemas/types.js';
import { MetadataStore } from '../../../src/storage/metadata-store.js';
import type { SchemaRegistryStore } from '../../../src/storage/schema-store.js';
import { fields, fieldsFormat } from './test-format.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-registry-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** A registry over a real metadata store, with the test format as AVRO (the default type). */
function registryIn(t: TestContext, dir = tempDir(t), limits: Partial<RegistryLimits> = {}, wrap?: (s: SchemaRegistryStore) => SchemaRegistryStore) {
  const store = new MetadataStore(dir);
  t.after(() => {
    store.close();
  });
  const registry = new SchemaRegistry({ store: wrap === undefined ? store.schemaRegistry : wrap(store.schemaRegistry), formatOf: (type) => (type === 'AVRO' ? fieldsFormat : undefined), limits });
  return { registry, store, dir };
}

const input = (spec: Record<string, 'required' | 'optional'>, references: SchemaReference[] = []): SchemaInput => ({ schema: fields(spec), schemaType: 'AVRO', references });

function ok<T>(outcome: RegistryOutcome<T>, why?: string): T {
  if (isRefusal(outcome)) assert.fail(`${why ?? ''} refused ${outcome.errorCode}: ${outcome.message}`);
  return outcome.ok;
}

function refused<T>(outcome: RegistryOutcome<T>, code: number, why?: string): string {
  assert.ok(isRefusal(outcome), `${why ?? ''} expected ${code}, got ${JSON.stringify(outcome)}`);
  assert.equal(outcome.errorCode, code, outcome.message);
  return outcome.message;
}

describe('SchemaRegistry: registration and ids', () => {
  it('gives one global id per distinct schema: the same schema again answers its id and version, another subject shares the id', (t) => {
    const { registry } = registryIn(t);
    assert.deepEqual(ok(registry.register('a-value', input({ x: 'required' }))), { id: 1, version: 1, created: true });
    assert.deepEqual(ok(registry.register('a-value', { ...input({}), schema: ' {"fields": {"x":"required"}} ' })), { id: 1, version: 1, created: false }, 'the same canonical form is the same schema');
    assert.deepEqual(ok(registry.register('a-value', input({ x: 'required', y: 'optional' }))), { id: 2, version: 2, created: true });
    assert.deepEqual(ok(registry.register('b-value', input({ x: 'required' }))), { id: 1, version: 1, created: true }, 'a schema registered elsewhere keeps its id');
    assert.deepEqual(ok(registry.versions('a-value', false)), [1, 2]);
    assert.deepEqual(registry.subjects(false), ['a-value', 'b-value']);
    assert.equal(ok(registry.version('a-value', 'latest', false)).id, 2);
    assert.deepEqual(registry.versionsOfId(1, false), [
      { subject: 'a-value', version: 1 },
      { subject: 'b-value', version: 1 },
    ]);
    assert.equal(ok(registry.lookup('a-value', input({ y: 'optional', x: 'required' }), false)).version, 2);
    refused(registry.lookup('a-value', input({ z: 'required' }), false), RegistryErrorCode.SCHEMA_NOT_FOUND);
    refused(registry.lookup('nope', input({ x: 'required' }), false), RegistryErrorCode.SUBJECT_NOT_FOUND);
    refused(registry.version('a-value', 7, false), RegistryErrorCode.VERSION_NOT_FOUND);
    assert.equal(registry.schemaById(2)?.schema, fields({ x: 'required', y: 'optional' }));
    assert.ok(registry.subjectHasId('a-value', 1) && registry.subjectHasId('a-value', 2) && !registry.subjectHasId('b-value', 2));
  });

  it('keeps ids and versions across a restart (a new registry over the reopened store)', (t) => {
    const dir = tempDir(t);
    const first = new MetadataStore(dir);
    const before = new SchemaRegistry({ store: first.schemaRegistry, formatOf: () => fieldsFormat });
    ok(before.register('a', input({ x: 'required' })));
    ok(before.register('a', input({ x: 'required', y: 'optional' })));
    ok(before.setCompatibility('a', 'NONE'));
    ok(before.deleteVersion('a', 1, false));
    first.close();
    const { registry } = registryIn(t, dir);
    assert.deepEqual(ok(registry.versions('a', true)), [1, 2]);
    assert.deepEqual(ok(registry.versions('a', false)), [2]);
    assert.equal(ok(registry.compatibility('a', false)), 'NONE');
    assert.deepEqual(ok(registry.register('b', input({ x: 'required', y: 'optional' }))), { id: 2, version: 1, created: true });
    assert.equal(ok(registry.register('b', input({ q: 'optional' }))).id, 3, 'the counter went on from where it was');
  });

  it('refuses a type this build has no format for with 42201, and a schema its format refuses', (t) => {
    const { registry } = registryIn(t);
    assert.match(refused(registry.register('a', { schema: '{}', schemaType: 'PROTOBUF', references: [] }), RegistryErrorCode.INVALID_SCHEMA), /unsupported schema type PROTOBUF/);
    assert.match(refused(registry.register('a', { schema: 'not json', schemaType: 'AVRO', references: [] }), RegistryErrorCode.INVALID_SCHEMA), /Invalid schema: not JSON/);
    assert.deepEqual(registry.types(), ['AVRO']);
    refused(registry.register('', input({})), RegistryErrorCode.INVALID_SUBJECT);
    refused(registry.register('a\nb', input({})), RegistryErrorCode.INVALID_SUBJECT);
  });

  it('the default formats: JSON served, the others unsupported until their formats are added', (t) => {
    const store = new MetadataStore(tempDir(t));
    t.after(() => {
      store.close();
    });
    const registry = new SchemaRegistry({ store: store.schemaRegistry });
    assert.ok(registry.types().includes('JSON'));
    assert.deepEqual(ok(registry.register('j', { schema: '{"type":"object"}', schemaType: 'JSON', references: [] })), { id: 1, version: 1, created: true });
    const compiled = registry.compiled(1);
    assert.ok(!('error' in compiled));
    assert.throws(() => compiled.decode(Buffer.from('42')));
  });
});

describe('SchemaRegistry: compatibility modes', () => {
  it('BACKWARD by default: the new schema must read the latest live version (a new required field breaks it, 409)', (t) => {
    const { registry } = registryIn(t);
    ok(registry.register('s', input({ a: 'required' })));
    const message = refused(registry.register('s', input({ a: 'required', b: 'required' })), 409);
    assert.match(message, /^Schema being registered is incompatible with an earlier schema for subject "s", details: \[.*field b is required but missing.*BACKWARD/);
    ok(registry.register('s', input({ a: 'required', b: 'optional' })));
    ok(registry.register('s', input({})), 'dropping a field is backward compatible');
  });

  it('FORWARD: the previous version must read the new one; FULL: both directions', (t) => {
    const { registry } = registryIn(t);
    ok(registry.register('s', input({ a: 'required' })));
    ok(registry.setCompatibility('s', 'forward'));
    refused(registry.register('s', input({ b: 'optional' })), 409);
    ok(registry.register('s', input({ a: 'required', b: 'required' })), 'the old reader ignores b');
    ok(registry.setCompatibility('s', 'FULL'));
    refused(registry.register('s', input({ a: 'required', b: 'required', c: 'required' })), 409);
    refused(registry.register('s', input({ b: 'required' })), 409, 'version 2 needs a');
    ok(registry.register('s', input({ a: 'required', b: 'required', c: 'optional' })));
  });

  it('the transitive forms check every live version; the plain ones only the latest', (t) => {
    const { registry } = registryIn(t);
    ok(registry.register('s', input({ a: 'required' })));
    ok(registry.register('s', input({ a: 'required', b: 'optional' })));
    const candidate = input({ a: 'required', b: 'required' });
    assert.deepEqual(ok(registry.testCompatibility('s', undefined, candidate)), { compatible: true, messages: [] }, 'BACKWARD: v2 has b');
    ok(registry.setCompatibility('s', 'BACKWARD_TRANSITIVE'));
    const verdict = ok(registry.testCompatibility('s', undefined, candidate));
    assert.equal(verdict.compatible, false);
    assert.ok(verdict.messages.some((m) => m.includes('version 1') && m.includes('field b')), verdict.messages.join('; '));
    refused(registry.register('s', candidate), 409);
    ok(registry.deleteVersion('s', 1, false));
    ok(registry.register('s', candidate), 'a soft-deleted version is no longer checked against');
  });

  it('FORWARD_TRANSITIVE and FULL_TRANSITIVE reach the oldest live version too; NONE checks nothing', (t) => {
    const { registry } = registryIn(t);
    ok(registry.setCompatibility('s', 'NONE'));
    ok(registry.register('s', input({ a: 'required' })));
    ok(registry.register('s', input({ b: 'optional' })));
    const candidate = input({ b: 'required' });
    ok(registry.setCompatibility('s', 'FORWARD'));
    assert.equal(ok(registry.testCompatibility('s', undefined, candidate)).compatible, true, 'v2 reads it');
    ok(registry.setCompatibility('s', 'FORWARD_TRANSITIVE'));
    assert.equal(ok(registry.testCompatibility('s', undefined, candidate)).compatible, false, 'v1 requires a');
    ok(registry.setCompatibility('s', 'FULL_TRANSITIVE'));
    assert.equal(ok(registry.testCompatibility('s', undefined, candidate)).compatible, false);
    ok(registry.setCompatibility('s', 'NONE'));
    ok(registry.register('s', input({ z: 'required' })));
  });

  it('tests against one named version, and 40401/40402 for what is not there', (t) => {
    const { registry } = registryIn(t);
    refused(registry.testCompatibility('s', 'latest', input({})), RegistryErrorCode.SUBJECT_NOT_FOUND);
    assert.equal(ok(registry.testCompatibility('s', undefined, input({ q: 'required' }))).compatible, true, 'nothing to break');
    ok(registry.register('s', input({ a: 'required' })));
    ok(registry.register('s', input({ a: 'required', b: 'optional' })));
    assert.equal(ok(registry.testCompatibility('s', 1, input({ a: 'required', b: 'required' }))).compatible, false);
    assert.equal(ok(registry.testCompatibility('s', 'latest', input({ a: 'required', b: 'required' }))).compatible, true);
    refused(registry.testCompatibility('s', 9, input({})), RegistryErrorCode.VERSION_NOT_FOUND);
  });

  it('config: subject-level or global, 40408 without defaultToGlobal, 42203 for an unknown level, DELETE answers the old one', (t) => {
    const { registry } = registryIn(t);
    assert.equal(ok(registry.compatibility(null, false)), 'BACKWARD');
    refused(registry.compatibility('s', false), RegistryErrorCode.SUBJECT_COMPATIBILITY_NOT_CONFIGURED);
    ok(registry.setCompatibility(null, 'FULL'));
    assert.equal(ok(registry.compatibility('s', true)), 'FULL');
    refused(registry.setCompatibility('s', 'SIDEWAYS'), RegistryErrorCode.INVALID_COMPATIBILITY_LEVEL);
    refused(registry.setCompatibility('s', 3), RegistryErrorCode.INVALID_COMPATIBILITY_LEVEL);
    ok(registry.setCompatibility('s', 'NONE'));
    assert.equal(ok(registry.deleteCompatibility('s')), 'NONE');
    refused(registry.deleteCompatibility('s'), RegistryErrorCode.SUBJECT_COMPATIBILITY_NOT_CONFIGURED);
  });
});

describe('SchemaRegistry: deletion', () => {
  it('soft then hard, as Confluent: 40404, 40405, 40406, 40407; re-registering a soft-deleted schema makes a new version with the same id', (t) => {
    const { registry } = registryIn(t);
    ok(registry.register('s', input({ a: 'required' })));
    ok(registry.register('s', input({ a: 'required', b: 'optional' })));
    refused(registry.deleteVersion('s', 1, true), RegistryErrorCode.VERSION_NOT_SOFT_DELETED);
    assert.equal(ok(registry.deleteVersion('s', 1, false)), 1);
    refused(registry.deleteVersion('s', 1, false), RegistryErrorCode.VERSION_SOFT_DELETED);
    refused(registry.version('s', 1, false), RegistryErrorCode.VERSION_NOT_FOUND);
    assert.equal(ok(registry.version('s', 1, true)).deleted, true);
    assert.ok(!registry.subjectHasId('s', 1), 'a soft-deleted version is no longer a live id of the subject');
    assert.equal(registry.schemaById(1)?.id, 1, 'but its id still resolves (records written with it stay readable)');
    refused(registry.deleteSubject('s', true), RegistryErrorCode.SUBJECT_NOT_SOFT_DELETED);
    assert.deepEqual(ok(registry.deleteSubject('s', false)), [2]);
    refused(registry.deleteSubject('s', false), RegistryErrorCode.SUBJECT_SOFT_DELETED);
    assert.deepEqual(registry.subjects(false), []);
    assert.deepEqual(registry.subjects(true), ['s']);
    refused(registry.versions('s', false), RegistryErrorCode.SUBJECT_NOT_FOUND);
    assert.deepEqual(ok(registry.register('s', input({ a: 'required' }))), { id: 1, version: 3, created: true });
  });

  it('a hard delete drops the ids no version holds; they are never handed out again', (t) => {
    const { registry } = registryIn(t);
    ok(registry.register('s', input({ a: 'required' })));
    ok(registry.register('s', input({ a: 'required', b: 'optional' })));
    ok(registry.deleteVersion('s', 2, false));
    assert.equal(ok(registry.deleteVersion('s', 'latest', true)), 2, 'latest, when permanent, includes soft-deleted versions');
    assert.equal(registry.schemaById(2), undefined);
    ok(registry.deleteSubject('s', false));
    assert.deepEqual(ok(registry.deleteSubject('s', true)), [1]);
    refused(registry.deleteSubject('s', false), RegistryErrorCode.SUBJECT_NOT_FOUND);
    assert.deepEqual(ok(registry.register('s', input({ a: 'required' }))), { id: 3, version: 1, created: true });
  });

  it('a version another schema references cannot be deleted (42206); a missing reference is refused at registration', (t) => {
    const { registry } = registryIn(t);
    ok(registry.register('common', input({ id: 'required' })));
    const ref = { name: 'common.avsc', subject: 'common', version: 1 };
    assert.match(refused(registry.register('s', input({ a: 'required' }, [{ ...ref, version: 5 }])), RegistryErrorCode.INVALID_SCHEMA), /subject 'common' has no version 5/);
    const seen: string[] = [];
    const spying = new SchemaRegistry({
      store: registryIn(t).store.schemaRegistry,
      formatOf: () => ({
        ...fieldsFormat,
        parse: (schema, refs) => {
          seen.push(...refs.keys());
          return fieldsFormat.parse(schema, refs);
        },
      }),
    });
    ok(spying.register('common', input({ id: 'required' })));
    ok(spying.register('s', input({ a: 'required' }, [ref])));
    assert.deepEqual(seen, ['common.avsc'], 'the referenced schema is handed to the format by its reference name');
    refused(spying.deleteVersion('common', 1, false), RegistryErrorCode.REFERENCE_EXISTS);
    ok(spying.deleteVersion('s', 1, false));
    ok(spying.deleteVersion('common', 1, false));
    refused(spying.deleteVersion('common', 1, true), RegistryErrorCode.REFERENCE_EXISTS);
    ok(spying.deleteVersion('s', 1, true));
    ok(spying.deleteVersion('common', 1, true));
  });

  it('READONLY refuses registering and deleting with 42205; a subject’s own mode wins; IMPORT is refused with 42204', (t) => {
    const { registry } = registryIn(t);
    ok(registry.register('s', input({ a: 'required' })));
    ok(registry.setMode(null, 'READONLY'));
    assert.match(refused(registry.register('s', input({})), RegistryErrorCode.OPERATION_NOT_PERMITTED), /read-only/);
    refused(registry.deleteVersion('s', 1, false), RegistryErrorCode.OPERATION_NOT_PERMITTED);
    refused(registry.deleteSubject('s', false), RegistryErrorCode.OPERATION_NOT_PERMITTED);
    ok(registry.setMode('s', 'READWRITE'));
    ok(registry.register('s', input({})));
    assert.match(refused(registry.setMode(null, 'IMPORT'), RegistryErrorCode.INVALID_MODE), /IMPORT/);
    refused(registry.mode('t', false), RegistryErrorCode.SUBJECT_MODE_NOT_CONFIGURED);
    assert.equal(ok(registry.mode('t', true)), 'READONLY');
    assert.equal(ok(registry.deleteMode('s')), 'READWRITE');
    refused(registry.register('s', input({ q: 'optional' })), RegistryErrorCode.OPERATION_NOT_PERMITTED);
  });

  it('a store that fails answers 50001 and leaves memory as it was', (t) => {
    let fail = false;
    const { registry } = registryIn(t, undefined, {}, (s) => ({
      load: () => s.load(),
      addVersion: (...a) => {
        if (fail) throw new Error('disk I/O error');
        return s.addVersion(...a);
      },
      softDeleteVersions: (...a) => {
        s.softDeleteVersions(...a);
      },
      hardDeleteVersions: (...a) => {
        s.hardDeleteVersions(...a);
      },
      setSetting: (...a) => {
        s.setSetting(...a);
      },
    }));
    ok(registry.register('s', input({ a: 'required' })));
    fail = true;
    assert.match(refused(registry.register('s', input({ a: 'required', b: 'optional' })), RegistryErrorCode.STORE_ERROR), /disk I\/O error/);
    assert.deepEqual(ok(registry.versions('s', false)), [1]);
    assert.equal(registry.schemaById(2), undefined);
    fail = false;
    assert.deepEqual(ok(registry.register('s', input({ a: 'required', b: 'optional' }))), { id: 2, version: 2, created: true });
  });
});

describe('SchemaRegistry: bounds', () => {
  it('versions per subject, subjects, schemas, schema size and references are bounded, each refusal naming its bound', (t) => {
    const { registry } = registryIn(t, undefined, { maxVersionsPerSubject: 2, maxSubjects: 2, maxSchemas: 3, maxSchemaBytes: 64, maxReferences: 1 });
    ok(registry.setCompatibility(null, 'NONE'));
    ok(registry.register('a', input({ a: 'required' })));
    ok(registry.register('a', input({ b: 'required' })));
    assert.match(refused(registry.register('a', input({ c: 'required' })), RegistryErrorCode.OPERATION_NOT_PERMITTED), /maxVersionsPerSubject/);
    ok(registry.register('b', input({ c: 'required' })));
    assert.match(refused(registry.register('c', input({ a: 'required' })), RegistryErrorCode.OPERATION_NOT_PERMITTED), /maxSubjects/);
    assert.match(refused(registry.setCompatibility('c', 'FULL'), RegistryErrorCode.OPERATION_NOT_PERMITTED), /maxSubjects/, 'settings of a new subject count too');
    assert.match(refused(registry.register('b', input({ d: 'required' })), RegistryErrorCode.OPERATION_NOT_PERMITTED), /maxSchemas/);
    ok(registry.register('b', input({ a: 'required' })), 'an existing schema takes no new id');
    assert.match(refused(registry.register('b', { ...input({}), schema: fields({ [('x').repeat(80)]: 'optional' }) }), RegistryErrorCode.INVALID_SCHEMA), /maxSchemaBytes/);
    assert.match(
      refused(registry.register('b', input({}, [{ name: 'x', subject: 'a', version: 1 }, { name: 'y', subject: 'a', version: 2 }])), RegistryErrorCode.INVALID_SCHEMA),
      /maxReferences/,
    );
  });

  it('keeps at most compiledCacheSize compiled schemas', (t) => {
    const { registry } = registryIn(t, undefined, { compiledCacheSize: 2 });
    ok(registry.setCompatibility(null, 'NONE'));
    for (const f of ['a', 'b', 'c']) ok(registry.register('s', input({ [f]: 'required' })));
    for (const id of [1, 2, 3, 1]) assert.ok(!('error' in registry.compiled(id)));
    assert.equal(registry.stats().compiledCached, 2);
    assert.deepEqual(registry.compiled(9), { error: 'no schema has id 9' });
  });
});
