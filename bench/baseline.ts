/**
 * What the machine itself can do, measured in the same run as the broker so that the broker's figures
 * can be read as ratios: write+fdatasync to a few files (the ceiling for acks=all), and one loopback TCP
 * stream between two sockets of one process (the ceiling for a single client connection).
 */
import { closeSync, fdatasync, openSync, rmSync, writeSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { promisify } from 'node:util';

const sync = promisify(fdatasync);

/** MB/s of rounds of one `chunkBytes` write per file followed by fdatasync of every file. */
export async function diskBaseline(dir: string, files: number, chunkBytes: number, seconds: number): Promise<number> {
  const chunk = Buffer.alloc(chunkBytes, 0x61);
  const paths = Array.from({ length: files }, (_, i) => join(dir, `baseline-${i}`));
  const fds = paths.map((p) => openSync(p, 'w'));
  let written = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    for (const fd of fds) writeSync(fd, chunk, 0, chunk.length, written / files);
    written += chunk.length * files;
    await Promise.all(fds.map((fd) => sync(fd)));
  }
  const elapsed = (performance.now() - start) / 1000;
  for (const fd of fds) closeSync(fd);
  for (const p of paths) rmSync(p);
  return written / elapsed / 1e6;
}

/** MB/s of 1 MiB writes through one loopback TCP connection, both ends in this process. */
export async function loopbackBaseline(seconds: number): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  let received = 0;
  server.on('connection', (socket) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
  });
  const client = connect(address.port, '127.0.0.1');
  await once(client, 'connect');
  const chunk = Buffer.alloc(1024 * 1024);
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    if (!client.write(chunk)) await once(client, 'drain');
  }
  const elapsed = (performance.now() - start) / 1000;
  client.destroy();
  server.close();
  return received / elapsed / 1e6;
}
