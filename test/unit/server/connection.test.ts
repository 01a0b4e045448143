import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection, type ConnectionLimits, type FrameControl } from '../../../src/server/connection.js';
import { CloseReasons, type CloseReason } from '../../../src/close-reasons.js';
import { MemoryBudget } from '../../../src/server/memory-budget.js';
import { recordingLogger } from '../../helpers/broker.js';
import { FakeSocket, frame } from './fake-socket.js';

interface Call {
  readonly frame: Buffer;
  readonly control: FrameControl;
  /** Answers with a response of `bytes` bytes (null: no response, as acks=0). */
  respond(bytes: number | null): void;
}

const LIMITS: ConnectionLimits = { maxFrameBytes: 1 << 20, maxInFlightRequests: 64, maxQueuedRequestBytes: 1 << 20, maxQueuedResponseBytes: 1 << 20 };

/** A connection over a fake socket whose handler answers only when the test says so. */
function connect(limits: Partial<ConnectionLimits> = {}, options: { budget?: MemoryBudget; responseWriteTimeoutMs?: number } = {}) {
  const socket = new FakeSocket();
  const calls: Call[] = [];
  const closes: CloseReason[] = [];
  const connection = new Connection({
    socket,
    id: 1,
    limits: { ...LIMITS, ...limits },
    responseWriteTimeoutMs: options.responseWriteTimeoutMs ?? 60_000,
    ...(options.budget === undefined ? {} : { budget: options.budget }),
    handle: (f, control) =>
      new Promise((resolve) => {
        calls.push({ frame: f, control, respond: (bytes) => { resolve(bytes === null ? null : [Buffer.alloc(bytes, 9)]); } });
      }),
    logger: recordingLogger(),
    onClose: (reason) => closes.push(reason),
  });
  return { socket, calls, closes, connection };
}

