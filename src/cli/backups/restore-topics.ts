import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackupTarget } from '../../backup/contracts.js';
import type { Manifest } from '../../backup/format/manifest-schema.js';
import type { Identity } from '../../backup/keys/backup-keys.js';
import { restoreFiles } from '../../backup/reader.js';
import { PARTITION_META_FILE } from '../../storage/log/format.js';
import { MetadataStore } from '../../storage/metadata-store.js';
import { topicNameProblem } from '../../protocol/names.js';
import { UsageError } from '../admin/common.js';

/** `orders` or `orders=orders-restored`: restore a topic under its own name or a new one. */
export function parseTopicMapping(values: readonly string[]): Map<string, string> {
  const mapping = new Map<string, string>();
  for (const value of values) {
    const [from = '', to = from] = value.split('=', 2);
    if (topicNameProblem(from) !== null || topicNameProblem(to) !== null) throw new UsageError(`--topic ${value}: give NAME or NAME=NEW-NAME, both valid topic names`);
    if (mapping.has(from)) throw new UsageError(`--topic ${from} is given twice`);
    mapping.set(from, to);
  }
  if (new Set(mapping.values()).size !== mapping.size) throw new UsageError('two --topic options restore into the same name');
  return mapping;
}

export interface RestoredTopic {
  readonly from: string;
  readonly to: string;
  readonly topicId: string;
  readonly partitions: number;
  readonly groupOffsets: number;
}

/**
 * Selective restore, for "someone deleted a topic": the named topics of a backup go into an existing,
 * stopped data directory (its lock is held by the caller), under their own names or new ones, with
 * their configs and the committed offsets groups had on them. A topic keeps its id, which its data
 * keys are bound to, so an encrypted topic stays readable under a new name; a name or an id the
 * directory already uses is refused (restore a topic that still exists into another directory).
 */
export async function restoreTopics(target: BackupTarget, manifest: Manifest, identity: Identity, dataDir: string, mapping: ReadonlyMap<string, string>): Promise<RestoredTopic[]> {
  if (!existsSync(join(dataDir, 'metadata.db'))) throw new UsageError(`${dataDir} is not a Parapet data directory (no metadata.db): a topic is restored into an initialised, stopped one`);
  const scratch = mkdtempSync(join(tmpdir(), 'parapet-restore-'));
  try {
    // The backup's metadata store, for the topics' configs and the groups' offsets on them.
    await restoreFiles(target, manifest, identity, scratch, { only: (f) => f.kind === 'metadata' });
    const source = new MetadataStore(scratch);
    const dest = new MetadataStore(dataDir);
    try {
      const plan = [...mapping].map(([from, to]) => {
        const record = source.topic(from);
        if (record === undefined) throw new UsageError(`backup ${manifest.id} has no topic ${from} (it has ${source.topics().map((t) => t.name).join(', ')})`);
        if (dest.topic(to) !== undefined) throw new UsageError(`${dataDir} has a topic ${to} already: restore under a new name (--topic ${from}=NEW-NAME)`);
        if (dest.topics().some((t) => t.id === record.id)) {
          throw new UsageError(`topic ${from}'s id ${record.id} is in use in ${dataDir} (the topic still exists there): restore it into another data directory`);
        }
        return { from, to, record };
      });
      const restored: RestoredTopic[] = [];
      for (const { from, to, record } of plan) {
        const prefix = `logs/${from}-`;
        const ofTopic = (path: string) => path.startsWith(prefix) && /^\d+\//.test(path.slice(prefix.length));
        await restoreFiles(target, manifest, identity, dataDir, {
          only: (f) => ofTopic(f.path),
          rename: (f) => `logs/${to}-${f.path.slice(prefix.length)}`,
        });
        for (let p = 0; p < record.partitions; p++) renamePartitionMeta(join(dataDir, 'logs', `${to}-${p}`), to);
        dest.createTopic(to, record.id, record.partitions, record.configs);
        let groupOffsets = 0;
        for (const group of source.groupsWithOffsets()) {
          const offsets = source.fetchOffsets(group, null).filter((o) => o.topic === from);
          if (offsets.length === 0) continue;
          const existing = new Set(dest.fetchOffsets(group, null).filter((o) => o.topic === to).map((o) => o.partition));
          const fresh = offsets.filter((o) => !existing.has(o.partition)).map((o) => ({ ...o, topic: to }));
          dest.commitOffsets(group, fresh);
          groupOffsets += fresh.length;
        }
        restored.push({ from, to, topicId: record.id, partitions: record.partitions, groupOffsets });
      }
      return restored;
    } finally {
      source.close();
      dest.close();
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** partition.json names its topic: the restored name, the same id and format. */
function renamePartitionMeta(dir: string, topic: string): void {
  const path = join(dir, PARTITION_META_FILE);
  if (!existsSync(path)) return;
  const meta = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  writeFileSync(path, `${JSON.stringify({ ...meta, topic })}\n`, { mode: 0o600 });
}
