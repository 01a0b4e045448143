import type { Command } from 'commander';
import { KeyFault, topicKeyName } from '../storage/crypto/kek-provider.js';
import type { TopicRecord } from '../storage/metadata-store.js';
import { configureGroup, DEFAULT_DATA_DIR, processIo, UsageError, type AdminIo } from './admin/common.js';
import { ExitCodes } from './failures.js';
import { offlineAction } from './offline-action.js';
import { destroyKeys, type DestroyTarget } from './keys/destroy.js';
import { encryptPartition, RewriteRefused } from './keys/encrypt-existing.js';
import { checkKekKnown, counted, topicKeysReport, topicNamed } from './keys/key-report.js';
import { partitionDirsById, partitionKeys } from './keys/partition-files.js';
import { withKeysSession, type KeysSession } from './keys/session.js';
import { describeKeys, listKeys } from './keys/show.js';

/**
 * `parapet keys list|describe|rotate|rewrap|destroy|encrypt-existing`: the keys of encryption at rest
 * (docs/security/encryption-at-rest.md, the `parapet keys` commands), offline, on a stopped broker's
 * data directory: each command holds the directory's lock for its whole run and opens the KEK provider its parapet.yaml names, creating nothing. Output
 * has names, versions, ids, dates and counts, never key material.
 *
 * Exit codes: 0 success, 1 the operation failed, 2 bad usage, 3 the data directory is in use or not one.
 */

interface DataDirFlags {
  readonly dataDir: string;
}

export function registerKeysCommands(program: Command, io: AdminIo = processIo()): void {
  const keys = configureGroup(program.command('keys').description('inspect, rotate and destroy the keys of encryption at rest (the broker must be stopped)'), io);

  withDataDir(keys.command('list'))
    .description('list every topic with its KEK and data keys, and the KEKs of deleted topics')
    .option('--json', 'machine-readable output')
    .action(keysAction(io, (flags: DataDirFlags & { json?: boolean }) => session(io, flags, (s) => listKeys(io, s, flags.json === true))));

  withDataDir(keys.command('describe'))
    .description("show a topic's KEK versions, and per partition its data keys and bytes stored sealed and clear")
    .requiredOption('--topic <name>', 'the topic')
    .option('--json', 'machine-readable output')
    .action(keysAction(io, (flags: DataDirFlags & { topic: string; json?: boolean }) => session(io, flags, (s) => describeKeys(io, s, flags.topic, flags.json === true))));

  withDataDir(keys.command('rotate'))
    .description('add a KEK version: new data keys are wrapped by it from the next start (older versions are kept for reading)')
    .option('--topic <name>', 'the topic')
    .option('--all', 'every topic')
    .action(keysAction(io, (flags: DataDirFlags & { topic?: string; all?: boolean }) => session(io, flags, (s) => rotate(io, s, flags), true)));

  withDataDir(keys.command('rewrap'))
    .description("wrap every data key again under its topic's newest KEK version (the data is not rewritten)")
    .option('--topic <name>', 'only this topic (default: every topic)')
    .action(keysAction(io, (flags: DataDirFlags & { topic?: string }) => session(io, flags, (s) => rewrap(io, s, flags.topic), true)));

  withDataDir(keys.command('destroy'))
    .description("crypto-shredding: destroy every version of a topic's KEK, so that its sealed data, and every copy of it, can never be read")
    .option('--topic <name>', 'the topic')
    .option('--topic-id <id>', 'the id of a deleted topic (parapet keys list shows them)')
    .option('--yes', 'do not ask for confirmation (needed when standard input is not a terminal)')
    .action(keysAction(io, (flags: DataDirFlags & DestroyTarget) => session(io, flags, (s) => destroyKeys(io, s, flags), true)));

  withDataDir(keys.command('encrypt-existing'))
    .description('seal the batches of a topic that were written in clear, in place (offsets unchanged)')
    .requiredOption('--topic <name>', 'the topic (its encryption config must not be none)')
    .action(keysAction(io, (flags: DataDirFlags & { topic: string }) => session(io, flags, (s) => encryptExisting(io, s, flags.topic), true)));
}

function withDataDir(cmd: Command): Command {
  return cmd.option('--data-dir <dir>', 'the data directory of the stopped broker', DEFAULT_DATA_DIR);
}

/** `changes`: the command changes keys or data, and records each change in the audit trail. */
function session(io: AdminIo, flags: DataDirFlags, use: (s: KeysSession) => Promise<void>, changes = false): Promise<void> {
  return withKeysSession(flags.dataDir, io.stderr, use, { changes });
}

