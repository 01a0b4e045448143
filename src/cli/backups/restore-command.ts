import { resolve } from 'node:path';
import type { Command } from 'commander';
import { defaultIdentityFile, loadIdentity } from '../../backup/keys/backup-keys.js';
import { readManifest } from '../../backup/reader.js';
import { DataDirLock } from '../../storage/data-dir-lock.js';
import { KEYRING_FILE } from '../../storage/crypto/key-setup.js';
import { action, collect, UsageError, type AdminIo } from '../admin/common.js';
import { newestComplete, trustedSigner } from './backup-commands.js';
import { restoreInto } from './restore-into.js';
import { parseTopicMapping, restoreTopics } from './restore-topics.js';
import { closeTarget, humanBytes, openTarget, withTargetOptions, type TargetFlags } from './target-spec.js';

interface RestoreFlags extends TargetFlags {
  readonly from: string;
  readonly backup?: string;
  readonly dataDir: string;
  readonly keysFrom: string;
  readonly trust?: string;
  readonly identity?: string;
  readonly overwrite?: boolean;
  readonly topic: readonly string[];
  readonly json?: boolean;
}

/**
 * `parapet restore`: builds a data directory from a backup that starts as the broker was at the
 * backup's capture: topics and configs, every partition up to the captured offsets, committed group
 * offsets, users, ACLs, quotas, idempotent producer state (rebuilt by the broker from the restored
 * snapshots and segments at its first start).
 *
 * The keys of encrypted topics are not in backups (a shredded topic must stay shredded in every
 * backup): the restore copies the keyring of `--keys-from`, whose master key the restored
 * parapet.yaml names by reference, as the original's did.
 */
export function registerRestoreCommand(program: Command, io: AdminIo): void {
  withTargetOptions(program.command('restore'))
    .description('build a new data directory from a backup: topics, offsets, groups, users, ACLs, producer state')
    .requiredOption('--from <target>', 'the target the backups are in: a directory, or s3://bucket/prefix')
    .option('--backup <id>', 'the backup to restore (default: the newest complete one)')
    .requiredOption('--data-dir <dir>', 'the data directory to build (new or empty; see --overwrite)')
    .option('--keys-from <dir>', 'the data directory whose keys to use: its keyring, <dir>-keys/backup/identity.key and signing.key.pub', './parapet-data')
    .option('--trust <file>', 'the signing public key the manifest must be signed with (default: from --keys-from)')
    .option('--identity <file>', 'the X25519 private key to decrypt with (default: from --keys-from)')
    .option('--overwrite', 'replace what an initialised (stopped) data directory holds; a running broker\'s is always refused')
    .option('--topic <name[=new-name]>', 'restore only this topic (repeatable), into an existing stopped data directory, under its name or a new one', collect, [])
    .option('--json', 'print the summary as JSON')
    .action(
      action(io, async (flags: RestoreFlags) => {
        const target = openTarget(flags.from, flags);
        try {
          const trusted = trustedSigner(flags.trust, flags.keysFrom, '--keys-from');
          const identity = loadIdentity(flags.identity ?? defaultIdentityFile(flags.keysFrom));
          const id = flags.backup ?? (await newestComplete(target, trusted));
          const manifest = await readManifest(target, id, trusted);
          if (flags.topic.length > 0) {
            const dataDir = resolve(flags.dataDir);
            const mapping = parseTopicMapping(flags.topic);
            if (flags.overwrite === true) throw new UsageError('--topic restores into a data directory as it is: --overwrite does not apply');
            // The directory's own lock: refused while its broker runs.
            const held = DataDirLock.acquire(dataDir, 'parapet restore');
            try {
              const restored = await restoreTopics(target, manifest, identity, dataDir, mapping);
              if (flags.json === true) io.stdout(`${JSON.stringify({ id, dataDir, topics: restored }, null, 2)}\n`);
              else {
                for (const r of restored) {
                  io.stdout(`restored topic ${r.from}${r.to === r.from ? '' : ` as ${r.to}`} (id ${r.topicId}, ${r.partitions} partition(s), ${r.groupOffsets} committed group offset(s)) from backup ${id} into ${dataDir}\n`);
                }
                io.stdout(`start the broker: parapet start --data-dir ${flags.dataDir}\n`);
              }
            } finally {
              held.release();
            }
            return;
          }
          const restored = await restoreInto(target, manifest, identity, flags.dataDir, { keysFrom: flags.keysFrom, overwrite: flags.overwrite === true });
          const { dataDir } = restored;
          const summary = { id, dataDir, files: restored.files, bytes: restored.bytes, keyring: restored.keyring, partitions: manifest.partitions };
          if (flags.json === true) {
            io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
          } else {
            io.stdout(`restored backup ${id} (taken ${manifest.createdAt}) into ${dataDir}: ${restored.files} file(s), ${humanBytes(restored.bytes)}, ${manifest.partitions.length} partition(s)\n`);
            if (restored.keyring !== null) io.stdout(`copied the keyring of ${flags.keysFrom}: the restored broker reads its master key where the restored parapet.yaml says\n`);
            io.stdout(`start it: parapet start --data-dir ${flags.dataDir}\n`);
          }
          if (restored.sealed && restored.keyring === null) io.stderr(`parapet: ${flags.keysFrom} has no ${KEYRING_FILE}: the encrypted topics restore only with the KEK provider that holds their keys (an HSM, or a keyring you copy into ${dataDir})\n`);
        } finally {
          closeTarget(target);
        }
      }),
    );
}
