import type { AdminIo } from '../admin/common.js';
import { formatTable } from '../admin/table.js';
import { counted, iso, kekReport, kekSummary, reportJson, topicKeysReport, topicNamed, type KekReport } from './key-report.js';
import { partitionDirsById } from './partition-files.js';
import type { KeysSession } from './session.js';

/** `parapet keys list` and `parapet keys describe`: read only, though under the lock like the others. */

const TOPIC_PREFIX = 'topic:';

interface Orphan {
  readonly topicId: string;
  readonly kek: KekReport;
}

/** KEK names of the provider whose topic is gone: a deleted topic's KEK still opens its backups. */
async function orphans(session: KeysSession): Promise<Orphan[]> {
  const ids = new Set(session.topics.map((t) => t.id));
  const out: Orphan[] = [];
  for (const name of [...(await session.provider.names())].sort()) {
    if (!name.startsWith(TOPIC_PREFIX)) continue;
    const topicId = name.slice(TOPIC_PREFIX.length);
    if (!ids.has(topicId)) out.push({ topicId, kek: await kekReport(session, topicId) });
  }
  return out;
}

export async function listKeys(io: AdminIo, session: KeysSession, json: boolean): Promise<void> {
  const dirs = partitionDirsById(session.dataDir);
  const reports = [];
  for (const topic of session.topics) reports.push(await topicKeysReport(session, topic, dirs.get(topic.id) ?? []));
  const gone = await orphans(session);
  if (json) {
    const out = {
      provider: session.provider.kind,
      keys: session.keysDescription,
      topics: reports.map((r) => reportJson(r, false)),
      orphans: gone.map((o) => ({ topicId: o.topicId, kek: o.kek.name, state: o.kek.state, newestVersion: o.kek.newest, versions: o.kek.versions.length })),
    };
    io.stdout(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  io.stdout(`keys: ${session.keysDescription}\n`);
  if (reports.length === 0) io.stdout('no topics\n');
  else {
    io.stdout(
      formatTable(
        ['TOPIC', 'TOPIC ID', 'ENCRYPTION', 'PROVIDER', 'KEK', 'STATE', 'DATA KEYS', 'ON OLDER KEK'],
        reports.map((r) => [r.topic, r.topicId, r.encryption, r.provider, kekSummary(r.kek), r.kek.state, String(r.dataKeys), String(r.dataKeysOnOlderKek)]),
      ),
    );
  }
  if (gone.length === 0) return;
  io.stdout('\nKEKs of deleted topics:\n');
  io.stdout(formatTable(['TOPIC ID', 'KEK', 'STATE'], gone.map((o) => [o.topicId, kekSummary(o.kek), o.kek.state])));
  for (const o of gone.filter((x) => x.kek.state === 'active')) {
    io.stdout(`  ${o.topicId}: topic deleted; its KEK still opens backups: \`parapet keys destroy --topic-id ${o.topicId}\` shreds them\n`);
  }
}

export async function describeKeys(io: AdminIo, session: KeysSession, name: string, json: boolean): Promise<void> {
  const topic = topicNamed(session, name);
  const report = await topicKeysReport(session, topic, partitionDirsById(session.dataDir).get(topic.id) ?? []);
  if (json) {
    io.stdout(`${JSON.stringify(reportJson(report, true), null, 2)}\n`);
    return;
  }
  io.stdout(`topic ${report.topic} (id ${report.topicId}), encryption ${report.encryption}\n`);
  io.stdout(`KEK ${report.kek.name} in the ${report.provider} provider: ${report.kek.state}\n`);
  if (report.kek.versions.length > 0) {
    const rows = report.kek.versions.map((v) => [`v${v.version}${v.version === report.kek.newest ? ' (newest)' : ''}`, iso(v.createdMs), v.location]);
    io.stdout(indent(formatTable(['VERSION', 'CREATED', 'LOCATION'], rows)));
  }
  if (report.partitions.length === 0) io.stdout('no partition holds data yet\n');
  for (const p of report.partitions) {
    const s = p.stored;
    io.stdout(
      `partition ${p.partition}: ${s.sealedBytes} bytes sealed (${counted(s.sealedBatches, 'batch', 'batches')}), ${s.clearBytes} bytes clear (${counted(s.clearBatches, 'batch', 'batches')}), ` +
        `${counted(p.dataKeys.length, 'data key')}\n`,
    );
    if (p.dataKeys.length > 0) {
      const rows = p.dataKeys.map((k) => [String(k.id), `v${k.kekVersion}${report.kek.newest !== null && k.kekVersion < report.kek.newest ? ' (older)' : ''}`, iso(k.createdMs)]);
      io.stdout(indent(formatTable(['DATA KEY', 'WRAPPED BY', 'CREATED'], rows)));
    }
  }
  if (report.stored.clearBytes > 0 && report.encryption !== 'none') {
    io.stdout(`${report.stored.clearBytes} bytes of this topic are stored in clear: \`parapet keys encrypt-existing --topic ${report.topic}\` seals them\n`);
  }
}

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, '  ');
}
