import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { auditDirOf, auditSigningKeyRefOf } from '../audit/audit-config.js';
import { dataDirConfig } from './data-dir-config.js';
import { HEAD_FILE, listAuditFiles, readHead, type AuditHead } from '../audit/audit-files.js';
import { followAuditRecords, lastAuditRecords, readAuditRecords, type AuditRecord } from '../audit/read.js';
import { loadAuditPublicKey, loadAuditSigningKey, publicKeyOf } from '../audit/signing-key.js';
import { verifyAuditFiles, type AuditVerifyReport } from '../audit/verify.js';
import { ConfigError } from '../config-error.js';
import { printable } from '../client/printable.js';
import { configureGroup, DEFAULT_DATA_DIR, integer, processIo, UsageError, type AdminIo } from './admin/common.js';
import { matches, parseOutcome, parseTimeSpec, type EventFilter } from './auditing/event-filter.js';
import { eventLine, verifyText } from './auditing/output.js';
import { CliFailure, ExitCodes } from './failures.js';
import { offlineAction } from './offline-action.js';

/**
 * `parapet audit verify|tail|search` (docs/security/audit.md): the audit trail's files, read as they
 * are, without the data directory's lock, so that they work while the broker runs.
 *
 * Exit codes: 0 success (verify: the trail is intact), 1 verify found problems or a command failed,
 * 2 bad usage or configuration.
 */

interface Common {
  readonly dataDir: string;
  readonly json?: boolean;
}

export function registerAuditCommands(program: Command, io: AdminIo = processIo()): void {
  const audit = configureGroup(program.command('audit').description('verify and read the tamper-evident audit trail'), io);

  withDataDir(audit.command('verify'))
    .description('check the hash chain and the signed checkpoints of audit files (default: every file of the data directory)')
    .argument('[files...]', 'audit files (default: the data directory\'s, with its head.json)')
    .option('--public-key <file>', 'the public key (PEM) to verify with (default: derived from the signing key the config names)')
    .option('--head <file>', 'the signed head (head.json) to check the end against (default: the audit directory\'s, when no files are given)')
    .option('--json', 'machine-readable output')
    .action(auditAction(io, (files: string[], flags: Common & { publicKey?: string; head?: string }) => verify(io, files, flags)));

  withDataDir(audit.command('tail'))
    .description('print the newest audit events')
    .argument('[files...]', 'audit files (default: the data directory\'s)')
    .option('-n, --lines <n>', 'how many events', integer('-n', 0, 1_000_000), 10)
    .option('-f, --follow', 'keep printing new events as they are written (Ctrl-C ends)')
    .option('--json', 'one event JSON per line')
    .action(auditAction(io, (files: string[], flags: Common & { lines: number; follow?: boolean }) => tail(io, files, flags)));

  withDataDir(audit.command('search'))
    .description('print the audit events that match every filter given')
    .argument('[files...]', 'audit files (default: the data directory\'s)')
    .option('--principal <p>', 'the actor or user, e.g. User:alice (alice finds User:alice too)')
    .option('--type <t>', 'OCSF class name or uid, type name or uid, or Parapet event type (case-insensitive)')
    .option('--since <time>', 'events at or after: ISO time, or ago: 30s, 15m, 2h, 7d')
    .option('--until <time>', 'events at or before: ISO time, or ago')
    .option('--outcome <o>', 'success or failure')
    .option('--json', 'one event JSON per line')
    .action(
      auditAction(io, (files: string[], flags: Common & { principal?: string; type?: string; since?: string; until?: string; outcome?: string }) => search(io, files, flags)),
    );
}

function withDataDir(cmd: Command): Command {
  return cmd.option('--data-dir <dir>', 'the data directory (its parapet.yaml names the audit directory and key)', DEFAULT_DATA_DIR);
}

/** The files named, or every audit file of the data directory's audit directory. */
async function filesOf(files: readonly string[], dataDir: string): Promise<{ files: string[]; dir?: string }> {
  if (files.length > 0) {
    for (const f of files) if (!existsSync(f)) throw new CliFailure(`${f}: no such file`, ExitCodes.FAILED);
    return { files: files.map((f) => resolve(f)) };
  }
  const dir = auditDirOf(dataDirConfig(resolve(dataDir)).audit, resolve(dataDir));
  if (!existsSync(dir)) throw new CliFailure(`no audit trail at ${dir} (is auditing on for ${resolve(dataDir)}? pass --data-dir, or name the files)`, ExitCodes.FAILED);
  return { files: await listAuditFiles(dir), dir };
}

