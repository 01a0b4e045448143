import type { KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { unsealEntriesInPlace, type Unsealed } from './unseal-entries.js';

/**
 * A worker of the unseal pool (unseal-pool.ts): opens a read's sealed entries in place, in the buffer
 * the broker transferred, and transfers it back. Holds nothing between jobs: the keys come with each.
 */
export interface UnsealRequest {
  readonly job: number;
  readonly buffer: ArrayBuffer;
  readonly length: number;
  readonly keys: readonly (readonly [number, KeyObject])[];
  readonly topicId: string;
  readonly partition: number;
}

export interface UnsealReply {
  readonly job: number;
  readonly buffer: ArrayBuffer;
  readonly result: Unsealed | { readonly error: string };
}

const port = parentPort;
if (port === null) throw new Error('unseal-worker.js runs as a worker thread');
port.on('message', (request: UnsealRequest) => {
  let result: UnsealReply['result'];
  try {
    result = unsealEntriesInPlace(Buffer.from(request.buffer, 0, request.length), new Map(request.keys), { topicId: request.topicId, partition: request.partition });
  } catch (err) {
    result = { error: err instanceof Error ? err.message : String(err) };
  }
  const reply: UnsealReply = { job: request.job, buffer: request.buffer, result };
  port.postMessage(reply, [request.buffer]);
});
