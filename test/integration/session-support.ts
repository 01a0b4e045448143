import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import type { SecurityEvent } from '../../src/security/events.js';
import type { SessionInfo } from '../../src/server/session-registry.js';
import type { SecureBroker } from '../helpers/secure-broker.js';

/** What the session tests share: a long-running kcat consumer, waiting on the broker's state. */

export interface RunningKcat {
  readonly child: ChildProcess;
  /** Lines kcat printed on stdout so far (the consumed values). */
  readonly lines: () => string[];
  readonly stderr: () => string;
}

/** `kcat -C -o beginning` without `-e`: it consumes and waits for more until it is killed (at the test's end at the latest). */
export function kcatConsumer(t: TestContext, properties: string, topic: string): RunningKcat {
  const child = spawn('kcat', [...(process.env.KCAT_DEBUG === undefined ? [] : ['-d', process.env.KCAT_DEBUG]), '-F', properties, '-C', '-u', '-t', topic, '-p', '0', '-o', 'beginning', '-f', '%s\\n'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  // -u: unbuffered, so that each record is seen as it arrives (stdout is a pipe).
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  t.after(() => {
    child.kill('SIGKILL');
    if (process.env.KCAT_DEBUG !== undefined) writeFileSync(`/tmp/wt-sessions-kcat-${child.pid}.log`, err);
  });
  return { child, lines: () => out.split('\n').filter((l) => l !== ''), stderr: () => err };
}

export async function until(predicate: () => boolean, what: string, timeoutMs = 15_000, stepMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** The open connections of a principal. */
export function sessionsOf(b: SecureBroker, principal: string): SessionInfo[] {
  return b.broker.sessions.list().filter((s) => s.principal === principal);
}

/** The connections closed with `reason` (from the security events). */
export function closedWith(events: readonly SecurityEvent[], reason: string): number[] {
  return events.flatMap((e) => (e.type === 'connection-refused' && e.reason === reason && e.connection !== undefined ? [e.connection] : []));
}
