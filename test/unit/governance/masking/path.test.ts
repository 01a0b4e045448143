import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eachTarget, valueAt, MAX_PATH_DEPTH, MAX_PATH_LENGTH, parsePath, type FieldPath, type PathTarget } from '../../../../src/governance/masking/path.js';

function parsed(text: string): FieldPath {
  const p = parsePath(text);
  if ('error' in p) assert.fail(p.error);
  return p;
}

function error(text: string): string {
  const p = parsePath(text);
  assert.ok('error' in p, `${text} should be refused`);
  return p.error;
}

/** Every place the path selects in `doc`, as `container key` strings with the value there. */
function selected(doc: unknown, text: string): unknown[] {
  const out: unknown[] = [];
  eachTarget({ v: doc }, 'v', parsed(text).segments, (t: PathTarget) => {
    out.push(valueAt(t));
  });
  return out;
}

describe('masking paths: parsing', () => {
  it('reads bare, $-rooted, quoted, element and member wildcards', () => {
    assert.deepEqual(parsed('card.number').segments, [{ kind: 'member', name: 'card' }, { kind: 'member', name: 'number' }]);
    assert.deepEqual(parsed('$.card.number').segments, parsed('card.number').segments, '$. in front is optional');
    assert.deepEqual(parsed('customers[*].email').segments, [{ kind: 'member', name: 'customers' }, { kind: 'elements' }, { kind: 'member', name: 'email' }]);
    assert.deepEqual(parsed('$.m[*][*]').segments, [{ kind: 'member', name: 'm' }, { kind: 'elements' }, { kind: 'elements' }]);
    assert.deepEqual(parsed('items.*.price').segments, [{ kind: 'member', name: 'items' }, { kind: 'members' }, { kind: 'member', name: 'price' }]);
    assert.deepEqual(parsed(`$["odd.name"]['it\\'s'].x`).segments, [{ kind: 'member', name: 'odd.name' }, { kind: 'member', name: "it's" }, { kind: 'member', name: 'x' }]);
    assert.deepEqual(parsed('$').segments, [], '$ alone is the whole value');
    assert.deepEqual(parsed('numéro.çà').segments, [{ kind: 'member', name: 'numéro' }, { kind: 'member', name: 'çà' }], 'names are Unicode');
  });

  it('refuses what is not a path, saying where', () => {
    assert.match(error(''), /empty/);
    assert.match(error('a..b'), /expected a field name or \* after "\." at position 2/);
    assert.match(error('a[0]'), /indexes and filters are not supported/);
    assert.match(error('a[?(@.x)]'), /indexes and filters/);
    assert.match(error('a["unterminated]'), /unterminated/);
    assert.match(error('a b'), /unexpected " "/);
    assert.match(error('.a'), /expected a field name or \$/);
    assert.match(error('$..a'), /after "\."/, 'no recursive descent');
  });

  it('bounds the length and the depth', () => {
    assert.match(error('a'.repeat(MAX_PATH_LENGTH + 1)), new RegExp(`at most ${MAX_PATH_LENGTH} characters`));
    parsed('a'.repeat(MAX_PATH_LENGTH));
    const deep = Array.from({ length: MAX_PATH_DEPTH + 1 }, () => 'a').join('.');
    assert.match(error(deep), new RegExp(`at most ${MAX_PATH_DEPTH} segments`));
    parsed(Array.from({ length: MAX_PATH_DEPTH }, () => 'a').join('.'));
  });
});

describe('masking paths: selecting', () => {
  const doc = { card: { number: '4111' }, customers: [{ email: 'a@x' }, { name: 'no email' }, { email: 'b@x' }], m: [[1, 2], [3]], items: { x: { price: 1 }, y: { price: 2 } } };

  it('selects members, every element (nested too) and every member', () => {
    assert.deepEqual(selected(doc, 'card.number'), ['4111']);
    assert.deepEqual(selected(doc, 'customers[*].email'), ['b@x', 'a@x'], 'last element first, so that removing one keeps the rest valid');
    assert.deepEqual(selected(doc, 'm[*][*]'), [3, 2, 1]);
    assert.deepEqual(selected(doc, 'items.*.price'), [2, 1]);
    assert.deepEqual(selected(doc, '$'), [doc]);
  });

  it('selects nothing where the document has no such member or the wrong shape', () => {
    assert.deepEqual(selected(doc, 'card.cvv'), []);
    assert.deepEqual(selected(doc, 'card[*]'), [], '[*] on an object');
    assert.deepEqual(selected(doc, 'customers.email'), [], 'a member of an array');
    assert.deepEqual(selected('text', 'a'), []);
    assert.deepEqual(selected(null, 'a.b'), []);
  });

  it('follows own members only: __proto__ and constructor are never inherited ones', () => {
    assert.deepEqual(selected({ a: 1 }, 'constructor'), []);
    assert.deepEqual(selected({ a: 1 }, '__proto__'), []);
    const own = JSON.parse('{"__proto__": {"x": "secret"}}') as unknown;
    assert.deepEqual(selected(own, '__proto__.x'), ['secret'], 'a document member named __proto__ is a member like another');
  });
});
