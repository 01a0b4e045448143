import { connect, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { once } from 'node:events';
import { FrameSplitter } from '../../src/protocol/frame-splitter.js';

/**
 * A bare TCP (or, with `tls`, TLS) client that collects response frames (payloads without size
 * prefix) in arrival order.
 */
export async function rawClient(
  port: number,
  options: { tls?: ConnectionOptions } = {},
): Promise<{ socket: Socket; frames: Buffer[]; waitFrames(n: number): Promise<Buffer[]>; closed: Promise<unknown> }> {
  const socket = options.tls === undefined ? connect(port, '127.0.0.1') : connectTls({ host: '127.0.0.1', port, servername: 'localhost', ...options.tls });
  await once(socket, options.tls === undefined ? 'connect' : 'secureConnect');
  // As every Kafka client does: pipelined small requests must not wait for Nagle's algorithm.
  socket.setNoDelay(true);
  const frames: Buffer[] = [];
  const splitter = new FrameSplitter(64 * 1024 * 1024);
  socket.on('data', (chunk: Buffer) => {
    splitter.push(chunk);
    for (let f = splitter.next(); f !== null; f = splitter.next()) frames.push(f);
  });
  socket.on('error', () => undefined);
  // Resolves on close whatever the cause (a reset by the broker is how some refusals end).
  const closed = new Promise<unknown>((resolve) => socket.once('close', resolve));
  const waitFrames = async (n: number) => {
    const deadline = Date.now() + 5000;
    while (frames.length < n) {
      if (Date.now() > deadline) throw new Error(`got ${frames.length} of ${n} frames`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return frames;
  };
  return { socket, frames, waitFrames, closed };
}
