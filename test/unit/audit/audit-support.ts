import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { OCSF_VERSION, OcsfCategories, OcsfClasses, OcsfStatus, type AuditEvent } from '../../../src/audit/audit-event.js';
import { AuditTrail, type AuditTrailOptions } from '../../../src/audit/audit-trail.js';

/** What the audit tests share: a temp directory, a key pair, a fake clock, events like the broker's. */

export function tempDir(t: TestContext, prefix = 'parapet-audit-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

export function keyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ed25519');
}

export class FakeClock {
  constructor(public now = Date.UTC(2026, 11, 7, 8, 0, 0)) {}
  readonly read = (): number => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

/** An Authentication/Logon event for `user`, as src/audit/ocsf.ts would make one. */
export function logonEvent(user: string, time: number, ok = true): AuditEvent {
  const cls = OcsfClasses.AUTHENTICATION;
  return {
    class_uid: cls.uid,
    class_name: cls.name,
    category_uid: cls.category,
    category_name: OcsfCategories[cls.category] ?? '',
    activity_id: 1,
    activity_name: 'Logon',
    type_uid: cls.uid * 100 + 1,
    type_name: 'Authentication: Logon',
    time,
    severity_id: ok ? 1 : 3,
    severity: ok ? 'Informational' : 'Medium',
    status_id: ok ? OcsfStatus.SUCCESS : OcsfStatus.FAILURE,
    status: ok ? 'Success' : 'Failure',
    ...(ok ? {} : { status_detail: 'SASL_AUTHENTICATION_FAILED' }),
    message: ok ? `${user} logged in` : `${user} failed to log in`,
    metadata: { version: OCSF_VERSION, product: { name: 'Parapet', vendor_name: 'Parapet', version: '0.1.0' }, log_name: 'audit' },
    actor: { user: { name: user } },
    src_endpoint: { ip: '127.0.0.1', port: 50000 },
    unmapped: { parapet_type: ok ? 'authentication-succeeded' : 'authentication-failed' },
  };
}

/** Opens a trail in `dir` with the fake clock; closed when the test ends if the test did not. */
export async function openTrail(t: TestContext, options: Partial<AuditTrailOptions> & { dir: string; signingKey: KeyObject }): Promise<AuditTrail> {
  const trail = await AuditTrail.open(options);
  t.after(async () => {
    await trail.close().catch(() => undefined);
  });
  return trail;
}

/** The audit files of a directory, oldest first, as paths. */
export function auditFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /^audit-\d{20}\.jsonl$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** A file's lines (without the empty string after the last newline). */
export function fileLines(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

export function parsed(line: string): { seq: number; prev: string; event?: AuditEvent; checkpoint?: { time: number; key: string; signature: string } } {
  return JSON.parse(line) as { seq: number; prev: string; event?: AuditEvent; checkpoint?: { time: number; key: string; signature: string } };
}

/**
 * A trail written by the writer: `events` events from a few users, a checkpoint every `every`
 * events, closed (its last line a checkpoint). Returns the directory and its one file.
 */
export async function writtenTrail(t: TestContext, privateKey: KeyObject, events = 40, every = 10): Promise<{ dir: string; file: string }> {
  const dir = tempDir(t);
  const clock = new FakeClock();
  const trail = await AuditTrail.open({ dir, signingKey: privateKey, clock: clock.read, checkpointIntervalMs: 1_000_000 });
  for (let i = 0; i < events; i++) {
    clock.advance(1000);
    trail.record(logonEvent(`User:u${i % 5}`, clock.now, i % 3 !== 0));
    if ((i + 1) % every === 0) await trail.checkpoint();
  }
  await trail.close();
  const [file] = auditFiles(dir);
  if (file === undefined) throw new Error('no audit file written');
  return { dir, file };
}
