import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { printable } from '../../../src/client/printable.js';

describe('printable', () => {
  it('keeps ordinary text, non-ASCII included', () => {
    for (const text of ['orders', 'zoë o\'brien "q"\\x', 'Jürgen 😀', 'a b']) assert.equal(printable(text), text);
  });

  it('escapes what could break a line, move the cursor or hide: controls, format characters, separators', () => {
    assert.equal(printable('evil\nroot  SCRAM-SHA-512 (8192 iterations)'), 'evil\\nroot  SCRAM-SHA-512 (8192 iterations)');
    assert.equal(printable('\u001b[2K\rroot'), '\\x1b[2K\\rroot');
    assert.equal(printable('a\tb\u0085c\u007f'), 'a\\tb\\x85c\\x7f');
    assert.equal(printable('admin\u200b'), 'admin\\u200b');
    assert.equal(printable('ad\u202emin'), 'ad\\u202emin');
    assert.equal(printable('a\u2028b'), 'a\\u2028b');
    assert.equal(printable('tag\u{e0001}'), 'tag\\u{e0001}');
    assert.equal(printable('lone \ud800'), 'lone \\ud800');
    assert.doesNotMatch(printable('x\ny\rz\u2029'), /[\n\r\u2029]/);
  });
});
