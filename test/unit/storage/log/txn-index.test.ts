import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { nodeLogFs } from '../../../../src/storage/log/log-fs.js';
import {
  SegmentTxnIndex,
  TXN_INDEX_ENTRY,
  TXN_INDEX_HEADER,
  TxnIndexDamage,
  decodeTxnIndex,
  encodeTxnIndex,
  inspectTxnIndex,
  type AbortedTxn,
} from '../../../../src/storage/log/txn-index.js';
import { tempDir } from './helpers.js';

const entries = (n: number, base = 100n): AbortedTxn[] =>
  Array.from({ length: n }, (_, i) => ({ producerId: BigInt(i % 7), firstOffset: base + BigInt(2 * i), lastOffset: base + BigInt(2 * i + 1), lastStableOffset: base + BigInt(2 * i + 2) }));

describe('the aborted-transaction index file', () => {
  it('round-trips its entries and how far it is complete', () => {
    const file = encodeTxnIndex(entries(3), 120n);
    assert.equal(file.length, TXN_INDEX_HEADER + 3 * TXN_INDEX_ENTRY);
    assert.deepEqual(decodeTxnIndex(file, 100n, 120n), { coveredTo: 120n, entries: entries(3) });
    assert.deepEqual(decodeTxnIndex(encodeTxnIndex([], 100n), 100n, 100n), { coveredTo: 100n, entries: [] });
  });

  it('detects a file cut short, inside an entry or at an entry boundary, and any flipped byte', () => {
    const file = encodeTxnIndex(entries(3), 120n);
    assert.throws(() => decodeTxnIndex(file.subarray(0, file.length - 5), 100n, 120n), TxnIndexDamage);
    assert.throws(() => decodeTxnIndex(file.subarray(0, file.length - TXN_INDEX_ENTRY), 100n, 120n), /bytes for 3 entries/);
    assert.throws(() => decodeTxnIndex(file.subarray(0, 10), 100n, 120n), TxnIndexDamage);
    for (const at of [0, 9, 17, TXN_INDEX_HEADER + 3, TXN_INDEX_HEADER + TXN_INDEX_ENTRY + 20, file.length - 1]) {
      const flipped = Buffer.from(file);
      flipped[at] = (flipped[at] ?? 0) ^ 0x10;
      assert.throws(() => decodeTxnIndex(flipped, 100n, 120n), TxnIndexDamage, `byte ${at}`);
    }
  });

  it('refuses entries that do not fit the segment or what the file covers', () => {
    // A marker at or past the segment's end (the log was cut after the index was written).
    assert.throws(() => decodeTxnIndex(encodeTxnIndex(entries(3), 120n), 100n, 104n), /does not fit the segment/);
    assert.throws(() => decodeTxnIndex(encodeTxnIndex(entries(3), 103n), 100n, 120n), /past what the file covers/);
    // Out of order.
    assert.throws(() => decodeTxnIndex(encodeTxnIndex([...entries(2)].reverse(), 120n), 100n, 120n), /does not fit/);
  });

  it('is read in chunks from disk, checked as it goes, and a search can stop early', (t) => {
    const dir = tempDir(t);
    const path = join(dir, '00000000000000000100.txnindex');
    const many = entries(5000);
    const index = SegmentTxnIndex.inMemory(path, [...many]);
    index.persist(nodeLogFs, 20_000n, true);
    assert.equal(index.held, null, 'a rolled segment keeps only the count once written');
    assert.deepEqual(inspectTxnIndex(nodeLogFs, path, 100n, 20_000n), { coveredTo: 20_000n, count: 5000 });
    const onDisk = SegmentTxnIndex.onDisk(path, 5000);
    assert.deepEqual(onDisk.all(nodeLogFs), many);
    let visited = 0;
    onDisk.forEach(nodeLogFs, () => ++visited < 10);
    assert.equal(visited, 10);
    // Damage past the first chunk is found when the search gets there.
    const data = readFileSync(path);
    data[TXN_INDEX_HEADER + 4000 * TXN_INDEX_ENTRY] = (data[TXN_INDEX_HEADER + 4000 * TXN_INDEX_ENTRY] ?? 0) ^ 1;
    writeFileSync(path, data);
    assert.throws(() => onDisk.all(nodeLogFs), /an entry fails its CRC-32C/);
    assert.throws(() => inspectTxnIndex(nodeLogFs, path, 100n, 20_000n), TxnIndexDamage);
  });
});
