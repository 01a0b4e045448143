import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, logFormatFrom, LogLevelError } from '../../src/logger.js';

/** A stream that keeps what is written to it, a terminal or not. */
function capture(isTTY: boolean): Writable & { text: () => string; isTTY: boolean } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  }) as Writable & { text: () => string; isTTY: boolean };
  stream.isTTY = isTTY;
  stream.text = () => chunks.join('');
  return stream;
}

const flushed = () => new Promise((resolve) => setImmediate(resolve));

describe('the broker’s logger', () => {
  it('writes JSON lines with ISO times and level names when the output is not a terminal', async () => {
    const out = capture(false);
    createLogger('info', 'auto', out).warn({ event: 'listening', port: 9092 }, 'listening');
    await flushed();
    const line = JSON.parse(out.text().trim()) as Record<string, unknown>;
    assert.equal(line.level, 'warn');
    assert.match(String(line.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(line.event, 'listening');
    assert.equal(line.msg, 'listening');
  });

  it('writes one readable line per entry on a terminal, and JSON there too when asked', async () => {
    const tty = capture(true);
    createLogger('info', 'auto', tty).info({ port: 9092 }, 'listening');
    await flushed();
    const text = tty.text();
    assert.doesNotMatch(text, /^\{/, 'not JSON');
    assert.match(text, /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/);
    assert.match(text, /INFO/);
    assert.match(text, /listening/);
    assert.match(text, /port/);
    assert.equal(text.trim().split('\n').length, 1, 'one line');

    const json = capture(true);
    createLogger('info', 'json', json).info({}, 'x');
    await flushed();
    assert.equal((JSON.parse(json.text()) as { level: string }).level, 'info');
  });

  it('leaves out what is below its level, and refuses an unknown format by name', async () => {
    const out = capture(false);
    createLogger('info', 'json', out).debug({}, 'a successful login');
    await flushed();
    assert.equal(out.text(), '');
    assert.equal(logFormatFrom(' Pretty '), 'pretty');
    assert.equal(logFormatFrom(undefined), 'auto');
    assert.throws(() => logFormatFrom('xml'), LogLevelError);
  });
});