/** Lets the connection's promises and the fake socket's next-tick events run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

function call(calls: Call[], i: number): Call {
  const c = calls[i];
  if (c === undefined) throw new Error(`request ${i} was not started (${calls.length} were)`);
  return c;
}

describe('Connection: what one connection may make the broker hold', () => {
  it('reads no more frames while maxInFlightRequests requests are read and unanswered', async () => {
    const { socket, calls, connection } = connect({ maxInFlightRequests: 3 });
    socket.send(Buffer.concat(Array.from({ length: 10 }, () => frame(10))));
    await settle();
    assert.equal(calls.length, 1, 'one request is handled at a time');
    assert.deepEqual(connection.held, { inFlight: 3, requestBytes: 30, responseBytes: 0, reading: false });
    for (let i = 0; i < 10; i++) {
      call(calls, i).respond(5);
      await settle();
      assert.ok(connection.held.inFlight <= 3);
    }
    assert.equal(calls.length, 10);
    assert.deepEqual(connection.held, { inFlight: 0, requestBytes: 0, responseBytes: 0, reading: true });
  });

  it('holds at most maxQueuedRequestBytes of frames, and reads a larger frame once it holds none', async () => {
    const { socket, calls, connection } = connect({ maxQueuedRequestBytes: 250 });
    socket.send(Buffer.concat([frame(100), frame(100), frame(100), frame(1000)]));
    await settle();
    assert.deepEqual(connection.held, { inFlight: 2, requestBytes: 200, responseBytes: 0, reading: false });
    call(calls, 0).respond(5);
    await settle();
    assert.equal(connection.held.requestBytes, 200, 'the third frame took the place of the first');
    call(calls, 1).respond(5);
    await settle();
    assert.equal(connection.held.requestBytes, 100, 'the big frame waits while the connection holds any');
    call(calls, 2).respond(5);
    await settle();
    assert.equal(connection.held.requestBytes, 1000);
    assert.equal(call(calls, 3).frame.length, 1000);
  });

  it('reads a frame only once it is admitted: the rest of a refused frame stays with the client', async () => {
    const { socket, calls, connection } = connect({ maxInFlightRequests: 1 });
    socket.send(frame(10));
    await settle();
    // A second frame's first bytes arrive: its size prefix is refused, the socket pauses...
    const second = frame(5000);
    socket.send(second.subarray(0, 100));
    socket.send(second.subarray(100));
    await settle();
    assert.equal(connection.held.reading, false);
    assert.equal(socket.unreadBytes, 4904, 'what came after the refused prefix was not read');
    call(calls, 0).respond(5);
    await settle();
    assert.equal(socket.unreadBytes, 0);
    assert.equal(call(calls, 1).frame.length, 5000);
  });

  it('stops reading and starting requests while the client leaves its responses unread, and resumes when it reads', async () => {
    const { socket, calls, connection } = connect({ maxQueuedResponseBytes: 256 });
    socket.reading = false;
    socket.highWaterMark = 64;
    // Each request releases the connection at once (as an acks=all produce does), so only the
    // response bound can hold the next one back.
    socket.send(Buffer.concat(Array.from({ length: 4 }, () => frame(10))));
    await settle();
    call(calls, 0).control.release();
    await settle();
    call(calls, 0).respond(300);
    await settle();
    assert.equal(connection.held.responseBytes, 300);
    assert.equal(connection.held.reading, false, 'no more frames are read');
    call(calls, 1).control.release();
    await settle();
    assert.equal(calls.length, 2, 'no request starts while 300 response bytes are unread');
    socket.send(frame(10));
    await settle();
    assert.equal(socket.unreadBytes, 14);
    socket.take();
    await settle();
    assert.equal(connection.held.responseBytes, 0);
    assert.equal(calls.length, 3);
    assert.equal(socket.unreadBytes, 0, 'reading resumed');
  });

  it('keeps produce pipelining: a released request lets the next start, and responses are written in order', async () => {
    const { socket, calls } = connect();
    socket.send(Buffer.concat([frame(10), frame(10), frame(10)]));
    await settle();
    call(calls, 0).control.release();
    await settle();
    call(calls, 1).control.release();
    await settle();
    assert.equal(calls.length, 3, 'three requests handled at once');
    call(calls, 2).respond(30);
    call(calls, 1).respond(20);
    await settle();
    assert.equal(socket.written.length, 0, 'nothing is written before the first response');
    call(calls, 0).respond(10);
    await settle();
    assert.deepEqual(
      socket.written.map((c) => c.length),
      [10, 20, 30],
    );
  });

  it('closes a client that takes none of its responses for responseWriteTimeoutMs, and not one that reads slowly', async () => {
    const stalled = connect({}, { responseWriteTimeoutMs: 200 });
    const slow = connect({}, { responseWriteTimeoutMs: 200 });
    for (const c of [stalled, slow]) {
      c.socket.reading = false;
      c.socket.send(frame(10));
    }
    await settle();
    call(stalled.calls, 0).respond(5000);
    call(slow.calls, 0).respond(5000);
    await settle();
    for (let ms = 0; ms < 1000; ms += 50) {
      slow.socket.take(100);
      await sleep(50);
    }
    assert.deepEqual(stalled.closes, [CloseReasons.RESPONSE_WRITE_TIMEOUT]);
    assert.equal(stalled.socket.destroyed, true);
    assert.deepEqual(slow.closes, []);
    assert.ok(slow.socket.writableLength > 0, 'the slow client still has bytes to read');
  });

  it('does not time out while responses wait for a handler rather than for the client', async () => {
    const { socket, calls, closes } = connect({}, { responseWriteTimeoutMs: 100 });
    socket.send(Buffer.concat([frame(10), frame(10)]));
    await settle();
    call(calls, 0).control.release();
    await settle();
    // The second response is ready, the first still waits (an fsync): nothing is in the socket.
    call(calls, 1).respond(50);
    await settle();
    await sleep(500);
    assert.deepEqual(closes, []);
    call(calls, 0).respond(10);
    await settle();
    assert.equal(socket.written.length, 2);
  });
});

describe('Connection: closing', () => {
  it('a graceful shutdown does not wait for ever for a client that never closes its side', async () => {
    const { socket, calls, connection } = connect();
    socket.send(frame(10));
    await settle();
    call(calls, 0).respond(5);
    await settle();
    await connection.shutdown();
    assert.equal(socket.ended, true, 'our side is ended once the request is answered');
    assert.equal(socket.destroyed, false);
    await sleep(1100);
    assert.equal(socket.destroyed, true, 'destroyed a second later: a half-open socket would keep the listener open');
  });
});

describe('Connection: the broker-wide budget', () => {
  it('an exhausted budget stops reading until memory is released; a small frame from a connection holding nothing still passes', async () => {
    const budget = new MemoryBudget({ maxRequestBytes: 150_000, maxResponseBytes: 1 << 20 });
    const [a, b, c, d] = [connect({}, { budget }), connect({}, { budget }), connect({}, { budget }), connect({}, { budget })];
    a.socket.send(frame(100_000));
    b.socket.send(frame(100_000));
    await settle();
    assert.equal(budget.requestBytes, 200_000, 'admitted while the budget was not exhausted (KIP-72 non-strict)');
    c.socket.send(frame(100_000));
    await settle();
    assert.equal(c.calls.length, 0);
    assert.equal(c.connection.held.reading, false);
    d.socket.send(frame(1000));
    await settle();
    assert.equal(d.calls.length, 1, 'a 1000-byte request from a connection holding nothing is read');
    call(a.calls, 0).respond(10);
    await settle();
    assert.equal(c.calls.length, 1, 'woken when memory was released');
    assert.equal(budget.requestBytes, 201_000);
  });

  it('unsent responses above maxResponseBytes stop reading on connections that hold any', async () => {
    const budget = new MemoryBudget({ maxRequestBytes: 1 << 20, maxResponseBytes: 1000 });
    const a = connect({}, { budget });
    const b = connect({}, { budget });
    a.socket.reading = false;
    a.socket.send(frame(10));
    await settle();
    call(a.calls, 0).respond(2000);
    await settle();
    assert.equal(budget.responsesFull, true);
    // b holds a request being handled: its next frame (above the guaranteed size) is not read.
    b.socket.send(Buffer.concat([frame(10), frame(70_000)]));
    await settle();
    assert.equal(b.connection.held.inFlight, 1);
    a.socket.take();
    await settle();
    assert.equal(b.connection.held.inFlight, 2);
  });

  it('closing returns what the connection held to the budget', async () => {
    const budget = new MemoryBudget({ maxRequestBytes: 1 << 20, maxResponseBytes: 1 << 20 });
    const { socket, calls, connection } = connect({}, { budget });
    socket.reading = false;
    socket.send(Buffer.concat([frame(100), frame(200)]));
    await settle();
    call(calls, 0).respond(5000);
    await settle();
    assert.deepEqual([budget.requestBytes, budget.responseBytes], [200, 5000]);
    connection.close(CloseReasons.SERVER_SHUTDOWN);
    await connection.closed;
    assert.deepEqual([budget.requestBytes, budget.responseBytes], [0, 0]);
  });
});

describe('Connection: a quota’s throttle (KIP-219)', () => {
  function throttled(options: { idleTimeoutMs?: number; maxMuteMs?: number } = {}) {
    const socket = new FakeSocket();
    const calls: Call[] = [];
    const closes: CloseReason[] = [];
    const connection = new Connection({
      socket,
      id: 1,
      limits: LIMITS,
      responseWriteTimeoutMs: 60_000,
      maxMuteMs: options.maxMuteMs ?? 10_000,
      ...(options.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: options.idleTimeoutMs }),
      handle: (f, control) =>
        new Promise((resolve) => {
          calls.push({ frame: f, control, respond: (bytes) => { resolve(bytes === null ? null : [Buffer.alloc(bytes, 9)]); } });
        }),
      logger: recordingLogger(),
      onClose: (reason) => closes.push(reason),
    });
    return { socket, calls, closes, connection };
  }

  it('writes the response at once, then reads and starts nothing until the throttle time has passed', async () => {
    const { socket, calls, connection } = throttled();
    socket.send(frame(10));
    await settle();
    call(calls, 0).control.throttle(300);
    call(calls, 0).respond(5);
    await settle();
    assert.equal(socket.written.length, 1, 'the throttled response is not held back');
    assert.equal(connection.muted, true);
    assert.equal(socket.paused, true);
    socket.send(frame(10));
    await sleep(150);
    assert.equal(calls.length, 1, 'nothing of the muted client is handled');
    await sleep(250);
    await settle();
    assert.equal(connection.muted, false);
    assert.equal(calls.length, 2, 'the next request is read once the mute ends');
  });

  it('bounds the mute by maxMuteMs, and the idle timeout does not count it', async () => {
    const { socket, calls, closes, connection } = throttled({ idleTimeoutMs: 200, maxMuteMs: 400 });
    socket.send(frame(10));
    await settle();
    call(calls, 0).control.throttle(3_600_000);
    call(calls, 0).respond(5);
    await sleep(300);
    assert.deepEqual(closes, [], 'muted by us: not idle');
    assert.equal(connection.muted, true);
    await sleep(200);
    assert.equal(connection.muted, false, 'an hour asked for, 400 ms at most');
    assert.deepEqual(closes, []);
    // Idle from the end of the mute: closed once idleTimeoutMs passes with nothing sent.
    await sleep(450);
    assert.deepEqual(closes, [CloseReasons.IDLE_TIMEOUT]);
  });
});
