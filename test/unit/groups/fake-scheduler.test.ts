import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeScheduler } from './fake-scheduler.js';

/** The coordinator tests are only as exact as their clock. */
describe('FakeScheduler', () => {
  it('fires due timers in due-time order, ties in scheduling order, with now() at each due time', () => {
    const clock = new FakeScheduler();
    const fired: [string, number][] = [];
    const note = (name: string) => () => fired.push([name, clock.now()]);
    clock.schedule(note('c'), 300);
    clock.schedule(note('a'), 100);
    clock.schedule(note('b1'), 200);
    clock.schedule(note('b2'), 200);
    clock.advance(199);
    assert.deepEqual(fired, [['a', 100]]);
    assert.equal(clock.now(), 199);
    clock.advance(101);
    assert.deepEqual(fired, [
      ['a', 100],
      ['b1', 200],
      ['b2', 200],
      ['c', 300],
    ]);
    assert.equal(clock.pending, 0);
  });

  it('fires timers scheduled by timers within the same advance, and none past its end', () => {
    const clock = new FakeScheduler();
    const fired: number[] = [];
    const chain = (): void => {
      fired.push(clock.now());
      clock.schedule(chain, 10);
    };
    clock.schedule(chain, 10);
    clock.schedule(() => fired.push(-clock.now()), 25);
    clock.advance(35);
    assert.deepEqual(fired, [10, 20, -25, 30]);
    assert.deepEqual(clock.dueTimes(), [40]);
    // A zero-delay timer scheduled from a timer runs in the same advance, after the current one.
    clock.schedule(() => clock.schedule(() => fired.push(0), 0), 0);
    clock.advance(0);
    assert.deepEqual(fired, [10, 20, -25, 30, 0]);
  });

  it('cancel removes a timer, including one cancelled by an earlier timer; unknown handles are ignored', () => {
    const clock = new FakeScheduler();
    const fired: string[] = [];
    const later = clock.schedule(() => fired.push('later'), 20);
    clock.schedule(() => {
      fired.push('first');
      clock.cancel(later);
    }, 10);
    clock.cancel(null);
    clock.cancel(12345);
    clock.advance(100);
    assert.deepEqual(fired, ['first']);
    assert.throws(() => {
      clock.advance(-1);
    }, RangeError);
  });
});
