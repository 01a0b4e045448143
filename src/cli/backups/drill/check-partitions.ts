import { createHash } from 'node:crypto';
import { batchInRange, readRestoredLog, type BatchSpan, type RestoredLog } from '../../../backup/drill/restored-log.js';
import type { PartitionEntry } from '../../../backup/format/manifest-schema.js';
import type { ClientConfig } from '../../../client/client-config.js';
import { ClusterConnections } from '../../../client/cluster-connections.js';
import { listOffsets, partitionKey } from '../../../client/partition-offsets.js';
import { errorByCode } from '../../../protocol/error-codes.js';
import { Fetch } from '../../../protocol/messages/fetch.js';
import { computeBatchCrc, readBatchHeader, splitBatches } from '../../../records/batch.js';
import { INTERNAL_TOPICS } from '../../../topics/internal-topics.js';

/**
 * The drill's comparison: each partition of the manifest read through the Kafka protocol from the
 * broker started on the restored directory, against the manifest's offsets and the restored segment
 * files. Offsets: ListOffsets earliest/latest must be the captured log start and end. Content: every
 * fetched batch must pass its CRC-32C (for a topic encrypted at rest that proves the broker opened
 * it with the restored keys), the batches' offset ranges must be those stored, and for a partition
 * stored in the clear the SHA-256 of the fetched batches must equal that of the stored ones (restore
 * checked those against the signed manifest). A sealed partition is served opened: its content is
 * checked by CRC and offsets only.
 */

export interface PartitionCheck {
  readonly topic: string;
  readonly partition: number;
  readonly logStartOffset: string;
  readonly endOffset: string;
  readonly earliest: string | null;
  readonly latest: string | null;
  /** Whether the partition is stored sealed (encryption at rest): content compared by CRC and offsets only. */
  readonly sealed: boolean;
  readonly batches: number;
  readonly records: number;
  /** `sha256`: fetched bytes equal the restored segments'; `crc-and-offsets`: a sealed partition. */
  readonly compared: 'sha256' | 'crc-and-offsets';
  readonly ok: boolean;
  readonly problems: readonly string[];
}

export interface CheckResult {
  readonly partitions: readonly PartitionCheck[];
  /** When the broker answered the drill's first Fetch (Date.now() ms), or null if none was answered. */
  readonly firstFetchAtMs: number | null;
}

/** Per Fetch: one batch larger than this still comes whole (KIP-74). */
const FETCH_BYTES = 8 * 1024 * 1024;

export async function checkPartitions(config: ClientConfig, restoredDir: string, partitions: readonly PartitionEntry[]): Promise<CheckResult> {
  const cluster = await ClusterConnections.connect(config, { clientId: 'parapet-dr-drill' });
  let firstFetchAtMs: number | null = null;
  const onFetched = () => {
    firstFetchAtMs ??= Date.now();
  };
  try {
    const asked = partitions.map((p) => ({ topic: p.topic, partition: p.partition }));
    const earliest = await offsetsOrProblem(cluster, asked, 'earliest');
    const latest = await offsetsOrProblem(cluster, asked, 'latest');
    const checks: PartitionCheck[] = [];
    for (const p of partitions) checks.push(await checkOne(cluster, restoredDir, p, earliest, latest, onFetched));
    return { partitions: checks, firstFetchAtMs };
  } finally {
    cluster.close();
  }
}

type Offsets = { readonly offsets: ReadonlyMap<string, bigint | null> } | { readonly failure: string };

