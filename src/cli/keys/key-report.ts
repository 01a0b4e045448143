import { topicKeyName, type KekVersionInfo } from '../../storage/crypto/kek-provider.js';
import type { TopicRecord } from '../../storage/metadata-store.js';
import { ENCRYPTED } from '../../topics/topic-configs.js';
import { CliFailure, ExitCodes } from '../failures.js';
import { addStoredBytes, emptyStoredBytes, partitionKeys, storedBytes, type PartitionDir, type StoredBytes } from './partition-files.js';
import type { KeysSession } from './session.js';

/**
 * What `parapet keys list` and `describe` show of a topic's keys: names, versions, ids, dates and
 * counts, never key material (neither the wrapped keys of `data-keys.json` nor anything unwrapped).
 */

export type KekState = 'active' | 'destroyed' | 'none yet';

export interface KekReport {
  readonly name: string;
  readonly state: KekState;
  /** Oldest first; empty when destroyed or none yet. */
  readonly versions: readonly KekVersionInfo[];
  readonly newest: number | null;
}

export interface DataKeyInfo {
  readonly id: number;
  readonly kekVersion: number;
  readonly createdMs: number;
}

export interface PartitionReport {
  readonly partition: number;
  readonly dir: string;
  readonly dataKeys: readonly DataKeyInfo[];
  readonly stored: StoredBytes;
}

export interface TopicKeysReport {
  readonly topic: string;
  readonly topicId: string;
  /** The topic's `encryption` config (default aes-256-gcm). */
  readonly encryption: string;
  readonly provider: string;
  readonly kek: KekReport;
  readonly dataKeys: number;
  /** Data keys wrapped by a KEK version older than the newest. */
  readonly dataKeysOnOlderKek: number;
  readonly stored: StoredBytes;
  readonly partitions: readonly PartitionReport[];
}

export async function kekReport(session: KeysSession, topicId: string): Promise<KekReport> {
  const name = topicKeyName(topicId);
  const described = await session.provider.describe(name);
  if (described === 'destroyed') return { name, state: 'destroyed', versions: [], newest: null };
  const newest = described.reduce<number | null>((n, v) => (n === null || v.version > n ? v.version : n), null);
  return { name, state: described.length === 0 ? 'none yet' : 'active', versions: described, newest };
}

export async function topicKeysReport(session: KeysSession, topic: { name: string; id: string; configs: Readonly<Record<string, string>> }, dirs: readonly PartitionDir[]): Promise<TopicKeysReport> {
  const kek = await kekReport(session, topic.id);
  const partitions = dirs.map((p): PartitionReport => {
    const dataKeys = partitionKeys(p, session.services)
      .stored()
      .map((k) => ({ id: k.id, kekVersion: k.kek.version, createdMs: k.createdMs }));
    return { partition: p.partition, dir: p.dir, dataKeys, stored: storedBytes(p.dir) };
  });
  const all = partitions.flatMap((p) => p.dataKeys);
  const stored = emptyStoredBytes();
  for (const p of partitions) addStoredBytes(stored, p.stored);
  return {
    topic: topic.name,
    topicId: topic.id,
    encryption: topic.configs.encryption ?? ENCRYPTED,
    provider: session.provider.kind,
    kek,
    dataKeys: all.length,
    dataKeysOnOlderKek: kek.newest === null ? 0 : all.filter((k) => k.kekVersion < (kek.newest ?? 0)).length,
    stored,
    partitions,
  };
}

/** The topic named by `--topic`, or a usage error that says which topics there are. */
export function topicNamed(session: KeysSession, name: string): TopicRecord {
  const topic = session.topics.find((t) => t.name === name);
  if (topic === undefined) {
    throw new CliFailure(`no topic ${JSON.stringify(name)} in ${session.dataDir} (parapet keys list shows the topics)`, ExitCodes.USAGE);
  }
  return topic;
}

/**
 * Data keys whose KEK the provider has no version of (a keyring restored from before the topic, or
 * another HSM): creating a KEK now would make a version 1 that opens none of them. Refused.
 */
export function checkKekKnown(report: TopicKeysReport): void {
  if (report.kek.state === 'none yet' && report.dataKeys > 0) {
    throw new CliFailure(
      `topic ${report.topic} has ${report.dataKeys} data key(s) but the ${report.provider} key provider has no ${report.kek.name}: ` +
        'restore the keyring (or the HSM token) that holds it; nothing was changed',
      ExitCodes.FAILED,
    );
  }
}

/** Every report to JSON: dates as ISO-8601, nothing else transformed. */
export function reportJson(report: TopicKeysReport, detail: boolean): object {
  const kek = {
    name: report.kek.name,
    state: report.kek.state,
    newestVersion: report.kek.newest,
    versions: report.kek.versions.map((v) => ({ version: v.version, created: iso(v.createdMs), location: v.location })),
  };
  const base = {
    topic: report.topic,
    topicId: report.topicId,
    encryption: report.encryption,
    provider: report.provider,
    kek,
    dataKeys: report.dataKeys,
    dataKeysOnOlderKek: report.dataKeysOnOlderKek,
    stored: report.stored,
  };
  if (!detail) return base;
  return {
    ...base,
    partitions: report.partitions.map((p) => ({
      partition: p.partition,
      dataKeys: p.dataKeys.map((k) => ({ id: k.id, kekVersion: k.kekVersion, created: iso(k.createdMs) })),
      stored: p.stored,
    })),
  };
}

/** `1 batch`, `2 batches`. */
export function counted(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** `v2 (2 versions)`, `-` when there are none. */
export function kekSummary(kek: KekReport): string {
  if (kek.newest === null) return '-';
  return `v${kek.newest} (${kek.versions.length} version${kek.versions.length === 1 ? '' : 's'})`;
}
