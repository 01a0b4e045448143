import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DataAccessLedger } from '../../../src/audit/data-access.js';
import type { SecurityEvent } from '../../../src/security/events.js';

describe('the data access ledger', () => {
  it('sums requests and bytes per principal, topic and operation, and reports each once', () => {
    const events: SecurityEvent[] = [];
    let now = 1000;
    const ledger = new DataAccessLedger({ events: { emit: (e) => events.push(e) }, clock: () => now });
    ledger.note('User:a', 't', 'write', 100);
    ledger.note('User:a', 't', 'write', 50);
    ledger.note('User:a', 't', 'read', 10);
    ledger.note('User:b', 't', 'write', 1);
    assert.equal(events.length, 0, 'nothing reported before the interval ends');
    now = 61_000;
    ledger.report();
    assert.deepEqual(events, [
      { type: 'data-access', principal: 'User:a', topic: 't', operation: 'write', requests: 2, bytes: 150, from: 1000, to: 61_000 },
      { type: 'data-access', principal: 'User:a', topic: 't', operation: 'read', requests: 1, bytes: 10, from: 1000, to: 61_000 },
      { type: 'data-access', principal: 'User:b', topic: 't', operation: 'write', requests: 1, bytes: 1, from: 1000, to: 61_000 },
    ]);
    ledger.report();
    assert.equal(events.length, 3, 'a report starts new sums');
  });

  it('holds at most maxEntries sums: the next new one reports them all first', () => {
    const events: SecurityEvent[] = [];
    const ledger = new DataAccessLedger({ events: { emit: (e) => events.push(e) }, maxEntries: 100 });
    for (let i = 0; i < 1000; i++) ledger.note('User:a', `topic-${i}`, 'read', 1);
    assert.ok(ledger.size <= 100);
    assert.equal(events.length, 900);
    ledger.close();
    assert.equal(events.length, 1000, 'close reports what is left');
    assert.equal(ledger.size, 0);
  });
});
