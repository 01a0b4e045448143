import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenBucket } from '../../src/token-bucket.js';

describe('token bucket', () => {
  it('lets a burst of its capacity through, then its rate', () => {
    const bucket = new TokenBucket(10, 20, 0);
    let taken = 0;
    while (bucket.tryTake(0)) taken++;
    assert.equal(taken, 20);
    assert.equal(bucket.tryTake(50), false, 'half a token after 50 ms');
    assert.equal(bucket.tryTake(100), true, 'one token after 100 ms');
    assert.equal(bucket.tryTake(100), false);
    // A second later: ten more, and no more than that.
    let later = 0;
    while (bucket.tryTake(1100)) later++;
    assert.equal(later, 10);
    assert.equal(bucket.full(1100), false);
    assert.equal(bucket.full(1100 + 2000), true, 'refilled to its capacity, not beyond');
  });

  it('reserves tokens ahead for a delay, and refuses a delay over the bound', () => {
    const bucket = new TokenBucket(100, 2, 0);
    assert.equal(bucket.reserve(0, 1000), 0);
    assert.equal(bucket.reserve(0, 1000), 0);
    assert.equal(bucket.reserve(0, 1000), 10, 'the third waits for the next token');
    assert.equal(bucket.reserve(0, 1000), 20);
    assert.equal(bucket.reserve(0, 15), undefined, 'a 30 ms wait is over a 15 ms bound');
    assert.equal(bucket.reserve(0, 1000), 30, 'a refused reservation took nothing');
    assert.equal(bucket.reserve(30, 1000), 10, 'time pays the debt back');
  });
});

describe('token bucket in debt: the controller mutation quota (KIP-599)', () => {
  it('starts full, goes into debt for one large mutation, and refills at the rate', () => {
    const bucket = new TokenBucket(10, 110, 0);
    assert.equal(bucket.debtMs(0), 0);
    bucket.take(150, 0);
    assert.equal(bucket.tokens(0), -40);
    assert.equal(bucket.debtMs(0), 4000, '40 partitions at 10/s');
    assert.equal(bucket.debtMs(4000), 0);
    assert.equal(bucket.full(100_000), true, 'never more than the burst');
    assert.equal(bucket.tokens(100_000), 110);
  });
});