function publicKeyFor(dataDir: string, path: string | undefined): KeyObject {
  if (path !== undefined) return loadAuditPublicKey(path);
  const ref = auditSigningKeyRefOf(dataDirConfig(resolve(dataDir)).audit, resolve(dataDir));
  try {
    return publicKeyOf(loadAuditSigningKey(ref));
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${err.message}; or give the public key with --public-key FILE (the signing key file's .pub beside it)`);
    throw err;
  }
}

async function verify(io: AdminIo, names: readonly string[], flags: Common & { publicKey?: string; head?: string }): Promise<void> {
  const key = publicKeyFor(flags.dataDir, flags.publicKey);
  let run = await verifyOnce(key, names, flags);
  if (!run.report.ok && run.live) {
    // A running broker may have been writing the newest line, or rotating, as it was read: once more,
    // a moment later. Tampering is still there the second time.
    await new Promise((r) => setTimeout(r, 500));
    run = await verifyOnce(key, names, flags);
  }
  const { report, headPath } = run;
  if (flags.json === true) io.stdout(`${JSON.stringify({ ...report, head: headPath ?? null })}\n`);
  else io.stdout(verifyText(report, headPath));
  io.setExitCode(report.ok ? ExitCodes.OK : ExitCodes.FAILED);
}

/** One verification; `live` when it read the data directory's trail, which a broker may be writing. */
async function verifyOnce(
  key: KeyObject,
  names: readonly string[],
  flags: Common & { head?: string },
): Promise<{ report: AuditVerifyReport; headPath: string | undefined; live: boolean }> {
  const { files, dir } = await filesOf(names, flags.dataDir);
  if (files.length === 0) throw new CliFailure(`no audit files in ${dir ?? 'the files given'}`, ExitCodes.FAILED);
  const headPath = flags.head ?? (dir === undefined ? undefined : join(dir, HEAD_FILE));
  let head: AuditHead | undefined;
  if (headPath !== undefined) {
    try {
      // Read before the files: a head is written after its lines, so the files read next reach it.
      head = await readHead(headPath);
    } catch (err) {
      throw new CliFailure(`${headPath}: ${err instanceof Error ? err.message : String(err)}`, ExitCodes.FAILED);
    }
    if (head === undefined && flags.head !== undefined) throw new CliFailure(`${flags.head}: no such file`, ExitCodes.FAILED);
  }
  const report = await verifyAuditFiles(files, key, { ...(head === undefined ? {} : { head }), requireHead: dir !== undefined });
  return { report, headPath: head === undefined ? undefined : headPath, live: dir !== undefined };
}

function print(io: AdminIo, record: AuditRecord, json: boolean): void {
  if (record.event === undefined) return;
  io.stdout(`${json ? JSON.stringify(record.event) : eventLine(record.event)}\n`);
}

function invalidLines(io: AdminIo): { onInvalid: (file: string, line: number) => void; report: () => void } {
  let count = 0;
  let first = '';
  return {
    onInvalid: (file, line) => {
      if (count === 0) first = `line ${line} of ${file}`;
      count += 1;
    },
    report: () => {
      if (count > 0) io.stderr(`parapet: warning: skipped ${count} line(s) that are not audit lines (the first: ${printable(first)}); run \`parapet audit verify\`\n`);
    },
  };
}

async function tail(io: AdminIo, names: readonly string[], flags: Common & { lines: number; follow?: boolean }): Promise<void> {
  if (flags.follow === true && names.length > 0) throw new UsageError('--follow follows the data directory\'s trail: give no files');
  const { files, dir } = await filesOf(names, flags.dataDir);
  const invalid = invalidLines(io);
  for (const r of await lastAuditRecords(files, flags.lines, { onInvalid: invalid.onInvalid })) print(io, r, flags.json === true);
  invalid.report();
  if (flags.follow !== true || dir === undefined) return;
  const stop = new AbortController();
  const onSignal = () => {
    stop.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for await (const r of followAuditRecords(dir, { signal: stop.signal, onInvalid: invalid.onInvalid })) print(io, r, flags.json === true);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function search(io: AdminIo, names: readonly string[], flags: Common & { principal?: string; type?: string; since?: string; until?: string; outcome?: string }): Promise<void> {
  const now = Date.now();
  const outcome = parseOutcome(flags.outcome);
  const filter: EventFilter = {
    ...(flags.principal === undefined ? {} : { principal: flags.principal }),
    ...(flags.type === undefined ? {} : { type: flags.type }),
    ...(flags.since === undefined ? {} : { since: parseTimeSpec('--since', flags.since, now) }),
    ...(flags.until === undefined ? {} : { until: parseTimeSpec('--until', flags.until, now) }),
    ...(outcome === undefined ? {} : { outcome }),
  };
  const { files } = await filesOf(names, flags.dataDir);
  const invalid = invalidLines(io);
  for await (const r of readAuditRecords(files, { onInvalid: invalid.onInvalid })) {
    if (r.event !== undefined && matches(r.event, filter)) print(io, r, flags.json === true);
  }
  invalid.report();
}

/** A config that cannot be read (its audit section, the key reference) is a usage mistake (2). */
function auditAction<A extends unknown[]>(io: AdminIo, fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return offlineAction(io, fn, (err) => (err instanceof ConfigError ? ExitCodes.USAGE : undefined));
}
