import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RefusalReporter } from '../../../../src/server/admission/refusal-reporter.js';
import type { SecurityEvent } from '../../../../src/security/events.js';

function recorder() {
  const events: SecurityEvent[] = [];
  return { events, sink: { emit: (e: SecurityEvent) => void events.push(e) } };
}

describe('refusal reporter', () => {
  it('reports the first refusal of an address per interval, then one summed event per reason', () => {
    const { events, sink } = recorder();
    const reporter = new RefusalReporter(sink, { intervalMs: 60_000 });
    for (let i = 0; i < 1000; i++) reporter.refused('10.0.0.1', `10.0.0.1:${1000 + i}`, 'CONNECTION_RATE', 'too fast');
    for (let i = 0; i < 10; i++) reporter.refused('10.0.0.1', '10.0.0.1:9', 'CONNECTION_LIMIT', 'too many');
    reporter.refused('10.0.0.2', '10.0.0.2:7', 'ADDRESS_DENIED', 'denied');
    assert.deepEqual(events, [
      { type: 'connection-refused', remote: '10.0.0.1:1000', reason: 'CONNECTION_RATE', detail: 'too fast' },
      { type: 'connection-refused', remote: '10.0.0.2:7', reason: 'ADDRESS_DENIED', detail: 'denied' },
    ]);
    reporter.flush();
    const summaries = events.slice(2);
    assert.equal(summaries.length, 2);
    const byReason = new Map(summaries.map((e) => [e.type === 'connection-refused' ? e.reason : '', e]));
    assert.deepEqual(byReason.get('CONNECTION_RATE'), {
      type: 'connection-refused',
      remote: '10.0.0.1:0',
      reason: 'CONNECTION_RATE',
      detail: '999 connection(s) from the address refused (CONNECTION_RATE) in the last 60 s, summed into this event',
      repeated: 998,
    });
    assert.equal((byReason.get('CONNECTION_LIMIT') as { repeated?: number }).repeated, 9);
    // Every refusal is counted once: the first events stand for one, the summaries for 1 + repeated.
    const counted = events.reduce((n, e) => n + (e.type === 'connection-refused' ? 1 + (e.repeated ?? 0) : 0), 0);
    assert.equal(counted, 1011);
    // A new interval: the address is reported again with its detail.
    reporter.refused('10.0.0.1', '10.0.0.1:5', 'CONNECTION_RATE', 'too fast');
    assert.equal(events.length, 5);
    reporter.close();
  });

  it('sums refusals of addresses beyond its table under *, so that memory stays bounded', () => {
    const { events, sink } = recorder();
    const reporter = new RefusalReporter(sink, { intervalMs: 60_000, maxAddresses: 10 });
    for (let i = 0; i < 5000; i++) reporter.refused(`10.0.${i >> 8}.${i & 255}`, `10.0.${i >> 8}.${i & 255}:1`, 'CONNECTION_LIMIT', 'full');
    assert.equal(events.length, 10);
    reporter.flush();
    assert.equal(events.length, 11);
    assert.deepEqual(events[10], {
      type: 'connection-refused',
      remote: '*',
      reason: 'CONNECTION_LIMIT',
      detail: '4990 connection(s) from addresses beyond the first reported ones refused (CONNECTION_LIMIT) in the last 60 s, summed into this event',
      repeated: 4989,
    });
    reporter.close();
  });

  it('reports each kind of failed TLS handshake of an address apart, and sums the repeats of each', () => {
    const { events, sink } = recorder();
    const reporter = new RefusalReporter(sink, { intervalMs: 60_000 });
    for (let i = 0; i < 3; i++) reporter.refused('10.0.0.1', '10.0.0.1:1', 'TLS_HANDSHAKE_FAILED', 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
    for (let i = 0; i < 3; i++) reporter.refused('10.0.0.1', '10.0.0.1:2', 'TLS_HANDSHAKE_FAILED', 'ERR_TLS_HANDSHAKE_TIMEOUT');
    assert.deepEqual(
      events.map((e) => (e.type === 'connection-refused' ? e.detail : '')),
      ['ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE', 'ERR_TLS_HANDSHAKE_TIMEOUT'],
    );
    reporter.flush();
    assert.deepEqual(
      events.slice(2).map((e) => (e.type === 'connection-refused' ? [e.remote, e.reason, e.repeated] : [])),
      [
        ['10.0.0.1:0', 'TLS_HANDSHAKE_FAILED', 1],
        ['10.0.0.1:0', 'TLS_HANDSHAKE_FAILED', 1],
      ],
    );
    reporter.close();
  });
});
