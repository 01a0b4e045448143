import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';
import type { BatchPlace } from './sealed-batch.js';

/**
 * Producer state snapshots of an encrypted partition hold producer ids, epochs and sequences, which
 * are sealed in the batches: so the snapshot is sealed too, with the partition's data key, bound to
 * its partition and offset (docs/storage-format.md#producer-state-idempotent-producers). Layout: the
 * line `parapet-sealed-snapshot v1`, then the data key id (uint32), the nonce (12), the AES-256-GCM
 * ciphertext of the clear snapshot and the tag (16).
 */
const PREFIX = Buffer.from('parapet-sealed-snapshot v1\n');
const NONCE_AT = PREFIX.length + 4;
const BODY_AT = NONCE_AT + 12;

export function isSealedSnapshot(data: Buffer): boolean {
  return data.length >= BODY_AT + 16 && data.subarray(0, PREFIX.length).equals(PREFIX);
}

export function sealedSnapshotDekId(data: Buffer): number {
  return data.readUInt32BE(PREFIX.length);
}

function aad(place: BatchPlace, offset: bigint, dekId: number): Buffer {
  return Buffer.from(`parapet-snapshot\0${place.topicId}\0${place.partition}\0${offset}\0${dekId}`);
}

export function sealSnapshot(data: Buffer, place: BatchPlace, offset: bigint, dekId: number, key: KeyObject): Buffer {
  const head = Buffer.alloc(BODY_AT);
  PREFIX.copy(head);
  head.writeUInt32BE(dekId, PREFIX.length);
  const nonce = randomBytes(12);
  nonce.copy(head, NONCE_AT);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad(place, offset, dekId));
  return Buffer.concat([head, cipher.update(data), cipher.final(), cipher.getAuthTag()]);
}

/** The clear snapshot, or null when it fails authentication (changed, or moved from another partition or offset). */
export function unsealSnapshot(data: Buffer, place: BatchPlace, offset: bigint, key: KeyObject): Buffer | null {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(NONCE_AT, BODY_AT));
    decipher.setAAD(aad(place, offset, sealedSnapshotDekId(data)));
    decipher.setAuthTag(data.subarray(data.length - 16));
    return Buffer.concat([decipher.update(data.subarray(BODY_AT, data.length - 16)), decipher.final()]);
  } catch {
    return null;
  }
}
