import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { crc32c } from '@node-rs/crc32';

/**
 * What the encryption-at-rest tests look at on disk, written from docs/storage-format.md rather than
 * from the code under test: segment entries walked by their length field, the magic byte that tells a
 * sealed entry (0x50) from a Kafka batch (2), the keyring edited as an operator (or an attacker) would.
 */

/** The magic byte of a sealed entry (src/storage/crypto/sealed-batch.ts). */
export const SEALED_MAGIC = 0x50;

/** Where the fields of a stored entry are (docs/storage-format.md, sealed-batch.ts). */
export const Entry = {
  baseOffset: 0,
  length: 8,
  magic: 16,
  crc: 17,
  /** The CRC-32C covers the entry from here to its end. */
  crcStart: 21,
  dekId: 27,
  maxTimestamp: 35,
  nonce: 43,
  ciphertext: 55,
  tagBytes: 16,
} as const;

/** One entry of a segment file: a batch, sealed or not. */
export interface StoredEntry {
  readonly position: number;
  /** 12 + the int32 at offset 8. */
  readonly size: number;
  readonly baseOffset: bigint;
  readonly magic: number;
}

/** Every entry of a segment file, walked by length; throws when the file ends inside one. */
export function storedEntries(path: string): StoredEntry[] {
  const data = readFileSync(path);
  const out: StoredEntry[] = [];
  for (let at = 0; at < data.length; ) {
    if (data.length - at < Entry.magic + 1) throw new Error(`${path}: ${data.length - at} stray bytes at ${at}`);
    const size = 12 + data.readInt32BE(at + Entry.length);
    if (size < Entry.magic + 1 || at + size > data.length) throw new Error(`${path}: entry at ${at} of ${size} bytes runs past the end (${data.length})`);
    out.push({ position: at, size, baseOffset: data.readBigInt64BE(at + Entry.baseOffset), magic: data.readUInt8(at + Entry.magic) });
    at += size;
  }
  return out;
}

/** Every file under `dir`, recursively (paths relative to it). */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath, d.name)))
    .sort();
}

/** The segment files (`.log`) of one partition directory under `<dataDir>/logs/`. */
export function segmentFiles(dataDir: string, topic: string, partition: number): string[] {
  const dir = join(dataDir, 'logs', `${topic}-${partition}`);
  return readdirSync(dir)
    .filter((n) => /^\d{20}\.log$/.test(n))
    .sort()
    .map((n) => join(dir, n));
}

/**
 * The byte strings a marker could be stored as if something wrote a client's bytes out: as they are,
 * in hexadecimal (either case), UTF-16, and base64 at each of the three alignments (the part of the
 * encoding that does not depend on the bytes around it).
 */
export function markerForms(marker: string): { name: string; bytes: Buffer }[] {
  const plain = Buffer.from(marker, 'utf8');
  const forms = [
    { name: 'plain', bytes: plain },
    { name: 'hex', bytes: Buffer.from(plain.toString('hex')) },
    { name: 'HEX', bytes: Buffer.from(plain.toString('hex').toUpperCase()) },
    { name: 'utf16le', bytes: Buffer.from(marker, 'utf16le') },
  ];
  for (let k = 0; k < 3; k++) {
    const b64 = Buffer.concat([Buffer.alloc(k), plain]).toString('base64');
    forms.push({ name: `base64+${k}`, bytes: Buffer.from(b64.slice(4 * Math.ceil(k / 3), 4 * Math.floor((k + plain.length) / 3))) });
  }
  return forms;
}

/** Files under `dir` that hold `marker` in any of its {@link markerForms}: `file (form)`. */
export function filesWithMarker(dir: string, marker: string): string[] {
  const forms = markerForms(marker);
  const found: string[] = [];
  for (const file of filesUnder(dir)) {
    const data = readFileSync(join(dir, file));
    for (const form of forms) if (data.includes(form.bytes)) found.push(`${file} (${form.name})`);
  }
  return found;
}

/**
 * Changes bytes of one stored entry in place (`change` gets the whole entry) and rewrites its clear
 * CRC-32C, so that the change passes the broker's CRC check and only authentication can find it.
 */
export function rewriteEntry(path: string, entry: StoredEntry, change: (bytes: Buffer) => void): void {
  const data = readFileSync(path);
  const bytes = data.subarray(entry.position, entry.position + entry.size);
  change(bytes);
  bytes.writeUInt32BE(crc32c(bytes.subarray(Entry.crcStart)) >>> 0, Entry.crc);
  writeFileSync(path, data);
}

/** The topic id a partition directory was created for (its partition.json). */
export function topicIdOf(dataDir: string, topic: string): string {
  const meta = JSON.parse(readFileSync(join(dataDir, 'logs', `${topic}-0`, 'partition.json'), 'utf8')) as { topicId?: unknown };
  if (typeof meta.topicId !== 'string') throw new Error(`no topic id in the partition.json of ${topic}-0`);
  return meta.topicId;
}

interface KeyringJson {
  names: Record<string, unknown>;
  [field: string]: unknown;
}

/** Edits `<dataDir>/keyring.json` (the local KEK provider's file) with the broker stopped. */
export function editKeyring(dataDir: string, edit: (names: Record<string, unknown>) => void): void {
  const path = join(dataDir, 'keyring.json');
  const keyring = JSON.parse(readFileSync(path, 'utf8')) as KeyringJson;
  edit(keyring.names);
  writeFileSync(path, `${JSON.stringify(keyring)}\n`);
}

/** The KEK names in `<dataDir>/keyring.json`. */
export function keyringNames(dataDir: string): Record<string, unknown> {
  return (JSON.parse(readFileSync(join(dataDir, 'keyring.json'), 'utf8')) as KeyringJson).names;
}
