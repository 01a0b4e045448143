import type { Command } from 'commander';
import { configureGroup, processIo, type AdminIo } from './admin/common.js';
import { registerAclCommands } from './admin/acl-commands.js';
import { registerGroupCommands } from './admin/group-commands.js';
import { registerQuotaCommands } from './admin/quota-commands.js';
import { registerTopicCommands } from './admin/topic-commands.js';
import { registerUserCommands } from './admin/user-commands.js';
import { registerSessionCommands } from './admin/session-commands.js';
import { registerPostureCommand } from './admin/posture-command.js';
import { registerLockdownCommands } from './admin/containment-commands.js';
import { registerAclAdvise } from './access/advise-command.js';
import { registerAccessCommands } from './access/review-command.js';
import { registerBackupCommands } from './backups/backup-commands.js';
import { registerRestoreCommand } from './backups/restore-command.js';
import { registerDrillCommand } from './backups/drill-command.js';

export type { AdminIo } from './admin/common.js';

/**
 * `parapet user|acl|topic|group|quota`: administration over the Kafka protocol through the admin client, so the
 * same commands work against Parapet and any Kafka cluster. Connection settings come from a
 * librdkafka-style client config (by default `<data-dir>/client/admin.properties`).
 *
 * Exit codes: 0 success, 1 the operation failed (message on stderr), 2 bad usage.
 * A password never reaches stdout, stderr or an error message: generated ones go only to a 0600 file.
 */
export function registerAdminCommands(program: Command, io: AdminIo = processIo()): void {
  registerUserCommands(configureGroup(program.command('user').description('manage SCRAM users (SCRAM-SHA-256/512 credentials); disable and enable principals'), io), io);
  const acl = configureGroup(program.command('acl').description('manage ACL bindings; advise the least privilege from observed access'), io);
  registerAclCommands(acl, io);
  registerAclAdvise(acl, io);
  registerTopicCommands(configureGroup(program.command('topic').description('manage topics'), io), io);
  registerGroupCommands(configureGroup(program.command('group').description('inspect consumer groups, reset their offsets, delete them'), io), io);
  // Over the broker's admin HTTP endpoint: the Kafka protocol cannot list or close other clients' connections.
  registerSessionCommands(configureGroup(program.command('sessions').description('list the open connections and close them (admin endpoint)'), io), io);
  registerPostureCommand(program, io);
  registerLockdownCommands(configureGroup(program.command('lockdown').description('deny every principal but the super users, and lift it (admin endpoint)'), io), io);
  // Observed access from the admin endpoint, ACLs and users over the Kafka protocol (docs/security/least-privilege.md).
  registerAccessCommands(configureGroup(program.command('access').description('review access: unused grants, principals never seen, super users, wildcard grants'), io), io);
  // Backups: the capture through the admin endpoint (or offline), the files read by this process (docs/operations/backup-and-recovery.md).
  registerBackupCommands(configureGroup(program.command('backup').description('back up a data directory, list and verify backups'), io), io);
  registerRestoreCommand(program, io);
  // A restore rehearsed end to end, for cron: exit 1 when the restored broker serves anything else.
  registerDrillCommand(configureGroup(program.command('dr').description('disaster recovery: rehearse a restore of a backup (drill)'), io), io);
  registerQuotaCommands(configureGroup(program.command('quota').description('set, list and remove client quotas (byte rates, request time, partition mutations)'), io), io);
}
