import { randomBytes } from 'node:crypto';

/**
 * A capture's id: its UTC time to the second and 4 random hex digits, `20261207T171500Z-3f9a`. Ids sort
 * by time, and name the staging directory, so they carry nothing a path could misread.
 */
export function newCaptureId(nowMs: number, random: () => Buffer = () => randomBytes(2)): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return `${stamp}-${random().toString('hex').slice(0, 4).padStart(4, '0')}`;
}

const CAPTURE_ID = /^\d{8}T\d{6}Z-[0-9a-f]{4}$/;

/** Whether `value` has the form of a capture id (what the admin route accepts before looking it up). */
export function isCaptureId(value: unknown): value is string {
  return typeof value === 'string' && CAPTURE_ID.test(value);
}