async function rotate(io: AdminIo, s: KeysSession, flags: { topic?: string; all?: boolean }): Promise<void> {
  if ((flags.topic === undefined) === (flags.all !== true)) throw new UsageError('name the topic with --topic NAME, or rotate every topic with --all');
  const topics = flags.topic === undefined ? s.topics : [topicNamed(s, flags.topic)];
  const dirs = partitionDirsById(s.dataDir);
  for (const topic of topics) {
    const report = await topicKeysReport(s, topic, dirs.get(topic.id) ?? []);
    if (report.kek.state === 'destroyed') {
      io.stdout(`${topic.name}: skipped, its KEK was destroyed\n`);
      continue;
    }
    if (flags.all === true && report.kek.state === 'none yet' && report.encryption === 'none') {
      io.stdout(`${topic.name}: skipped, not encrypted and no KEK\n`);
      continue;
    }
    checkKekKnown(report);
    const kek = await s.provider.rotate(topicKeyName(topic.id));
    s.recordChange('rotate-key', { type: 'topic key', name: topic.name }, { kek: kek.name, version: kek.version });
    io.stdout(
      `${topic.name}: KEK ${kek.name} is now at version ${kek.version}; new data keys are wrapped by it from the next start ` +
        `(older versions are kept for reading; \`parapet keys rewrap --topic ${topic.name}\` moves the existing data keys to it)\n`,
    );
  }
}

async function rewrap(io: AdminIo, s: KeysSession, name: string | undefined): Promise<void> {
  const topics: readonly TopicRecord[] = name === undefined ? s.topics : [topicNamed(s, name)];
  const dirs = partitionDirsById(s.dataDir);
  let total = 0;
  for (const topic of topics) {
    const report = await topicKeysReport(s, topic, dirs.get(topic.id) ?? []);
    if (report.kek.state === 'destroyed') {
      io.stdout(`${topic.name}: skipped, its KEK was destroyed\n`);
      continue;
    }
    if (report.dataKeys === 0) {
      io.stdout(`${topic.name}: no data keys\n`);
      continue;
    }
    checkKekKnown(report);
    for (const p of dirs.get(topic.id) ?? []) {
      const keys = partitionKeys(p, s.services);
      const count = keys.stored().length;
      if (count === 0) continue;
      const changed = await keys.rewrap();
      total += changed;
      s.recordChange('rewrap-data-keys', { type: 'data keys', name: `${topic.name}-${p.partition}` }, { rewrapped: changed, kek: report.kek.name });
      io.stdout(`${topic.name}-${p.partition}: ${changed} of ${counted(count, 'data key')} re-wrapped under ${report.kek.name} v${report.kek.newest ?? '?'}\n`);
    }
  }
  io.stdout(`re-wrapped ${counted(total, 'data key')}; no data was rewritten\n`);
}

async function encryptExisting(io: AdminIo, s: KeysSession, name: string): Promise<void> {
  const topic = topicNamed(s, name);
  const dirs = partitionDirsById(s.dataDir).get(topic.id) ?? [];
  const report = await topicKeysReport(s, topic, dirs);
  if (report.encryption === 'none') {
    throw new UsageError(`topic ${topic.name} has encryption=none: its new batches would still be written in clear; set it first (parapet topic alter ${topic.name} --config encryption=aes-256-gcm, with the broker running)`);
  }
  if (report.kek.state === 'destroyed') throw new RewriteRefused(`the KEK of topic ${topic.name} was destroyed: nothing can be sealed for it`);
  checkKekKnown(report);
  let total = 0;
  for (const p of dirs) {
    const done = await encryptPartition(p, partitionKeys(p, s.services));
    total += done.clearBytes;
    s.recordChange('encrypt-existing', { type: 'partition', name: `${topic.name}-${p.partition}` }, { sealedBytes: done.clearBytes, batches: done.batches, segments: done.segments });
    const keys = done.dataKeyIds.length === 0 ? '' : ` with data key${done.dataKeyIds.length === 1 ? '' : 's'} ${done.dataKeyIds.join(', ')}`;
    const snapshots = done.snapshotsDeleted === 0 ? '' : `; deleted ${counted(done.snapshotsDeleted, 'clear producer snapshot')}`;
    io.stdout(`${topic.name}-${p.partition}: sealed ${done.clearBytes} bytes in ${counted(done.batches, 'clear batch', 'clear batches')}, ${counted(done.segments, 'segment')} rewritten${keys}${snapshots}\n`);
  }
  io.stdout(`rewrote ${total} bytes of clear batches of ${topic.name}; the broker rebuilds the indexes of rewritten segments at its next start\n`);
}

/** A key fault or a refused rewrite is the command's own failure (1), said as it is. */
function keysAction<A extends unknown[]>(io: AdminIo, fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return offlineAction(io, fn, (err) => (err instanceof KeyFault || err instanceof RewriteRefused ? ExitCodes.FAILED : undefined));
}
