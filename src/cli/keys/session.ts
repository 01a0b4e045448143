import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BrokerConfig } from '../../broker/broker.js';
import type { Logger } from '../../logger.js';
import type { KekProvider } from '../../storage/crypto/kek-provider.js';
import { KEYRING_FILE, openKeyServices } from '../../storage/crypto/key-setup.js';
import type { KeyServices } from '../../storage/crypto/partition-keys.js';
import { DataDirLock, DataDirLockedError } from '../../storage/data-dir-lock.js';
import { MetadataStore, type TopicRecord } from '../../storage/metadata-store.js';
import { dataDirConfig } from '../data-dir-config.js';
import { CliFailure, ExitCodes } from '../failures.js';
import { withAuditedChanges, type RecordChange } from './audited.js';

/**
 * What every `parapet keys` command works with: a stopped broker's data directory, locked for the
 * whole command, its topics as the metadata store has them, and the KEK provider its configuration
 * names, opened without creating anything (a keyring or master key made here would open nothing).
 */
export interface KeysSession {
  readonly dataDir: string;
  readonly config: BrokerConfig;
  readonly provider: KekProvider;
  readonly services: KeyServices;
  /** Where the keys are (`local keyring …`, `pkcs11 token …`): never a secret. */
  readonly keysDescription: string;
  readonly topics: readonly TopicRecord[];
  /** Records a change in the audit trail (a no-op for the commands that only read). */
  readonly recordChange: RecordChange;
}

/** Warnings of the key provider go to stderr as one line; nothing else it logs matters to a command. */
function stderrLogger(stderr: (text: string) => void): Logger {
  return {
    info() {},
    debug() {},
    warn(_obj, msg) {
      stderr(`parapet: warning: ${msg}\n`);
    },
    error(_obj, msg) {
      stderr(`parapet: error: ${msg}\n`);
    },
  };
}

export async function withKeysSession<T>(
  dataDirFlag: string,
  stderr: (text: string) => void,
  use: (session: KeysSession) => Promise<T>,
  options: { changes?: boolean } = {},
): Promise<T> {
  const dataDir = resolve(dataDirFlag);
  // DataDirLock.acquire would create a missing directory: a mistyped --data-dir must fail instead.
  if (!existsSync(join(dataDir, 'metadata.db'))) {
    throw new CliFailure(`${dataDir} is not a Parapet data directory (no metadata.db): name one with --data-dir`, ExitCodes.DATA_DIR);
  }
  const lock = acquireLock(dataDir);
  try {
    const config = dataDirConfig(dataDir);
    const store = new MetadataStore(dataDir);
    let topics: TopicRecord[];
    try {
      topics = store.topics();
    } finally {
      store.close();
    }
    const keyring = join(dataDir, KEYRING_FILE);
    if (config.encryptionAtRest.provider === 'local' && !existsSync(keyring)) {
      // Said here: openKeyServices, which never creates one for a command, would blame the master key.
      throw new CliFailure(
        `${dataDir} has no keyring (${keyring}): no broker has started on it with encryption at rest yet, or it was lost; ` +
          'restore it from a backup if so (it holds the KEKs of every encrypted topic)',
        ExitCodes.FAILED,
      );
    }
    const opened = openKeyServices(config.encryptionAtRest, dataDir, stderrLogger(stderr), { create: false });
    try {
      await opened.ready.catch((err: unknown) => {
        throw new CliFailure(`the ${opened.services.provider.kind} key provider (${opened.description}) could not be opened: ${err instanceof Error ? err.message : String(err)}`, ExitCodes.FAILED);
      });
      const session = (recordChange: RecordChange) => use({ dataDir, config, provider: opened.services.provider, services: opened.services, keysDescription: opened.description, topics, recordChange });
      return options.changes === true ? await withAuditedChanges(config, dataDir, session) : await session(() => undefined);
    } finally {
      await opened.services.provider.close();
    }
  } finally {
    lock.release();
  }
}

/**
 * The local keyring is rewritten whole by whoever changes it (a rotation, a new topic's KEK): a broker
 * and a command writing it at once would each drop the other's change. So the command takes the data
 * directory's lock, which a running broker holds.
 */
function acquireLock(dataDir: string): DataDirLock {
  try {
    return DataDirLock.acquire(dataDir, 'parapet keys');
  } catch (err) {
    if (!(err instanceof DataDirLockedError)) throw err;
    const who = err.owner === undefined ? 'another process' : `${err.owner.command} (pid ${err.owner.pid} on ${err.owner.host}, since ${err.owner.since})`;
    throw new CliFailure(
      `the data directory ${dataDir} is in use by ${who}: stop the broker first: parapet keys changes the keyring, which the running broker holds`,
      ExitCodes.DATA_DIR,
    );
  }
}
