import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import type { BackupTarget } from '../../../backup/contracts.js';
import type { Identity, TrustedSigner } from '../../../backup/keys/backup-keys.js';
import { readManifest, verifyBackup, type VerifyProblem } from '../../../backup/reader.js';
import { readClientConfig, type ClientConfig } from '../../../client/client-config.js';
import { restoreInto } from '../restore-into.js';
import { checkPartitions, type PartitionCheck } from './check-partitions.js';
import { startRestoredBroker, type RestoredBroker } from './restored-broker.js';

/**
 * `parapet dr drill` (issue 17): proves a backup restores, end to end, the way an operator would
 * recover: verify it, restore it with the same code as `parapet restore` into a fresh private
 * directory, start a broker on it, and read every partition back through the Kafka protocol
 * (check-partitions.ts). Reports the RPO (how old the restored data is: now minus the capture time)
 * and the RTO (from the drill's start until the restored broker answered its first Fetch). Any
 * failure is a result, never thrown past the report, so a cron job gets a report and exit code 1.
 */

export interface DrillOptions {
  readonly target: BackupTarget;
  readonly backupId: string;
  readonly trusted: TrustedSigner;
  /** Without it the drill verifies what it can, then fails: restoring needs the identity. */
  readonly identity: Identity | undefined;
  readonly identityFile: string;
  readonly keysFrom: string;
  readonly keepDir: boolean;
  readonly startTimeoutMs: number;
  /** When the drill began (Date.now() ms): the RTO counts from here. */
  readonly startedAtMs: number;
}

export type DrillStage = 'verify' | 'restore' | 'start' | 'consume';

export interface DrillReport {
  readonly ok: boolean;
  readonly backupId: string;
  readonly target: string;
  /** The backup's capture time. */
  readonly capturedAt: string | null;
  /** Seconds between the capture and the end of the drill: the data a recovery now would lose. */
  readonly rpoSeconds: number | null;
  /** Seconds from the drill's start until the restored broker answered its first Fetch. */
  readonly rtoSeconds: number | null;
  readonly seconds: number;
  /** The stage that failed, or null. */
  readonly failedAt: DrillStage | null;
  readonly failure: string | null;
  readonly verify: { readonly ok: boolean; readonly decrypted: boolean; readonly problems: readonly VerifyProblem[]; readonly notes: readonly string[] };
  /** The restored directory, when --keep-dir kept it. */
  readonly keptDir: string | null;
  readonly partitions: readonly PartitionCheck[];
}

export async function runDrill(o: DrillOptions): Promise<DrillReport> {
  const verified = await verifyBackup(o.target, o.backupId, { trusted: o.trusted, ...(o.identity === undefined ? {} : { identity: o.identity }) });
  const verify = { ok: verified.ok, decrypted: verified.decrypted, problems: verified.problems, notes: verified.notes };
  let capturedAt: string | null = null;
  let partitions: readonly PartitionCheck[] = [];
  let firstFetchAtMs: number | null = null;
  let keptDir: string | null = null;
  const finish = (failedAt: DrillStage | null, failure: string | null): DrillReport => {
    const now = Date.now();
    const ok = failedAt === null && partitions.every((p) => p.ok);
    return {
      ok,
      backupId: o.backupId,
      target: o.target.description,
      capturedAt,
      rpoSeconds: capturedAt === null ? null : (now - Date.parse(capturedAt)) / 1000,
      rtoSeconds: firstFetchAtMs === null ? null : (firstFetchAtMs - o.startedAtMs) / 1000,
      seconds: (now - o.startedAtMs) / 1000,
      failedAt,
      failure,
      verify,
      keptDir,
      partitions,
    };
  };
  if (!verified.ok) return finish('verify', `backup ${o.backupId} fails verification: ${verified.problems.length} problem(s)`);
  if (o.identity === undefined) return finish('restore', `restoring needs the backup identity (the X25519 private key), not found at ${o.identityFile}: give --identity FILE`);
  const manifest = await readManifest(o.target, o.backupId, o.trusted);
  capturedAt = manifest.createdAt;

  // A private parent (mkdtemp makes it 0700): the broker writes beside its data directory too.
  const parent = mkdtempSync(join(tmpdir(), 'parapet-drill-'));
  const dataDir = join(parent, 'data');
  keptDir = o.keepDir ? dataDir : null;
  // Removed even when the drill is interrupted (drill-command.ts exits on SIGINT and SIGTERM).
  const removeOnExit = () => {
    if (!o.keepDir) rmSync(parent, { recursive: true, force: true });
  };
  process.once('exit', removeOnExit);
  let broker: RestoredBroker | null = null;
  let stage: DrillStage = 'restore';
  try {
    await restoreInto(o.target, manifest, o.identity, dataDir, { keysFrom: o.keysFrom, overwrite: false });
    stage = 'start';
    const config = drillClientConfig(dataDir, manifest.source.dataDir);
    broker = await startRestoredBroker(dataDir, o.startTimeoutMs);
    stage = 'consume';
    const checked = await checkPartitions({ ...config, bootstrapServers: [{ host: broker.host, port: broker.port }] }, dataDir, manifest.partitions);
    partitions = checked.partitions;
    firstFetchAtMs = checked.firstFetchAtMs;
    const bad = partitions.filter((p) => !p.ok).length;
    return finish(bad === 0 ? null : 'consume', bad === 0 ? null : `${bad} of ${partitions.length} partition(s) differ from the backup`);
  } catch (err) {
    return finish(stage, err instanceof Error ? err.message : String(err));
  } finally {
    if (broker !== null) await broker.stop();
    removeOnExit();
    process.removeListener('exit', removeOnExit);
  }
}

/**
 * The restored admin client config (its password is the restored admin's), pointed at the restored
 * copy of files it names inside the original data directory (`parapet init` writes the CA's path
 * absolute): the drill must not depend on the original directory, which a real disaster took away.
 */
function drillClientConfig(dataDir: string, originalDataDir: string): ClientConfig {
  const config = readClientConfig(join(dataDir, 'client', 'admin.properties'));
  const moved = (path: string | undefined) => (path?.startsWith(originalDataDir + sep) === true ? join(dataDir, path.slice(originalDataDir.length + 1)) : path);
  const tls: { caLocation?: string; certificateLocation?: string; keyLocation?: string } = {};
  for (const key of ['caLocation', 'certificateLocation', 'keyLocation'] as const) {
    const path = moved(config.tls[key]);
    if (path !== undefined) tls[key] = path;
  }
  return { ...config, tls };
}
