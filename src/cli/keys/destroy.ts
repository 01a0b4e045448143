import { createInterface } from 'node:readline/promises';
import { topicKeyName } from '../../storage/crypto/kek-provider.js';
import type { TopicRecord } from '../../storage/metadata-store.js';
import { UsageError, type AdminIo } from '../admin/common.js';
import { CliFailure, ExitCodes } from '../failures.js';
import { counted, kekReport, topicNamed } from './key-report.js';
import { addStoredBytes, emptyStoredBytes, partitionDirsById, storedBytes } from './partition-files.js';
import type { KeysSession } from './session.js';

/**
 * `parapet keys destroy`: crypto-shredding. Every version of a topic's KEK is destroyed, so every data
 * key it wrapped, and every sealed batch, here and in every copy of the directory (backups, snapshots,
 * disk images), can never be opened again. Batches written in clear stay readable: they are said so,
 * loudly. Works for the id of a deleted topic too, whose KEK still opens its backups.
 */

export interface DestroyTarget {
  readonly topic?: string;
  readonly topicId?: string;
  readonly yes?: boolean;
}

export async function destroyKeys(io: AdminIo, session: KeysSession, target: DestroyTarget): Promise<void> {
  let topic: TopicRecord | undefined;
  let topicId: string;
  if (target.topic !== undefined && target.topicId === undefined) {
    topic = topicNamed(session, target.topic);
    topicId = topic.id;
  } else if (target.topicId !== undefined && target.topic === undefined) {
    topicId = target.topicId;
    topic = session.topics.find((t) => t.id === topicId);
  } else {
    throw new UsageError('name the topic: --topic NAME, or --topic-id ID (for a deleted topic)');
  }
  const name = topicKeyName(topicId);
  if (topic === undefined && !(await session.provider.names()).includes(name)) {
    throw new CliFailure(`no topic has the id ${topicId}, and the ${session.provider.kind} key provider has no KEK ${name}`, ExitCodes.USAGE);
  }
  const what = topic === undefined ? `the deleted topic with id ${topicId}` : `topic ${topic.name} (id ${topicId})`;
  const kek = await kekReport(session, topicId);
  if (kek.state === 'destroyed') {
    io.stdout(`the KEK ${name} of ${what} was already destroyed: nothing to do\n`);
    return;
  }
  const dirs = partitionDirsById(session.dataDir).get(topicId) ?? [];
  const stored = emptyStoredBytes();
  const clearPartitions: number[] = [];
  for (const p of dirs) {
    const s = storedBytes(p.dir);
    addStoredBytes(stored, s);
    if (s.clearBytes > 0) clearPartitions.push(p.partition);
  }
  if (target.yes !== true) {
    if (!process.stdin.isTTY) {
      throw new UsageError(`destroying the keys of ${what} cannot be undone: add --yes to confirm (standard input is not a terminal to ask on)`);
    }
    io.stderr(
      `this destroys every version (${kek.versions.length}) of the KEK ${name} of ${what}, for good: ` +
        `${stored.sealedBytes} bytes sealed here, and every copy of them in backups, become unreadable\n`,
    );
    const expected = topic?.name ?? topicId;
    if ((await ask(`type ${JSON.stringify(expected)} to confirm: `)).trim() !== expected) {
      throw new CliFailure('not confirmed: nothing was destroyed', ExitCodes.FAILED);
    }
  }
  await session.provider.destroy(name);
  session.recordChange('destroy-key', { type: 'topic key', name: topic?.name ?? topicId }, { kek: name, versions: kek.versions.length, topicId, sealedBytes: stored.sealedBytes });
  io.stdout(`destroyed the KEK ${name} of ${what}: ${counted(kek.versions.length, 'version')}, crypto-shredded\n`);
  io.stdout(
    `  unreadable from now on, here and in every copy (backups, disk images): ${stored.sealedBytes} bytes in ${counted(stored.sealedBatches, 'sealed batch', 'sealed batches')}, ` +
      `in ${counted(dirs.length, 'partition')} of this data directory\n`,
  );
  if (topic !== undefined) {
    io.stdout(`  the broker answers POLICY_VIOLATION to produce and fetch of ${topic.name} from its next start; delete the topic: parapet topic delete ${topic.name}\n`);
  }
  if (stored.clearBytes > 0) {
    io.stdout(
      `WARNING: ${stored.clearBytes} bytes in ${counted(stored.clearBatches, 'batch', 'batches')} were written in clear (before the topic was encrypted), ` +
        `in partition${clearPartitions.length === 1 ? '' : 's'} ${clearPartitions.join(', ')}: they are NOT destroyed and stay readable by anyone with the files. ` +
        `Delete the topic to remove them${topic === undefined ? '' : `: parapet topic delete ${topic.name}`}\n`,
    );
  } else {
    io.stdout('  no batch of it is stored in clear here\n');
  }
}

async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}
