import type { Command } from 'commander';
import { configureGroup, processIo, type AdminIo } from './admin/common.js';

export type { AdminIo };

type Register = (program: Command, io: AdminIo) => Promise<void>;

/**
 * `parapet user|acl|topic|group|transactions|quota|…`: administration over the Kafka protocol through the admin
 * client, so the same commands work against Parapet and any Kafka cluster. Connection settings come from
 * a librdkafka-style client config (by default `<data-dir>/client/admin.properties`).
 *
 * Each top-level command loads its implementation when it is registered: `parapet topic …` loads the
 * topic commands, not the backup targets, the posture checks or the broker.
 *
 * Exit codes: 0 success, 1 the operation failed (message on stderr), 2 bad usage.
 * A password never reaches stdout, stderr or an error message: generated ones go only to a 0600 file.
 */
export const ADMIN_COMMANDS: Readonly<Record<string, Register>> = {
  user: async (program, io) => {
    const { registerUserCommands } = await import('./admin/user-commands.js');
    registerUserCommands(configureGroup(program.command('user').description('manage SCRAM users (SCRAM-SHA-256/512 credentials); disable and enable principals'), io), io);
  },
  acl: async (program, io) => {
    const [{ registerAclCommands }, { registerAclAdvise }] = await Promise.all([import('./admin/acl-commands.js'), import('./access/advise-command.js')]);
    const acl = configureGroup(program.command('acl').description('manage ACL bindings; advise the least privilege from observed access'), io);
    registerAclCommands(acl, io);
    registerAclAdvise(acl, io);
  },
  topic: async (program, io) => {
    const { registerTopicCommands } = await import('./admin/topic-commands.js');
    registerTopicCommands(configureGroup(program.command('topic').description('manage topics'), io), io);
  },
  group: async (program, io) => {
    const { registerGroupCommands } = await import('./admin/group-commands.js');
    registerGroupCommands(configureGroup(program.command('group').description('inspect consumer groups, reset their offsets, delete them'), io), io);
  },
  // Over the Kafka protocol (KIP-664), like kafka-transactions.sh; `abort` fences the producer (InitProducerId).
  transactions: async (program, io) => {
    const { registerTransactionCommands } = await import('./admin/transaction-commands.js');
    registerTransactionCommands(
      configureGroup(program.command('transactions').description('list and describe transactions; abort an open one (which fences its producer)'), io),
      io,
    );
  },
  // Over the broker's admin HTTP endpoint: the Kafka protocol cannot list or close other clients' connections.
  sessions: async (program, io) => {
    const { registerSessionCommands } = await import('./admin/session-commands.js');
    registerSessionCommands(configureGroup(program.command('sessions').description('list the open connections and close them (admin endpoint)'), io), io);
  },
  posture: async (program, io) => {
    (await import('./admin/posture-command.js')).registerPostureCommand(program, io);
  },
  lockdown: async (program, io) => {
    const { registerLockdownCommands } = await import('./admin/containment-commands.js');
    registerLockdownCommands(configureGroup(program.command('lockdown').description('deny every principal but the super users, and lift it (admin endpoint)'), io), io);
  },
  // Observed access from the admin endpoint, ACLs and users over the Kafka protocol (docs/security/least-privilege.md).
  access: async (program, io) => {
    const { registerAccessCommands } = await import('./access/review-command.js');
    registerAccessCommands(configureGroup(program.command('access').description('review access: unused grants, principals never seen, super users, wildcard grants'), io), io);
  },
  // Backups: the capture through the admin endpoint (or offline), the files read by this process (docs/operations/backup-and-recovery.md).
  backup: async (program, io) => {
    const { registerBackupCommands } = await import('./backups/backup-commands.js');
    registerBackupCommands(configureGroup(program.command('backup').description('back up a data directory, list and verify backups'), io), io);
  },
  restore: async (program, io) => {
    (await import('./backups/restore-command.js')).registerRestoreCommand(program, io);
  },
  // A restore rehearsed end to end, for cron: exit 1 when the restored broker serves anything else.
  dr: async (program, io) => {
    const { registerDrillCommand } = await import('./backups/drill-command.js');
    registerDrillCommand(configureGroup(program.command('dr').description('disaster recovery: rehearse a restore of a backup (drill)'), io), io);
  },
  // Masking on fetch per principal, over the admin endpoint (docs/governance/masking.md).
  mask: async (program, io) => {
    const { registerMaskCommands } = await import('./admin/mask-commands.js');
    registerMaskCommands(configureGroup(program.command('mask').description('add, list and remove masking policies: fields masked in fetches per principal (admin endpoint)'), io), io);
  },
  quota: async (program, io) => {
    const { registerQuotaCommands } = await import('./admin/quota-commands.js');
    registerQuotaCommands(configureGroup(program.command('quota').description('set, list and remove client quotas (byte rates, request time, partition mutations)'), io), io);
  },
};

/** Registers the administration commands (or only `only`), in the order the help lists them. */
export async function registerAdminCommands(program: Command, io: AdminIo = processIo(), only?: string): Promise<void> {
  for (const [name, register] of Object.entries(ADMIN_COMMANDS)) {
    if (only === undefined || name === only) await register(program, io);
  }
}
