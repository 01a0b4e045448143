import { userInfo } from 'node:os';
import type { BrokerConfig } from '../../broker/broker.js';
import { auditDirOf, auditSigningKeyRefOf } from '../../audit/audit-config.js';
import { AuditTrail } from '../../audit/audit-trail.js';
import { toAuditEvents } from '../../audit/ocsf.js';
import { loadAuditSigningKey } from '../../audit/signing-key.js';
import { productVersion } from '../../version.js';
import { CliFailure, ExitCodes } from '../failures.js';

/** Records one change a command made, in the data directory's audit trail. */
export type RecordChange = (action: string, resource: { type: string; name: string }, detail: object) => void;

/**
 * Runs a command that changes keys with the data directory's audit trail open (the broker is stopped:
 * the command holds the data directory's lock), and records each change as the broker records an admin
 * change, made by `User:os:<account>` from `local`. The trail is opened before anything changes: a
 * trail that cannot be written refuses the command (fail closed), unless the config fails open.
 */
export async function withAuditedChanges<T>(config: BrokerConfig, dataDir: string, use: (record: RecordChange) => Promise<T>): Promise<T> {
  if (!config.audit.enabled) return use(() => undefined);
  let trail: AuditTrail;
  try {
    trail = await AuditTrail.open({ dir: auditDirOf(config.audit, dataDir), signingKey: loadAuditSigningKey(auditSigningKeyRefOf(config.audit, dataDir)) });
  } catch (err) {
    throw new CliFailure(`the audit trail cannot be opened, so no key change can be recorded: ${err instanceof Error ? err.message : String(err)}`, ExitCodes.FAILED);
  }
  const principal = `User:os:${userInfo().username}` as const;
  const record: RecordChange = (action, resource, detail) => {
    for (const event of toAuditEvents({ type: 'admin-change', principal, remote: 'local', action, resource, detail: { ...detail, via: 'parapet keys' } }, { time: Date.now(), productVersion: productVersion() })) {
      trail.record(event);
    }
  };
  try {
    return await use(record);
  } finally {
    await trail.close();
  }
}
