import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_CODES, ErrorCode, errorByCode, isRetriable } from '../../../src/protocol/error-codes.js';
import { readNotes, referenceSkip } from '../../helpers/reference.js';

/**
 * Every `<code> <NAME>` pair of the notes' "Error codes needed" paragraph, read at test time
 * (test/helpers/reference.ts). The notes write −1 with a Unicode minus and bold some entries.
 */
function neededErrorCodes(): { code: number; name: string }[] {
  const notes = readNotes();
  const heading = notes.indexOf('## 5. Error codes needed');
  assert.ok(heading >= 0, '"Error codes needed" heading not found in the notes');
  const body = notes.slice(notes.indexOf('\n', heading) + 1);
  const paragraph = body.slice(0, body.search(/\n\s*\n/));
  const pairs: { code: number; name: string }[] = [];
  for (const m of paragraph.replaceAll('\u2212', '-').matchAll(/(?<![\w-])(-?\d+) ([A-Z][A-Z0-9_]*)\b/g)) {
    pairs.push({ code: Number(m[1]), name: m[2] ?? '' });
  }
  return pairs;
}

describe('error codes', () => {
  it('covers every code the protocol notes list, with the same name', { skip: referenceSkip }, () => {
    const needed = neededErrorCodes();
    assert.ok(needed.length >= 60, `parsed only ${needed.length} pairs from the notes' error codes`);
    assert.ok(
      needed.some((p) => p.code === -1 && p.name === 'UNKNOWN_SERVER_ERROR'),
      'the parse must find −1 UNKNOWN_SERVER_ERROR',
    );
    for (const { code, name } of needed) {
      assert.equal(errorByCode(code)?.name, name, `code ${code}`);
    }
  });

  it('has unique codes and unique names, ordered by code', () => {
    assert.equal(new Set(ERROR_CODES.map((e) => e.code)).size, ERROR_CODES.length);
    assert.equal(new Set(ERROR_CODES.map((e) => e.name)).size, ERROR_CODES.length);
    for (let i = 1; i < ERROR_CODES.length; i++) {
      assert.ok((ERROR_CODES[i]?.code ?? 0) > (ERROR_CODES[i - 1]?.code ?? 0), `order at index ${i}`);
    }
    for (const e of ERROR_CODES) assert.ok(e.message.length > 0, `${e.name} has a message`);
  });

  it('ErrorCode maps each name to its table code', () => {
    assert.equal(ErrorCode.TOPIC_AUTHORIZATION_FAILED, 29);
    assert.equal(ErrorCode.UNKNOWN_SERVER_ERROR, -1);
    assert.equal(ErrorCode.NONE, 0);
    assert.equal(Object.keys(ErrorCode).length, ERROR_CODES.length);
    for (const e of ERROR_CODES) assert.equal(ErrorCode[e.name], e.code);
    assert.ok(Object.isFrozen(ErrorCode));
  });

  it("keeps Kafka's retriable flags", () => {
    const retriable = [
      'CORRUPT_MESSAGE',
      'UNKNOWN_TOPIC_OR_PARTITION',
      'LEADER_NOT_AVAILABLE',
      'NOT_LEADER_OR_FOLLOWER',
      'REQUEST_TIMED_OUT',
      'COORDINATOR_LOAD_IN_PROGRESS',
      'COORDINATOR_NOT_AVAILABLE',
      'NOT_COORDINATOR',
      'NOT_ENOUGH_REPLICAS',
      'NOT_CONTROLLER',
      'CONCURRENT_TRANSACTIONS',
      'UNKNOWN_TOPIC_ID',
    ] as const;
    const fatal = [
      'UNKNOWN_SERVER_ERROR',
      'NONE',
      'OFFSET_OUT_OF_RANGE',
      'MESSAGE_TOO_LARGE',
      'REBALANCE_IN_PROGRESS',
      'TOPIC_AUTHORIZATION_FAILED',
      'GROUP_AUTHORIZATION_FAILED',
      'CLUSTER_AUTHORIZATION_FAILED',
      'SASL_AUTHENTICATION_FAILED',
      'UNSUPPORTED_VERSION',
      'INVALID_REQUEST',
      'PRODUCER_FENCED',
    ] as const;
    for (const name of retriable) assert.equal(isRetriable(ErrorCode[name]), true, name);
    for (const name of fatal) assert.equal(isRetriable(ErrorCode[name]), false, name);
  });

  it('answers unknown codes with undefined and not retriable', () => {
    for (const code of [-2, 32767, 1.5, Number.NaN]) {
      assert.equal(errorByCode(code), undefined);
      assert.equal(isRetriable(code), false);
    }
  });
});
