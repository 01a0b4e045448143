import { InvalidArgumentError, Option, type Command } from 'commander';
import { formatQuotaEntity, type QuotaEntityName } from '../../client/quota-admin.js';
import { ClientError } from '../../client/errors.js';
import { printable } from '../../client/printable.js';
import { type AdminIo, type ConnectionFlags, withConnectionOptions, loadConfig, withAdmin, action, collect, UsageError } from './common.js';
import { formatTable } from './table.js';

/** The quota keys `set` has a flag for, as Kafka names them (QuotaConfigs). */
const KEY_FLAGS = [
  { flag: '--producer-byte-rate', key: 'producer_byte_rate', prop: 'producerByteRate', what: 'bytes/s a producer may send', whole: true },
  { flag: '--consumer-byte-rate', key: 'consumer_byte_rate', prop: 'consumerByteRate', what: 'bytes/s a consumer may fetch', whole: true },
  { flag: '--request-percentage', key: 'request_percentage', prop: 'requestPercentage', what: "percent of a second of the broker's request time, per window sample", whole: false },
  { flag: '--controller-mutation-rate', key: 'controller_mutation_rate', prop: 'controllerMutationRate', what: 'partitions created or deleted per second', whole: false },
] as const;

type KeyProp = (typeof KEY_FLAGS)[number]['prop'];

interface EntityFlags extends ConnectionFlags {
  readonly user?: string;
  readonly defaultUser?: boolean;
  readonly clientId?: string;
  readonly defaultClientId?: boolean;
}

function positive(flag: string, whole: boolean): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || (whole && !Number.isInteger(n))) {
      throw new InvalidArgumentError(`${flag} must be a positive ${whole ? 'whole ' : ''}number.`);
    }
    return n;
  };
}

function withEntityOptions(cmd: Command): Command {
  return cmd
    .option('--user <name>', 'the user (the name of its principal, alice for User:alice)')
    .option('--default-user', "every user's default (/config/users/<default>)")
    .option('--client-id <id>', 'the client id')
    .option('--default-client-id', "every client id's default (/config/clients/<default>)");
}

/** The entity the flags name; `required`: at least one side. */
function entityOf(flags: EntityFlags, required: boolean): QuotaEntityName {
  if (flags.user !== undefined && flags.defaultUser === true) throw new UsageError('give --user or --default-user, not both');
  if (flags.clientId !== undefined && flags.defaultClientId === true) throw new UsageError('give --client-id or --default-client-id, not both');
  if (flags.user === '' || flags.clientId === '') throw new UsageError('an empty name is not an entity (use --default-user or --default-client-id)');
  const user = flags.defaultUser === true ? null : flags.user;
  const clientId = flags.defaultClientId === true ? null : flags.clientId;
  if (required && user === undefined && clientId === undefined) throw new UsageError('name the entity: --user, --default-user, --client-id or --default-client-id');
  return { ...(user === undefined ? {} : { user }), ...(clientId === undefined ? {} : { clientId }) };
}

/** `parapet quota set|list|remove`: client quotas through AlterClientQuotas and DescribeClientQuotas. */
export function registerQuotaCommands(quota: Command, io: AdminIo): void {
  const set = withEntityOptions(quota.command('set').description('set quota values of a user, a client id, or a user and client id (docs/security/network.md)'));
  for (const k of KEY_FLAGS) set.addOption(new Option(`${k.flag} <n>`, `${k.key}: ${k.what}`).argParser(positive(k.flag, k.whole)));
  withConnectionOptions(set.option('--validate-only', 'check the values with the broker without storing them')).action(
    action(io, async (flags: EntityFlags & Partial<Record<KeyProp, number>> & { validateOnly?: boolean }) => {
      const entity = entityOf(flags, true);
      const values: Record<string, number> = {};
      for (const k of KEY_FLAGS) {
        const value = flags[k.prop];
        if (value !== undefined) values[k.key] = value;
      }
      if (Object.keys(values).length === 0) throw new UsageError(`give at least one value: ${KEY_FLAGS.map((k) => k.flag).join(', ')}`);
      const config = loadConfig(flags);
      await withAdmin(io, config, (admin) => admin.quotas.alter(entity, values, [], flags.validateOnly === true));
      const listed = Object.entries(values).map(([k, v]) => `${k}=${v}`).join(' ');
      io.stdout(`${flags.validateOnly === true ? 'valid (not stored)' : 'set'}: ${printable(formatQuotaEntity(entity))} ${listed}\n`);
    }),
  );

  withConnectionOptions(
    withEntityOptions(quota.command('list').description('list the quota entities set on the broker (those matching the flags; all without)')),
  ).action(
    action(io, async (flags: EntityFlags) => {
      const filter = entityOf(flags, false);
      const config = loadConfig(flags);
      const described = await withAdmin(io, config, (admin) => admin.quotas.describe(filter));
      if (described.length === 0) {
        io.stdout('no quota entities set (the config file’s per-user defaults apply)\n');
        return;
      }
      const rows = described.map((d) => [formatQuotaEntity(d.entity), Object.entries(d.values).map(([k, v]) => `${k}=${v}`).join(' ')]);
      io.stdout(formatTable(['ENTITY', 'QUOTAS'], rows));
    }),
  );

  withConnectionOptions(
    withEntityOptions(quota.command('remove').description("remove quota values of an entity (every value it has, or the --key ones)")).option(
      '--key <key>',
      `a quota key to remove (${KEY_FLAGS.map((k) => k.key).join(', ')}); repeat for several`,
      collect,
      [],
    ),
  ).action(
    action(io, async (flags: EntityFlags & { key: string[] }) => {
      const entity = entityOf(flags, true);
      const config = loadConfig(flags);
      const removed = await withAdmin(io, config, async (admin) => {
        let keys = flags.key;
        if (keys.length === 0) {
          const found = (await admin.quotas.describe(entity, true))[0];
          if (found === undefined) throw new ClientError(`no quota is set for ${printable(formatQuotaEntity(entity))}`);
          keys = Object.keys(found.values);
        }
        await admin.quotas.alter(entity, {}, keys);
        return keys;
      });
      io.stdout(`removed: ${printable(formatQuotaEntity(entity))} ${removed.join(' ')}\n`);
    }),
  );
}
