import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import type { AuditEvent } from './audit-event.js';

/**
 * The lines of an audit file (docs/security/audit.md, "The audit file and its hash chain"). Each line
 * is one JSON object, written once with JSON.stringify; every line carries the SHA-256 of the exact
 * bytes of the line before it (`prev`), so that changing, removing, adding or moving a line breaks the
 * chain at that place. A checkpoint line signs its own `seq` and `prev` with the audit signing key,
 * which commits to every line before it.
 */

/** The `prev` of the very first line of a trail. */
export const GENESIS_PREV = '0'.repeat(64);

export interface CheckpointBody {
  /** When it was written, milliseconds since the epoch. */
  readonly time: number;
  /** The key id of the signing key (signing-key.ts keyId). */
  readonly key: string;
  /** Base64 Ed25519 signature of checkpointMessage(seq, prev). */
  readonly signature: string;
}

export interface EventLine {
  readonly seq: number;
  readonly prev: string;
  readonly event: AuditEvent;
}

export interface CheckpointLine {
  readonly seq: number;
  readonly prev: string;
  readonly checkpoint: CheckpointBody;
}

export type AuditLine = EventLine | CheckpointLine;

export function isCheckpoint(line: AuditLine): line is CheckpointLine {
  return 'checkpoint' in line;
}

/** Hex SHA-256 of a line's bytes (without its newline). */
export function lineHash(line: string | Uint8Array): string {
  return createHash('sha256').update(line).digest('hex');
}

/** What a checkpoint signs: its place in the trail and the hash of everything before it. */
export function checkpointMessage(seq: number, prev: string): Buffer {
  return Buffer.from(`parapet-audit-checkpoint\n${seq}\n${prev}`, 'utf8');
}

export function signCheckpoint(privateKey: KeyObject, key: string, seq: number, prev: string, time: number): CheckpointBody {
  // Ed25519 takes no digest algorithm: null.
  return { time, key, signature: sign(null, checkpointMessage(seq, prev), privateKey).toString('base64') };
}

export function checkpointSignatureValid(publicKey: KeyObject, seq: number, prev: string, signature: string): boolean {
  try {
    return verify(null, checkpointMessage(seq, prev), publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

export function formatEventLine(seq: number, prev: string, event: AuditEvent): string {
  return JSON.stringify({ seq, prev, event });
}

export function formatCheckpointLine(seq: number, prev: string, checkpoint: CheckpointBody): string {
  return JSON.stringify({ seq, prev, checkpoint });
}

const HEX64 = /^[0-9a-f]{64}$/;

/** A line parsed, or why it is not an audit line. */
export function parseAuditLine(text: string): AuditLine | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const o = value as Record<string, unknown>;
  if (typeof o.seq !== 'number' || !Number.isSafeInteger(o.seq) || o.seq < 1) return 'no valid seq';
  if (typeof o.prev !== 'string' || !HEX64.test(o.prev)) return 'no valid prev';
  const hasEvent = typeof o.event === 'object' && o.event !== null;
  const hasCheckpoint = typeof o.checkpoint === 'object' && o.checkpoint !== null;
  if (hasEvent === hasCheckpoint) return 'neither an event nor a checkpoint';
  if (hasCheckpoint) {
    const c = o.checkpoint as Record<string, unknown>;
    if (typeof c.time !== 'number' || typeof c.key !== 'string' || typeof c.signature !== 'string') return 'a checkpoint without time, key and signature';
  }
  return value as AuditLine;
}
