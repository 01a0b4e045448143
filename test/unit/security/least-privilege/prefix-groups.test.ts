import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupExactPrefixes } from '../../../../src/security/least-privilege/prefix-groups.js';

const show = (patterns: ReturnType<typeof groupExactPrefixes>) => patterns.map((p) => (p.prefixed ? `${p.name}*` : p.name));

describe('groupExactPrefixes', () => {
  it('groups names under a prefix when every existing resource under it was used, narrowed to what the names share', () => {
    const existing = ['orders.eu', 'orders.us', 'payments'];
    assert.deepEqual(show(groupExactPrefixes(['orders.eu', 'orders.us'], existing)), ['orders.*']);
    const [p] = groupExactPrefixes(['orders.us', 'orders.eu'], existing);
    assert.deepEqual(p?.covers, ['orders.eu', 'orders.us']);
  });

  it('keeps names literal when an existing resource under the shared prefix was not used', () => {
    assert.deepEqual(show(groupExactPrefixes(['orders.eu', 'orders.us'], ['orders.eu', 'orders.us', 'orders.apac'])), ['orders.eu', 'orders.us']);
  });

  it('needs at least two used resources: one name alone stays literal, even when it is alone under its prefix', () => {
    assert.deepEqual(show(groupExactPrefixes(['orders.eu'], ['orders.eu', 'payments'])), ['orders.eu']);
  });

  it('groups where exact and leaves the rest literal', () => {
    const existing = ['a.x1', 'a.x2', 'a.y', 'b.1', 'b.2', 'c'];
    // a.x1 and a.x2 are all of a.x…, but not of a.… (a.y unused); b.… entirely used; c alone.
    assert.deepEqual(show(groupExactPrefixes(['a.x1', 'a.x2', 'b.1', 'b.2', 'c'], existing)), ['a.x*', 'b.*', 'c']);
  });

  it('a name that is itself the shared prefix is covered by the pattern', () => {
    assert.deepEqual(show(groupExactPrefixes(['logs', 'logs.app'], ['logs', 'logs.app', 'metrics'])), ['logs*']);
  });

  it('covers used names that no longer exist when they fall under an exact prefix, and keeps the others literal', () => {
    const patterns = groupExactPrefixes(['orders.eu', 'orders.us', 'orders.old', 'gone'], ['orders.eu', 'orders.us']);
    assert.deepEqual(show(patterns), ['gone', 'orders.*']);
    assert.deepEqual(patterns.find((p) => p.prefixed)?.covers, ['orders.eu', 'orders.old', 'orders.us']);
  });

  it('with nothing that exists, nothing is grouped', () => {
    assert.deepEqual(show(groupExactPrefixes(['t1', 't2'], [])), ['t1', 't2']);
  });

  it('thousands of names take milliseconds, and every pattern it makes is exact and every name covered once', () => {
    const names = Array.from({ length: 5000 }, (_, i) => `team${i % 50}.topic${i}`);
    const existing = [...names, 'team7.unused', 'other'];
    const started = performance.now();
    const patterns = groupExactPrefixes(names, existing);
    const ms = performance.now() - started;
    assert.ok(ms < 2000, `${ms} ms`);
    const used = new Set(names);
    for (const p of patterns.filter((x) => x.prefixed)) {
      const under = existing.filter((n) => n.startsWith(p.name));
      assert.ok(under.every((n) => used.has(n)), `${p.name} covers an unused resource`);
      assert.ok(p.covers.length >= 2 && p.covers.every((n) => n.startsWith(p.name)));
    }
    const covered = patterns.flatMap((p) => p.covers).sort();
    assert.deepEqual(covered, [...names].sort());
    assert.ok(patterns.length < names.length / 10, `${patterns.length} patterns: names were grouped`);
  });
});
