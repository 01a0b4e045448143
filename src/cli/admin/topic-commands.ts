import { Option, type Command } from 'commander';
import { ClientError, KafkaError } from '../../client/errors.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { type AdminIo, type ConnectionFlags, withConnectionOptions, loadConfig, withAdmin, action, integer, collect, UsageError } from './common.js';
import { printable } from '../../client/printable.js';

function parseConfigs(entries: readonly string[]): Record<string, string> {
  const configs: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new UsageError(`--config expects key=value (got "${entry}")`);
    const key = entry.slice(0, eq).trim();
    if (Object.hasOwn(configs, key)) throw new UsageError(`--config ${key} is given twice`);
    configs[key] = entry.slice(eq + 1);
  }
  return configs;
}

/** `parapet topic create|list|describe|alter|add-partitions|delete`. */
export function registerTopicCommands(topic: Command, io: AdminIo): void {
  withConnectionOptions(
    topic
      .command('create')
      .description('create a topic')
      .argument('<name>', 'topic name')
      .addOption(new Option('--partitions <n>', "number of partitions (default: the broker's)").argParser(integer('--partitions', 1, 1_000_000)))
      .addOption(
        new Option('--replication-factor <n>', "replicas per partition (default: the broker's)").argParser(integer('--replication-factor', 1, 32_767)),
      )
      .option('--config <key=value>', 'a topic config; repeat for several', collect, []),
  ).action(
    action(io, async (name: string, flags: ConnectionFlags & { partitions?: number; replicationFactor?: number; config: string[] }) => {
      const configs = parseConfigs(flags.config);
      const config = loadConfig(flags);
      await withAdmin(io, config, (admin) => admin.createTopic(name, flags.partitions ?? -1, configs, flags.replicationFactor ?? -1));
      io.stdout(`created topic "${printable(name)}"\n`);
    }),
  );

  withConnectionOptions(
    topic
      .command('list')
      .description('list topics')
      // As Kafka's Admin.listTopics: the broker's own topics (__audit) only when asked for.
      .option('--include-internal', "also list the broker's own topics, such as __audit"),
  ).action(
    action(io, async (flags: ConnectionFlags & { includeInternal?: boolean }) => {
      const config = loadConfig(flags);
      const topics = await withAdmin(io, config, (admin) => admin.listTopics());
      for (const t of topics) if (flags.includeInternal === true || !t.internal) io.stdout(`${printable(t.name)}${t.internal ? ' (internal)' : ''}\n`);
    }),
  );

  withConnectionOptions(
    topic
      .command('describe')
      .description("show a topic's partitions and the configs that differ from the defaults")
      .argument('<name>', 'topic name')
      .option('--all-configs', 'show every config, defaults included'),
  ).action(
    action(io, async (name: string, flags: ConnectionFlags & { allConfigs?: boolean }) => {
      const config = loadConfig(flags);
      const d = await withAdmin(io, config, (admin) => admin.describeTopic(name));
      const lines = [`topic: ${printable(d.name)}${d.internal ? ' (internal)' : ''}`, `partitions: ${d.partitions.length}`];
      for (const p of d.partitions) {
        lines.push(`  partition ${p.partition}: leader=${p.leader} replicas=${p.replicas.join(',')} isr=${p.isr.join(',')}`);
      }
      const shown = flags.allConfigs === true ? d.configs : d.configs.filter((c) => !c.isDefault);
      lines.push(shown.length === 0 ? 'configs: (all default)' : 'configs:');
      for (const c of shown) {
        const value = c.value ?? (c.sensitive ? '<sensitive>' : '<null>');
        lines.push(`  ${printable(c.name)}=${printable(value)}${flags.allConfigs === true ? `  (${printable(c.source)})` : ''}`);
      }
      io.stdout(`${lines.join('\n')}\n`);
    }),
  );

  withConnectionOptions(
    topic
      .command('alter')
      .description("set or delete some of a topic's configs (the others keep their values)")
      .argument('<name>', 'topic name')
      .option('--config <key=value>', 'set a config; repeat for several', collect, [])
      .option('--delete-config <key>', 'remove a config override, back to the default; repeat for several', collect, []),
  ).action(
    action(io, async (name: string, flags: ConnectionFlags & { config: string[]; deleteConfig: string[] }) => {
      const set = parseConfigs(flags.config);
      const remove = [...new Set(flags.deleteConfig.map((k) => k.trim()))];
      if (remove.some((k) => k === '')) throw new UsageError('--delete-config needs a config name');
      if (Object.keys(set).length === 0 && remove.length === 0) throw new UsageError('give --config KEY=VALUE or --delete-config KEY (each repeatable)');
      const both = remove.find((k) => Object.hasOwn(set, k));
      if (both !== undefined) throw new UsageError(`${both} is both set with --config and deleted with --delete-config`);
      const config = loadConfig(flags);
      await withAdmin(io, config, (admin) => admin.alterTopicConfigs(name, set, remove));
      const changes = [...Object.entries(set).map(([k, v]) => `set ${k}=${v}`), ...remove.map((k) => `deleted ${k}`)];
      io.stdout(printable(`altered topic "${name}": ${changes.join(', ')}`) + '\n');
    }),
  );

  withConnectionOptions(
    topic
      .command('add-partitions')
      .description('grow a topic to more partitions (their number can only grow)')
      .argument('<name>', 'topic name')
      .addOption(
        new Option('--count <n>', 'the new total number of partitions (as kafka-topics.sh --alter --partitions)')
          .argParser(integer('--count', 1, 1_000_000))
          .makeOptionMandatory(),
      ),
  ).action(
    action(io, async (name: string, flags: ConnectionFlags & { count: number }) => {
      const config = loadConfig(flags);
      const before = await withAdmin(io, config, async (admin) => {
        const current = (await admin.describePartitions([name])).get(name)?.partitions.length;
        if (current === undefined) throw new KafkaError(`add partitions to topic "${name}"`, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        if (flags.count <= current) {
          throw new ClientError(
            `topic "${name}" already has ${current} partition${current === 1 ? '' : 's'}: --count is the new total and must be more than ${current} (partitions can be added, never removed)`,
          );
        }
        await admin.createPartitions(name, flags.count);
        return current;
      });
      io.stdout(`topic "${printable(name)}" now has ${flags.count} partitions (${flags.count - before} added)\n`);
    }),
  );

  withConnectionOptions(topic.command('delete').description('delete a topic and its data').argument('<name>', 'topic name')).action(
    action(io, async (name: string, flags: ConnectionFlags) => {
      const config = loadConfig(flags);
      await withAdmin(io, config, (admin) => admin.deleteTopic(name));
      io.stdout(`deleted topic "${printable(name)}"\n`);
    }),
  );
}
