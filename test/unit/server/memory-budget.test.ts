import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GUARANTEED_FRAME_BYTES, MemoryBudget } from '../../../src/server/memory-budget.js';

describe('MemoryBudget', () => {
  it('admits request bytes while it is not exhausted, so it holds at most its size plus one frame (KIP-72 non-strict)', () => {
    const budget = new MemoryBudget({ maxRequestBytes: 1000, maxResponseBytes: 1000 });
    assert.equal(budget.tryReserveRequest(900_000, false), true, 'a frame larger than the whole budget gets through');
    assert.equal(budget.tryReserveRequest(1, false), false);
    budget.releaseRequest(900_000);
    assert.equal(budget.tryReserveRequest(999, false), true);
    assert.equal(budget.tryReserveRequest(500_000, false), true);
    assert.equal(budget.requestBytes, 500_999);
  });

  it('lets a connection holding nothing read one small frame even when exhausted, and nothing larger', () => {
    const budget = new MemoryBudget({ maxRequestBytes: 1000, maxResponseBytes: 1000 });
    budget.tryReserveRequest(5000, false);
    assert.equal(budget.tryReserveRequest(GUARANTEED_FRAME_BYTES, false), false, 'not for a connection that holds something');
    assert.equal(budget.tryReserveRequest(GUARANTEED_FRAME_BYTES + 1, true), false);
    assert.equal(budget.tryReserveRequest(GUARANTEED_FRAME_BYTES, true), true);
  });

  it('tells a Fetch how many response bytes are left, never less than none', () => {
    const budget = new MemoryBudget({ maxRequestBytes: 1000, maxResponseBytes: 1000 });
    budget.addResponse(300);
    assert.equal(budget.responseRoom, 700);
    budget.addResponse(5000);
    assert.equal(budget.responseRoom, 0);
    budget.releaseResponse(5300);
    assert.equal(budget.responseRoom, 1000);
  });

  it('stops admitting requests while unsent responses fill their budget', () => {
    const budget = new MemoryBudget({ maxRequestBytes: 1000, maxResponseBytes: 1000 });
    budget.addResponse(1000);
    assert.equal(budget.responsesFull, true);
    assert.equal(budget.tryReserveRequest(100_000, false), false);
    budget.releaseResponse(1);
    assert.equal(budget.tryReserveRequest(100_000, false), true);
  });

  it('wakes waiting connections once, in the order they started waiting, after the release and not inside it', async () => {
    const budget = new MemoryBudget({ maxRequestBytes: 10, maxResponseBytes: 10 });
    budget.tryReserveRequest(100, false);
    const woken: string[] = [];
    const first = () => woken.push('first');
    budget.whenReleased(first);
    budget.whenReleased(() => woken.push('second'));
    budget.whenReleased(first);
    const cancelled = () => woken.push('cancelled');
    budget.whenReleased(cancelled);
    budget.cancel(cancelled);
    budget.releaseRequest(50);
    budget.releaseRequest(50);
    assert.deepEqual(woken, []);
    await Promise.resolve();
    assert.deepEqual(woken, ['first', 'second']);
    budget.releaseRequest(0);
    await Promise.resolve();
    assert.deepEqual(woken, ['first', 'second'], 'each wait is woken once');
  });
});
