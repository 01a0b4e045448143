import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OneAtATime } from '../../src/one-at-a-time.js';

describe('OneAtATime', () => {
  it('runs tasks one after another in the order given, a failed one not stopping the next', async () => {
    const queue = new OneAtATime();
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const task = (n: number, fail = false) => async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      order.push(n);
      running--;
      if (fail) throw new Error(`task ${n}`);
      return n;
    };
    const results = await Promise.allSettled([queue.run(task(1)), queue.run(task(2, true)), queue.run(task(3))]);
    assert.deepEqual(order, [1, 2, 3]);
    assert.equal(most, 1);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
  });
});
