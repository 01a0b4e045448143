import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Fetch } from '../../src/protocol/messages/fetch.js';
import { splitBatches, validateBatch } from '../../src/protocol/records/batch.js';
import { withConnection } from '../helpers/client.js';

/**
 * Shared plumbing for the interop tests: what the broker stored, read back with the project's client,
 * and a runner for Python scripts under the system interpreter (where kafka-python and
 * confluent-kafka are installed).
 */

export const runFile = promisify(execFile);

/**
 * Runs a Python script with the distribution's interpreter (not whatever `python3` is first on PATH).
 * `input` is written to its stdin; stdout is returned, and stderr is included when it fails.
 */
export async function python(script: string, options: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const child = spawn('/usr/bin/python3', ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  clearTimeout(timer);
  if (code !== 0) throw new Error(`python exited with ${String(code)}\n${stderr}`);
  return stdout;
}

/**
 * Reads every stored batch with Fetch v12 and counts records per compression codec. Clients send a
 * batch uncompressed when compressing did not make it smaller (librdkafka does, often for small first
 * batches), so a codec is best checked by the share of records it carries.
 */
export async function recordsByCodec(port: number, topic: string, partition: number, endOffset: number): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  await withConnection(port, async (connection) => {
    let offset = 0n;
    while (offset < BigInt(endOffset)) {
      const body = await connection.request(Fetch, {
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 8 * 1024 * 1024,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 8 * 1024 * 1024 }] }],
        forgottenTopicsData: [],
        rackId: '',
      }, 12);
      const records = body.responses[0]?.partitions[0]?.records ?? null;
      assert.ok(records !== null && records.length > 0, `batches at offset ${offset}`);
      for (const batch of splitBatches(records, { allowPartialTail: true })) {
        const header = validateBatch(batch);
        assert.equal(header.baseOffset, offset, 'batches are contiguous');
        counts.set(header.compression, (counts.get(header.compression) ?? 0) + header.recordCount);
        offset += BigInt(header.lastOffsetDelta + 1);
      }
    }
  });
  return counts;
}

/** A record as passed to the Python scripts as JSON: bytes in hex, null for a null key or value. */
export interface HexRecord {
  key: string | null;
  value: string | null;
  headers: [string, string][];
  ts: number;
}

/** Messages with mixed shapes: null and empty keys and values, headers on some, lengths 0..300. */
export function mixedMessages(count: number, base: number, seed: number): HexRecord[] {
  const pool = randomBytes(400);
  return Array.from({ length: count }, (_, i) => {
    const len = (i * 37 + seed) % 301;
    const start = (i * 11) % 100;
    return {
      key: i % 2 === 0 ? null : i % 7 === 0 ? '' : Buffer.from(`k${i}`).toString('hex'),
      value: i % 500 === 7 ? null : Buffer.concat([Buffer.from(`${seed}:${i}:`), pool.subarray(start, start + len)]).toString('hex'),
      headers: i % 3 === 0 ? [['h', Buffer.from(`v${i}`).toString('hex')], ['empty', '']] : [],
      ts: base + i * 10,
    };
  });
}
