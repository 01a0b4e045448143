import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../src/protocol/acl.js';
import type { AclBindingInput } from '../../src/security/authz/acl-store.js';
import type { SecurityEvent } from '../../src/security/events.js';
import { issueClientCertificate, type CertificateAndKey } from '../../src/security/tls/certificates.js';
import type { SecureBroker } from '../helpers/secure-broker.js';

/**
 * Plumbing for the security interop tests (security-*.test.ts): ACL bindings, kcat runs with binary
 * stdin/stdout, client certificates issued by the init CA, and the security events the broker
 * reported.
 */

/** An ALLOW binding for `principal` on a literal resource, from any host. */
export function allow(principal: string, resourceType: ResourceType, resourceName: string, operation: AclOperation): AclBindingInput {
  return { resourceType, resourceName, patternType: PatternType.LITERAL, principal, host: '*', operation, permission: AclPermissionType.ALLOW };
}

/**
 * What a producing and group-consuming application needs: WRITE and READ on its topic (both imply
 * DESCRIBE, which Metadata needs) and READ on its group (Join/Sync/Heartbeat/Leave, OffsetCommit; it
 * implies DESCRIBE for FindCoordinator and OffsetFetch).
 */
export function appAcls(principal: string, topic: string, group: string): AclBindingInput[] {
  return [
    allow(principal, ResourceType.TOPIC, topic, AclOperation.WRITE),
    allow(principal, ResourceType.TOPIC, topic, AclOperation.READ),
    allow(principal, ResourceType.GROUP, group, AclOperation.READ),
  ];
}

export interface ProcessResult {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Runs kcat with `input` on its stdin; resolves with its exit code, raw stdout and stderr (never rejects on a non-zero exit). */
export async function kcat(args: readonly string[], options: { input?: Buffer; timeoutMs?: number } = {}): Promise<ProcessResult> {
  const child = spawn('kcat', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => stdout.push(b));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.input ?? Buffer.alloc(0));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  clearTimeout(timer);
  return { code, stdout: Buffer.concat(stdout), stderr };
}

/**
 * `count` lines `k<i>:<value>\n` for `kcat -K :` (key, then value). Values are random bytes of every
 * value but the line delimiter `\n` (NUL, `\r`, `:`, bytes ≥ 0x80 included), 0..200 bytes long, so a
 * byte-identical round trip shows nothing was re-encoded on the way.
 */
export function kcatLines(count: number): Buffer {
  const lines: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const value = randomBytes((i * 37) % 201);
    for (let j = 0; j < value.length; j++) if (value[j] === 0x0a) value[j] = 0x0b;
    lines.push(Buffer.from(`k${i}:`), value, Buffer.from('\n'));
  }
  return Buffer.concat(lines);
}

/** The init CA (`ca.crt` and `ca.key` in the CA directory beside the data directory), which signs client certificates for mTLS. */
export function initCa(b: SecureBroker): CertificateAndKey {
  return { certPem: readFileSync(join(b.caDir, 'ca.crt'), 'utf8'), keyPem: readFileSync(join(b.caDir, 'ca.key'), 'utf8') };
}

/** Issues a client certificate with subject CN=`commonName` and writes it (and its 0600 key) into `dir`. */
export async function writeClientCertificate(ca: CertificateAndKey, commonName: string, dir: string, name = commonName): Promise<{ certFile: string; keyFile: string }> {
  const issued = await issueClientCertificate(ca, { commonName });
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  writeFileSync(certFile, issued.certPem);
  writeFileSync(keyFile, issued.keyPem, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  return { certFile, keyFile };
}

/** `key=value` lines of a librdkafka properties file, written 0600 (it may hold a password). */
export function writeProperties(path: string, properties: Readonly<Record<string, string>>): string {
  writeFileSync(path, Object.entries(properties).map(([k, v]) => `${k}=${v}\n`).join(''), { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

type Denial = Extract<SecurityEvent, { type: 'authorization-denied' }>;
type AuthFailure = Extract<SecurityEvent, { type: 'authentication-failed' }>;
type Login = Extract<SecurityEvent, { type: 'authentication-succeeded' }>;

/** The successful SASL authentications (`principal` and `mechanism`), optionally of one principal. */
export function logins(events: readonly SecurityEvent[], principal?: string): Login[] {
  return events.filter((e): e is Login => e.type === 'authentication-succeeded' && (principal === undefined || e.principal === principal));
}

/** The authorization denials the broker reported for `principal`. */
export function denialsOf(events: readonly SecurityEvent[], principal: string): Denial[] {
  return events.filter((e): e is Denial => e.type === 'authorization-denied' && e.principal === principal);
}

/** Whether a denial for `principal` names `resource` (`WRITE TOPIC:orders`, as the dispatcher formats it). */
export function deniedResource(events: readonly SecurityEvent[], principal: string, resource: string): boolean {
  return denialsOf(events, principal).some((e) => e.resources.includes(resource));
}

/** Every resource a denial for `principal` named on `topic`, whatever the operation. */
export function deniedOnTopic(events: readonly SecurityEvent[], principal: string, topic: string): string[] {
  return denialsOf(events, principal).flatMap((e) => e.resources.filter((r) => r.endsWith(` TOPIC:${topic}`)));
}

export function authenticationFailures(events: readonly SecurityEvent[]): AuthFailure[] {
  return events.filter((e): e is AuthFailure => e.type === 'authentication-failed');
}

/** Security events as one line each, for assertion messages. */
export function describeEvents(events: readonly SecurityEvent[]): string {
  return events.map((e) => JSON.stringify(e)).join('\n');
}

/**
 * Everything an error wraps, outermost first: KafkaJS's retrier puts the first error in
 * `originalError` or `cause`, platformatic nests protocol errors in `errors`.
 */
export function errorChain(error: unknown): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const seen = new Set<unknown>();
  const visit = (e: unknown): void => {
    if (typeof e !== 'object' || e === null || seen.has(e)) return;
    seen.add(e);
    out.push(e as Record<string, unknown>);
    const { cause, originalError, errors } = e as { cause?: unknown; originalError?: unknown; errors?: unknown };
    visit(cause);
    visit(originalError);
    if (Array.isArray(errors)) for (const inner of errors) visit(inner);
  };
  visit(error);
  return out;
}
