import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { applyRule, MAX_KEEP, parseRule, ruleText, type MaskRule } from '../../../../src/governance/masking/rules.js';

const KEY = Buffer.alloc(32, 7);

function rule(text: string): MaskRule {
  const r = parseRule(text);
  if ('error' in r) assert.fail(r.error);
  return r;
}

/** The value after the rule is applied to member `v` of a holder; undefined when removed. */
function masked(value: unknown, text: string, key = KEY): unknown {
  const holder: Record<string, unknown> = { v: value };
  applyRule({ container: holder, key: 'v' }, rule(text), key);
  return holder.v;
}

describe('masking rules: parsing', () => {
  it('reads each rule, with a space or a colon before the count', () => {
    assert.deepEqual(rule('mask'), { kind: 'mask' });
    assert.deepEqual(rule('keep-last 4'), { kind: 'keep-last', n: 4 });
    assert.deepEqual(rule('keep-first:2'), { kind: 'keep-first', n: 2 });
    assert.deepEqual(rule('hash'), { kind: 'hash' });
    assert.deepEqual(rule('redact'), { kind: 'redact' });
    assert.deepEqual(rule('null'), { kind: 'null' });
    assert.equal(ruleText(rule('keep-last:4')), 'keep-last 4');
  });

  it('refuses unknown rules, missing or out-of-range counts, counts where none is taken', () => {
    for (const bad of ['', 'blur', 'keep-last', 'keep-last 0', `keep-last ${MAX_KEEP + 1}`, 'mask 3', 'keep-last -1', 'keep-last 4x']) {
      assert.ok('error' in parseRule(bad), `${JSON.stringify(bad)} should be refused`);
    }
  });
});

describe('masking rules: strings', () => {
  it('mask: every character, counted in code points (accents, CJK, emoji)', () => {
    assert.equal(masked('4111111111111111', 'mask'), '****************');
    assert.equal(masked('José', 'mask'), '****');
    assert.equal(masked('東京', 'mask'), '**');
    assert.equal(masked('a😀b', 'mask'), '***', 'a surrogate pair is one character');
    assert.equal(masked('', 'mask'), '');
  });

  it('keep-first and keep-last keep N code points, never splitting a surrogate pair', () => {
    assert.equal(masked('4111111111111234', 'keep-last 4'), '************1234');
    assert.equal(masked('alice@example.com', 'keep-first 2'), 'al***************');
    assert.equal(masked('😀😀😀', 'keep-last 1'), '**😀');
    assert.equal(masked('😀😀😀', 'keep-first 1'), '😀**');
  });

  it('keep-last and keep-first mask a value no longer than N whole: a short value is never shown in full', () => {
    assert.equal(masked('1234', 'keep-last 4'), '****');
    assert.equal(masked('12', 'keep-last 4'), '**');
    assert.equal(masked('ab', 'keep-first 5'), '**');
  });
});

describe('masking rules: other types', () => {
  it('numbers, big integers and booleans are masked as their text', () => {
    assert.equal(masked(4111111111111234, 'keep-last 4'), '************1234');
    assert.equal(masked(3.5, 'mask'), '***');
    assert.equal(masked(12345678901234567890n, 'keep-last 2'), '******************90');
    assert.equal(masked(true, 'mask'), '****');
  });

  it('null stays null under mask, keep and hash; the null rule nulls; redact removes', () => {
    assert.equal(masked(null, 'mask'), null);
    assert.equal(masked(null, 'hash'), null);
    assert.equal(masked('x', 'null'), null);
    const holder: Record<string, unknown> = { v: 'x', w: 1 };
    applyRule({ container: holder, key: 'v' }, rule('redact'), KEY);
    assert.deepEqual(holder, { w: 1 });
    assert.ok(!('v' in holder));
  });

  it('redact takes an array element out; null keeps its place', () => {
    const list = ['a', 'b', 'c'];
    applyRule({ container: list, key: 1 }, rule('redact'), KEY);
    assert.deepEqual(list, ['a', 'c']);
    applyRule({ container: list, key: 0 }, rule('null'), KEY);
    assert.deepEqual(list, [null, 'c']);
  });

  it('bytes stay bytes: masked with * bytes, hashed to the 32 digest bytes', () => {
    const bytes = Buffer.from([1, 2, 3, 4, 5, 6]);
    assert.deepEqual(masked(bytes, 'keep-last 2'), Buffer.from([0x2a, 0x2a, 0x2a, 0x2a, 5, 6]));
    assert.deepEqual(masked(new Uint8Array([9, 9]), 'mask'), Buffer.from('**'));
    const hashed = masked(bytes, 'hash');
    assert.ok(Buffer.isBuffer(hashed));
    assert.deepEqual(hashed, createHmac('sha256', KEY).update(bytes).digest());
  });

  it('an object or array under mask, keep or hash keeps its shape, every scalar inside masked', () => {
    assert.deepEqual(masked({ number: '4111', exp: { m: 12, y: 2030 }, tags: ['a', null] }, 'mask'), { number: '****', exp: { m: '**', y: '****' }, tags: ['*', null] });
    const deep: Record<string, unknown> = {};
    let at = deep;
    for (let i = 0; i < 100_000; i++) {
      const next: Record<string, unknown> = {};
      at.n = next;
      at = next;
    }
    at.secret = 'xyz';
    masked(deep, 'mask');
    assert.equal(at.secret, '***', 'a 100,000-deep document is walked without recursion');
  });
});

describe('masking rules: hash', () => {
  it('is HMAC-SHA-256 in hex: equal inputs give equal outputs, other inputs and other keys differ', () => {
    const a = masked('alice@example.com', 'hash');
    assert.equal(a, createHmac('sha256', KEY).update('alice@example.com').digest('hex'));
    assert.match(a, /^[0-9a-f]{64}$/);
    assert.equal(masked('alice@example.com', 'hash'), a, 'equal inputs: equal hashes (joins work)');
    assert.notEqual(masked('bob@example.com', 'hash'), a);
    assert.notEqual(masked('alice@example.com', 'hash', Buffer.alloc(32, 8)), a, 'another key: another hash');
    assert.equal(masked(42, 'hash'), masked('42', 'hash'), 'a number hashes as its text, so that 42 and "42" join');
  });
});
