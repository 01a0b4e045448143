import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { parseDatetime } from '../../../src/cli/admin/group-reset.js';

describe('parseDatetime (--to-datetime)', () => {
  it('reads ISO-8601 times in UTC, with an offset (with or without a colon), or in local time without a zone', () => {
    const utc = Date.UTC(2024, 4, 1, 12, 0, 2, 500);
    assert.equal(parseDatetime('2024-05-01T12:00:02.500Z'), utc);
    assert.equal(parseDatetime('2024-05-01T14:00:02.5+02:00'), utc);
    assert.equal(parseDatetime('2024-05-01T07:30:02.500-0430'), utc);
    assert.equal(parseDatetime(' 2024-05-01T12:00Z '), Date.UTC(2024, 4, 1, 12, 0));
    assert.equal(parseDatetime('2024-05-01T12:00:02'), new Date(2024, 4, 1, 12, 0, 2).getTime());
    assert.equal(parseDatetime('2024-02-29T00:00:00Z'), Date.UTC(2024, 1, 29));
  });

  it('refuses what is not a real date and time after 1970', () => {
    for (const text of ['yesterday', '2024-05-01', '2024-05-01 12:00:00Z', '2023-02-29T00:00:00Z', '2024-04-31T00:00:00Z', '2024-13-01T00:00:00Z',
      '2024-05-01T24:00:00Z', '2024-05-01T12:60:00Z', '2024-05-01T12:00:00.1234Z', '1969-12-31T23:59:59Z', '2024-05-01T12:00:00+2']) {
      assert.throws(() => parseDatetime(text), InvalidArgumentError, text);
    }
  });
});