async function offsetsOrProblem(cluster: ClusterConnections, asked: readonly { topic: string; partition: number }[], kind: 'earliest' | 'latest'): Promise<Offsets> {
  try {
    return { offsets: await listOffsets(cluster, asked, { kind }) };
  } catch (err) {
    return { failure: `ListOffsets ${kind}: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function offsetOf(result: Offsets, p: PartitionEntry, problems: string[]): bigint | null {
  if ('failure' in result) {
    problems.push(result.failure);
    return null;
  }
  return result.offsets.get(partitionKey(p.topic, p.partition)) ?? null;
}

async function checkOne(cluster: ClusterConnections, restoredDir: string, p: PartitionEntry, earliestAll: Offsets, latestAll: Offsets, onFetched: () => void): Promise<PartitionCheck> {
  const problems: string[] = [];
  const from = BigInt(p.logStartOffset);
  const to = BigInt(p.endOffset);
  const earliest = offsetOf(earliestAll, p, problems);
  const latest = offsetOf(latestAll, p, problems);
  if (earliest !== null && earliest !== from) problems.push(`the broker's log starts at offset ${earliest}; the backup's at ${from}`);
  // The broker appends to the topics it writes itself (its audit trail records the drill's own login).
  const grows = INTERNAL_TOPICS.has(p.topic);
  if (latest !== null && (grows ? latest < to : latest !== to)) problems.push(`the broker's log ends at offset ${latest}; the backup's at ${to}`);

  let stored: RestoredLog | null = null;
  try {
    stored = readRestoredLog(restoredDir, p.topic, p.partition, from, to);
  } catch (err) {
    problems.push(`the restored log cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  }
  const fetched = await fetchRange(cluster, p, from, to, problems, onFetched);
  const sealed = stored?.sealed ?? false;
  if (stored !== null) {
    if (!sameSpans(fetched.spans, stored.spans)) {
      const first = firstDifference(fetched.spans, stored.spans);
      problems.push(`the broker serves ${fetched.spans.length} batch(es), the restored log holds ${stored.spans.length}; they first differ at ${first}`);
    } else if (!sealed) {
      if (fetched.records !== stored.plainRecords) problems.push(`the broker serves ${fetched.records} record(s); the restored log holds ${stored.plainRecords}`);
      if (fetched.sha256 !== stored.sha256) problems.push(`the SHA-256 of the fetched batches is ${fetched.sha256}; of the restored segments ${stored.sha256 ?? '-'}`);
    }
  }
  return {
    topic: p.topic,
    partition: p.partition,
    logStartOffset: p.logStartOffset,
    endOffset: p.endOffset,
    earliest: earliest?.toString() ?? null,
    latest: latest?.toString() ?? null,
    sealed,
    batches: fetched.spans.length,
    records: fetched.records,
    compared: sealed ? 'crc-and-offsets' : 'sha256',
    ok: problems.length === 0,
    problems,
  };
}

interface Fetched {
  readonly spans: readonly BatchSpan[];
  readonly records: number;
  readonly sha256: string;
}

/** Fetches [from, to) batch after batch, checking each batch's CRC-32C. */
async function fetchRange(cluster: ClusterConnections, p: PartitionEntry, from: bigint, to: bigint, problems: string[], onFetched: () => void): Promise<Fetched> {
  const hash = createHash('sha256');
  const spans: BatchSpan[] = [];
  let records = 0;
  let offset = from;
  const where = `${p.topic}-${p.partition}`;
  while (offset < to) {
    let body;
    try {
      body = await cluster.bootstrap.request(Fetch, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: FETCH_BYTES,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic: p.topic, partitions: [{ partition: p.partition, fetchOffset: offset, partitionMaxBytes: FETCH_BYTES }] }],
        forgottenTopicsData: [],
        rackId: '',
      });
    } catch (err) {
      problems.push(`Fetch of ${where} at offset ${offset}: ${err instanceof Error ? err.message : String(err)}`);
      break;
    }
    onFetched();
    const answer = body.responses.find((r) => r.topic === p.topic)?.partitions.find((q) => q.partitionIndex === p.partition);
    if (answer === undefined) {
      problems.push(`Fetch of ${where} at offset ${offset}: the broker did not answer for the partition`);
      break;
    }
    if (answer.errorCode !== 0) {
      problems.push(`Fetch of ${where} at offset ${offset}: ${errorByCode(answer.errorCode)?.name ?? `error code ${answer.errorCode}`}`);
      break;
    }
    const batches = answer.records === null ? [] : splitBatches(answer.records, { allowPartialTail: true });
    const before = offset;
    for (const batch of batches) {
      const header = readBatchHeader(batch);
      const span = { baseOffset: header.baseOffset, lastOffset: header.baseOffset + BigInt(header.lastOffsetDelta) };
      if (span.lastOffset < offset) continue;
      if (!batchInRange(span, from, to)) break;
      if (computeBatchCrc(batch) !== header.crc) problems.push(`the batch at offsets ${span.baseOffset}..${span.lastOffset} fails its CRC-32C`);
      spans.push(span);
      records += header.recordCount;
      hash.update(batch);
      offset = span.lastOffset + 1n;
    }
    if (offset === before) {
      problems.push(`the broker serves nothing of ${where} at offset ${offset}, below the backup's end ${to}`);
      break;
    }
  }
  return { spans, records, sha256: hash.digest('hex') };
}

function sameSpans(a: readonly BatchSpan[], b: readonly BatchSpan[]): boolean {
  return a.length === b.length && a.every((s, i) => s.baseOffset === b[i]?.baseOffset && s.lastOffset === b[i].lastOffset);
}

function firstDifference(fetched: readonly BatchSpan[], stored: readonly BatchSpan[]): string {
  const show = (s: BatchSpan | undefined) => (s === undefined ? 'nothing' : `${s.baseOffset}..${s.lastOffset}`);
  for (let i = 0; i < Math.max(fetched.length, stored.length); i++) {
    const a = fetched[i];
    const b = stored[i];
    if (a?.baseOffset !== b?.baseOffset || a?.lastOffset !== b?.lastOffset) return `batch ${i}: served ${show(a)}, stored ${show(b)}`;
  }
  return 'no batch';
}
