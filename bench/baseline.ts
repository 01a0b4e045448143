/**
 * What the machine itself can do, measured in the same run as the broker so that the broker's figures
 * can be read as ratios: write+fdatasync to a few files (the ceiling for acks=all), one loopback TCP
 * stream between two sockets of one process (the ceiling for a single client connection), plaintext
 * or TLS (what Node's TLS stack costs before any broker code runs), and the sealing of stored batches
 * alone (what encryption at rest costs one thread before any I/O).
 */
import { createSecretKey, randomBytes } from 'node:crypto';
import { closeSync, fdatasync, openSync, rmSync, writeSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { connect as connectTls, createServer as createTlsServer } from 'node:tls';
import { once } from 'node:events';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildBatchSync } from '../src/records/record.js';
import { openSealed, sealBatch } from '../src/storage/crypto/sealed-batch.js';

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

/**
 * MB/s of 1 MiB writes through one loopback connection, both ends in this process: plain TCP, or TLS
 * 1.3 when given a certificate, key and the CA to verify them with.
 */
export async function loopbackBaseline(seconds: number, tls?: { cert: Buffer; key: Buffer; ca: Buffer }): Promise<number> {
  const server: Server = tls === undefined ? createServer() : createTlsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.3' });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  let received = 0;
  server.on(tls === undefined ? 'connection' : 'secureConnection', (socket: Socket) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
  });
  const client =
    tls === undefined ? connect(address.port, '127.0.0.1') : connectTls({ port: address.port, host: '127.0.0.1', ca: tls.ca, servername: 'localhost' });
  await once(client, tls === undefined ? 'connect' : 'secureConnect');
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

/**
 * MB/s (of the clear batch) of the log's own sealing and opening of one stored batch of `records`
 * records of `recordBytes` each, over and over in this thread: AES-256-GCM, the associated data and
 * the CRC of the sealed entry, as PartitionLog.append and PartitionLog.readRecords do them. Counted in
 * CPU time (the best of short runs over `seconds`), so that other processes on the machine matter little.
 */
export function sealingBaseline(recordBytes: number, records: number, seconds: number): { seal: number; open: number } {
  const value = Buffer.alloc(recordBytes, 0x61);
  const batch = buildBatchSync({ records: Array.from({ length: records }, () => ({ value })) });
  const key = createSecretKey(randomBytes(32));
  const place = { topicId: randomBytes(16).toString('base64url'), partition: 0 };
  const sealed = sealBatch(batch, place, 1, key);
  const runs = {
    seal: () => sealBatch(batch, place, 1, key),
    open: () => {
      if (!Buffer.isBuffer(openSealed(sealed, place, key))) throw new Error('a sealed batch failed to open');
    },
  };
  const best = { seal: 0, open: 0 };
  const perRun = Math.max(16, Math.round(4e6 / batch.length));
  const end = performance.now() + seconds * 1000;
  // Interleaved, so that both see the same machine.
  while (performance.now() < end) {
    for (const kind of ['seal', 'open'] as const) {
      const before = process.cpuUsage();
      for (let i = 0; i < perRun; i++) runs[kind]();
      const used = process.cpuUsage(before);
      best[kind] = Math.max(best[kind], (perRun * batch.length) / (used.user + used.system || 1));
    }
  }
  return best;
}
