import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command, type CommanderError } from 'commander';
import { AclOperation, AclPermissionType, CLUSTER_RESOURCE_NAME, parseAclOperation, PatternType, ResourceType } from '../protocol/acl.js';
import { DEFAULT_SCRAM_ITERATIONS, MAX_SCRAM_ITERATIONS, MIN_SCRAM_ITERATIONS, SCRAM_MECHANISMS } from '../security/credentials/scram-keys.js';
import type { ScramMechanismName } from '../security/types.js';
import { AdminClient, compareAclBindings, formatAclBinding, type AclBinding, type AclBindingFilter, type ScramCredentialInfo } from '../client/admin.js';
import {
  formatBrokerAddress,
  parseBootstrapServers,
  readClientConfig,
  usesTls,
  type ClientConfig,
  type SecurityProtocol,
} from '../client/client-config.js';
import { ClientError } from '../client/errors.js';
import type { ConnectionOptions } from '../client/kafka-connection.js';

/**
 * `parapet user|acl|topic`: administration over the Kafka protocol through the admin client, so the
 * same commands work against Parapet and any Kafka cluster. Connection settings come from a
 * librdkafka-style client config (by default `<data-dir>/client/admin.properties`).
 *
 * Exit codes: 0 success, 1 the operation failed (message on stderr), 2 bad usage.
 * A password never reaches stdout, stderr or an error message: generated ones go only to a 0600 file.
 */

/** Where the commands read and write; injected so tests can run them in-process. */
export interface AdminIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** The whole of standard input (for `--password-stdin`). */
  readonly readStdin: () => Promise<string>;
  /** Ends the program after a usage error commander detected (or `--help`); does not return. */
  readonly exit: (code: number) => never;
  /** Records the status of a finished action; actions never exit themselves, so sockets close cleanly. */
  readonly setExitCode: (code: number) => void;
  readonly connection?: ConnectionOptions;
}

/** Standard input is a password or two, never more. */
const MAX_STDIN_BYTES = 64 * 1024;

export function processIo(): AdminIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    readStdin: async () => {
      if (process.stdin.isTTY) process.stderr.write('password (then Enter and Ctrl-D): ');
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of process.stdin) {
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
        size += buf.length;
        if (size > MAX_STDIN_BYTES) throw new UsageError(`standard input is larger than ${MAX_STDIN_BYTES} bytes`);
        chunks.push(buf);
      }
      return Buffer.concat(chunks).toString('utf8');
    },
    exit: (code) => process.exit(code),
    setExitCode: (code) => {
      process.exitCode = code;
    },
  };
}

/** A mistake in how the command was called: exit code 2, like commander's own usage errors. */
class UsageError extends Error {
  override name = 'UsageError';
}

interface ConnectionFlags {
  readonly bootstrap?: string;
  readonly clientConfig?: string;
  readonly dataDir: string;
}

const DEFAULT_DATA_DIR = './parapet-data';

function withConnectionOptions(cmd: Command): Command {
  return cmd
    .option('--bootstrap <host:port>', 'broker(s) to connect to, comma-separated (overrides bootstrap.servers)')
    .option('--client-config <file>', 'librdkafka-style client properties (default: <data-dir>/client/admin.properties)')
    .option('--data-dir <dir>', 'the Parapet data directory', DEFAULT_DATA_DIR);
}

function loadConfig(flags: ConnectionFlags): ClientConfig {
  const explicit = flags.clientConfig !== undefined;
  const path = flags.clientConfig ?? join(flags.dataDir, 'client', 'admin.properties');
  if (!explicit && !existsSync(path)) {
    throw new ClientError(`no client config at ${path}: pass --client-config FILE (or --data-dir for another data directory)`);
  }
  const config = readClientConfig(path);
  if (flags.bootstrap === undefined) return config;
  try {
    return { ...config, bootstrapServers: parseBootstrapServers(flags.bootstrap) };
  } catch (err) {
    throw new UsageError(`--bootstrap: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function withAdmin<T>(io: AdminIo, config: ClientConfig, fn: (admin: AdminClient) => Promise<T>): Promise<T> {
  const admin = await AdminClient.connect(config, io.connection ?? {});
  try {
    return await fn(admin);
  } finally {
    admin.close();
  }
}

/** Runs an action: a failure becomes one line on stderr and exit code 1 (2 for usage errors). */
function action<A extends unknown[]>(io: AdminIo, fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      const usage = err instanceof UsageError;
      const known = usage || err instanceof ClientError;
      const message = err instanceof Error ? err.message : String(err);
      io.stderr(`parapet: ${known ? '' : 'unexpected error: '}${message}\n`);
      io.setExitCode(usage ? 2 : 1);
    }
  };
}

function integer(what: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${what} must be an integer from ${min} to ${max}.`);
    }
    return n;
  };
}

function collect(value: string, previous: readonly string[]): string[] {
  return [...previous, value];
}

/** Usage errors (exit 2) and help (exit 0) from commander go through the injected io. */
function configureGroup(cmd: Command, io: AdminIo): Command {
  return cmd
    .configureOutput({
      writeOut: (s) => {
        io.stdout(s);
      },
      writeErr: (s) => {
        io.stderr(s);
      },
    })
    .exitOverride((err: CommanderError) => io.exit(err.exitCode === 0 ? 0 : 2))
    .showHelpAfterError('(add --help for usage)');
}

export function registerAdminCommands(program: Command, io: AdminIo = processIo()): void {
  registerUserCommands(configureGroup(program.command('user').description('manage SCRAM users (SCRAM-SHA-256/512 credentials)'), io), io);
  registerAclCommands(configureGroup(program.command('acl').description('manage ACL bindings'), io), io);
  registerTopicCommands(configureGroup(program.command('topic').description('manage topics'), io), io);
}

// ---- user ----

const GENERATED_PASSWORD_BYTES = 24;

/** `<data-dir>/client/<name>.properties` is only built from names that cannot leave that directory. */
const SAFE_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]*$/;

function checkUserName(name: string): void {
  // The name goes into a properties file line: no line breaks, and no edges the reader would trim.
  // eslint-disable-next-line no-control-regex
  if (name === '' || name.trim() !== name || /[\x00-\x1f\x7f]/.test(name)) {
    throw new UsageError('a user name must be non-empty, without control characters or surrounding spaces');
  }
}

function parseMechanisms(value: string): ScramMechanismName[] {
  const upper = value.trim().toUpperCase();
  if (upper === 'ALL') return [...SCRAM_MECHANISMS];
  const found = SCRAM_MECHANISMS.find((m) => m === upper);
  if (found === undefined) throw new InvalidArgumentError(`expected ${SCRAM_MECHANISMS.join(', ')} or all.`);
  return [found];
}

function readPasswordText(text: string): string {
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new UsageError('--password-stdin: standard input holds no password');
  // eslint-disable-next-line no-control-regex
  if (/[\x00\r\n]/.test(password)) throw new UsageError('--password-stdin: the password must be one line');
  return password;
}

/** The protocol a SCRAM user connects with: the admin's, with SASL on top of its transport. */
function userProtocol(admin: SecurityProtocol): SecurityProtocol {
  return usesTls(admin) ? 'SASL_SSL' : 'SASL_PLAINTEXT';
}

function userClientConfig(config: ClientConfig, user: string, mechanism: ScramMechanismName, password: string): string {
  const lines = [
    `# Client config for SCRAM user ${user}, written by parapet.`,
    '# It holds the password: keep it private (mode 0600); kcat -F and librdkafka clients read it as is.',
    `bootstrap.servers=${config.bootstrapServers.map(formatBrokerAddress).join(',')}`,
    `security.protocol=${userProtocol(config.securityProtocol)}`,
    `sasl.mechanisms=${mechanism}`,
    `sasl.username=${user}`,
    `sasl.password=${password}`,
  ];
  // An absolute path, so that the file works from any directory. The admin's own certificate and key
  // are its identity and are never copied.
  if (config.tls.caLocation !== undefined) lines.push(`ssl.ca.location=${resolve(config.tls.caLocation)}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Writes a secret file in two steps: `stage` creates a private temporary file next to the target
 * (mode 0600 from its creation, never wider), `commit` renames it into place. Staging before the
 * broker is changed means an unwritable target fails the command before a password exists that
 * nobody could read back.
 */
function stageSecretFile(path: string, content: string): { commit(): void; abort(): void } {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(tmp, content, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new ClientError(`cannot write ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return {
    commit: () => {
      try {
        renameSync(tmp, path);
      } catch (err) {
        rmSync(tmp, { force: true });
        throw new ClientError(`cannot write ${path}: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
    abort: () => {
      rmSync(tmp, { force: true });
    },
  };
}

interface PasswordFlags extends ConnectionFlags {
  readonly passwordStdin?: boolean;
  readonly out?: string;
  readonly iterations?: number;
}

interface PasswordPlan {
  readonly password: string;
  /** Where the user's client config goes: for generated passwords (shown nowhere else) or with --out. */
  readonly path: string | undefined;
}

/** Settles the password and the output file before anything touches the network, so usage errors cost nothing. */
async function planPassword(io: AdminIo, name: string, flags: PasswordFlags): Promise<PasswordPlan> {
  const generated = flags.passwordStdin !== true;
  let out = flags.out;
  if (out === undefined && generated) {
    if (!SAFE_FILE_NAME.test(name)) throw new UsageError(`user name "${name}" cannot be used as a file name: pass --out FILE`);
    out = join(flags.dataDir, 'client', `${name}.properties`);
  }
  const password = generated ? randomBytes(GENERATED_PASSWORD_BYTES).toString('base64url') : readPasswordText(await io.readStdin());
  if (out !== undefined && password.trim() !== password) {
    throw new UsageError('--out: a password with surrounding spaces cannot be written to a properties file');
  }
  const path = out === undefined ? undefined : resolve(out);
  if (path !== undefined && existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`--out: ${path} is a directory`);
  return { password, path };
}

/** Runs `change` with the password, writing the user's client config around it when the plan has a path. */
async function applyPassword(
  plan: PasswordPlan,
  name: string,
  fileMechanism: ScramMechanismName,
  config: ClientConfig,
  change: (password: string) => Promise<void>,
): Promise<void> {
  if (plan.path === undefined) {
    await change(plan.password);
    return;
  }
  const staged = stageSecretFile(plan.path, userClientConfig(config, name, fileMechanism, plan.password));
  try {
    await change(plan.password);
  } catch (err) {
    staged.abort();
    throw err;
  }
  try {
    staged.commit();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new ClientError(`${message}; the password of "${name}" was changed but not saved: run \`parapet user passwd ${name}\``);
  }
}

function preferredMechanism(mechanisms: readonly ScramMechanismName[]): ScramMechanismName {
  return mechanisms.includes('SCRAM-SHA-512') ? 'SCRAM-SHA-512' : (mechanisms[0] ?? 'SCRAM-SHA-512');
}

function describeCredentials(credentials: readonly ScramCredentialInfo[]): string {
  return credentials.map((c) => `${c.mechanism} (${c.iterations} iterations)`).join(', ');
}

function registerUserCommands(user: Command, io: AdminIo): void {
  const iterationsOption = () =>
    new Option('--iterations <n>', `PBKDF2 iterations (${MIN_SCRAM_ITERATIONS}-${MAX_SCRAM_ITERATIONS})`).argParser(
      integer('--iterations', MIN_SCRAM_ITERATIONS, MAX_SCRAM_ITERATIONS),
    );
  const passwordOptions = (cmd: Command) =>
    cmd
      .option('--password-stdin', 'read the password from standard input instead of generating one')
      .option('--out <file>', "write a client config with the password here (default for generated passwords: <data-dir>/client/<name>.properties)");

  withConnectionOptions(
    passwordOptions(
      user
        .command('add')
        .description('create a SCRAM user; a generated password goes only into a 0600 client config file')
        .argument('<name>', 'user name (the principal is User:<name>)')
        .addOption(
          new Option('--mechanism <mechanism>', 'SCRAM-SHA-512, SCRAM-SHA-256 or all').argParser(parseMechanisms).default([...SCRAM_MECHANISMS], 'all'),
        )
        .addOption(iterationsOption()),
    ),
  ).action(
    action(io, async (name: string, flags: PasswordFlags & { mechanism: ScramMechanismName[] }) => {
      checkUserName(name);
      const config = loadConfig(flags);
      const plan = await planPassword(io, name, flags);
      const iterations = flags.iterations ?? DEFAULT_SCRAM_ITERATIONS;
      const credentials = flags.mechanism.map((mechanism) => ({ mechanism, iterations }));
      await withAdmin(io, config, async (admin) => {
        const existing = (await admin.describeScramUsers([name])).find((u) => u.user === name);
        if (existing !== undefined && existing.credentials.length > 0) {
          throw new ClientError(`user "${name}" already exists (${describeCredentials(existing.credentials)}): use \`parapet user passwd ${name}\``);
        }
        await applyPassword(plan, name, preferredMechanism(flags.mechanism), config, (password) =>
          admin.upsertScramCredentials(name, password, credentials),
        );
      });
      io.stdout(`created user "${name}": ${describeCredentials(credentials)}\n`);
      if (plan.path !== undefined) io.stdout(`client config with the password (mode 0600): ${plan.path}\n`);
    }),
  );

  withConnectionOptions(
    passwordOptions(
      user
        .command('passwd')
        .description("change a SCRAM user's password, for every mechanism the user has")
        .argument('<name>', 'user name')
        .addOption(iterationsOption()),
    ),
  ).action(
    action(io, async (name: string, flags: PasswordFlags) => {
      checkUserName(name);
      const config = loadConfig(flags);
      const plan = await planPassword(io, name, flags);
      const credentials = await withAdmin(io, config, async (admin) => {
        const existing = (await admin.describeScramUsers([name])).find((u) => u.user === name);
        if (existing === undefined || existing.credentials.length === 0) throw new ClientError(`no SCRAM user "${name}"`);
        const changed = existing.credentials.map((c) => ({ mechanism: c.mechanism, iterations: flags.iterations ?? c.iterations }));
        const mechanisms = changed.map((c) => c.mechanism);
        await applyPassword(plan, name, preferredMechanism(mechanisms), config, (password) => admin.upsertScramCredentials(name, password, changed));
        return changed;
      });
      io.stdout(`changed the password of "${name}": ${describeCredentials(credentials)}\n`);
      if (plan.path !== undefined) io.stdout(`client config with the password (mode 0600): ${plan.path}\n`);
    }),
  );

  withConnectionOptions(user.command('list').description('list SCRAM users with their mechanisms and iterations')).action(
    action(io, async (flags: ConnectionFlags) => {
      const config = loadConfig(flags);
      await withAdmin(io, config, async (admin) => {
        for (const u of await admin.describeScramUsers(null)) {
          io.stdout(`${u.user}  ${describeCredentials(u.credentials)}\n`);
        }
      });
    }),
  );

  withConnectionOptions(user.command('delete').description("delete a user's SCRAM credentials (every mechanism)").argument('<name>', 'user name')).action(
    action(io, async (name: string, flags: ConnectionFlags) => {
      const config = loadConfig(flags);
      await withAdmin(io, config, async (admin) => {
        const existing = (await admin.describeScramUsers([name])).find((u) => u.user === name);
        if (existing === undefined || existing.credentials.length === 0) throw new ClientError(`no SCRAM user "${name}"`);
        await admin.deleteScramCredentials(
          name,
          existing.credentials.map((c) => c.mechanism),
        );
        io.stdout(`deleted user "${name}": ${existing.credentials.map((c) => c.mechanism).join(', ')}\n`);
      });
    }),
  );
}

// ---- acl ----

interface AclFlags extends ConnectionFlags {
  readonly principal?: string;
  readonly allow?: boolean;
  readonly deny?: boolean;
  readonly operation?: string;
  readonly topic?: string;
  readonly group?: string;
  readonly transactionalId?: string;
  readonly cluster?: boolean;
  readonly prefixed?: boolean;
  readonly host?: string;
  readonly all?: boolean;
}

function checkPrincipal(principal: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_-]*:.+$/.test(principal)) throw new UsageError(`--principal must be TYPE:NAME, e.g. User:alice (got "${principal}")`);
  return principal;
}

/** `*`, an IP address, or (a Parapet extension) a CIDR block. */
function checkHost(host: string): string {
  if (host === '*' || isIP(host) !== 0) return host;
  const cidr = /^([^/]+)\/(\d{1,3})$/.exec(host);
  const family = cidr?.[1] === undefined ? 0 : isIP(cidr[1]);
  if (family !== 0 && Number(cidr?.[2]) <= (family === 4 ? 32 : 128)) return host;
  throw new UsageError(`--host must be *, an IP address or a CIDR block (got "${host}")`);
}

function parseOperations(text: string, allowAny: boolean): AclOperation[] {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length === 0) throw new UsageError('--operation needs at least one operation');
  return names.map((name) => {
    const op = parseAclOperation(name);
    if (op === undefined || op === AclOperation.UNKNOWN || (op === AclOperation.ANY && !allowAny)) {
      throw new UsageError(`unknown ACL operation "${name}" (e.g. READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE, ALL)`);
    }
    return op;
  });
}

function resourceOf(flags: AclFlags): { type: ResourceType; name: string } | undefined {
  if (flags.topic !== undefined) return { type: ResourceType.TOPIC, name: flags.topic };
  if (flags.group !== undefined) return { type: ResourceType.GROUP, name: flags.group };
  if (flags.transactionalId !== undefined) return { type: ResourceType.TRANSACTIONAL_ID, name: flags.transactionalId };
  if (flags.cluster === true) return { type: ResourceType.CLUSTER, name: CLUSTER_RESOURCE_NAME };
  return undefined;
}

function permissionOf(flags: AclFlags): AclPermissionType | undefined {
  if (flags.allow === true) return AclPermissionType.ALLOW;
  if (flags.deny === true) return AclPermissionType.DENY;
  return undefined;
}

function bindingsFrom(flags: AclFlags): AclBinding[] {
  const permission = permissionOf(flags);
  if (permission === undefined) throw new UsageError('give --allow or --deny');
  const resource = resourceOf(flags);
  if (resource === undefined) throw new UsageError('give the resource: --topic NAME, --group NAME, --transactional-id NAME or --cluster');
  if (flags.prefixed === true && resource.type === ResourceType.CLUSTER) throw new UsageError('--prefixed does not apply to --cluster');
  const principal = checkPrincipal(flags.principal ?? '');
  const host = checkHost(flags.host ?? '*');
  return parseOperations(flags.operation ?? '', false).map((operation) => ({
    resourceType: resource.type,
    resourceName: resource.name,
    patternType: flags.prefixed === true ? PatternType.PREFIXED : PatternType.LITERAL,
    principal,
    host,
    operation,
    permission,
  }));
}

/**
 * Filters for list and remove: one per operation. Without `--prefixed`, `list` matches any pattern
 * type, while `remove` with a resource name removes the LITERAL bindings only, exactly what `add`
 * without `--prefixed` created, so that a remove never reaches further than the matching add.
 */
function filtersFrom(flags: AclFlags, mode: 'list' | 'remove'): AclBindingFilter[] {
  const resource = resourceOf(flags);
  const patternType =
    flags.prefixed === true ? PatternType.PREFIXED : mode === 'remove' && resource !== undefined ? PatternType.LITERAL : PatternType.ANY;
  const base = {
    resourceType: resource?.type ?? ResourceType.ANY,
    resourceName: resource?.name ?? null,
    patternType,
    principal: flags.principal === undefined ? null : checkPrincipal(flags.principal),
    host: flags.host === undefined ? null : checkHost(flags.host),
    permission: permissionOf(flags) ?? AclPermissionType.ANY,
  };
  const operations = flags.operation === undefined ? [AclOperation.ANY] : parseOperations(flags.operation, true);
  return operations.map((operation) => ({ ...base, operation }));
}

function isEmptyFilter(flags: AclFlags): boolean {
  return (
    flags.principal === undefined &&
    permissionOf(flags) === undefined &&
    flags.operation === undefined &&
    resourceOf(flags) === undefined &&
    flags.prefixed !== true &&
    flags.host === undefined
  );
}

function aclOptions(cmd: Command, required: boolean): Command {
  const resources = ['topic', 'group', 'transactionalId', 'cluster'];
  const others = (self: string) => resources.filter((r) => r !== self);
  const need = required ? ' (required)' : '';
  return cmd
    .option('--principal <principal>', `principal, e.g. User:alice${need}`)
    .addOption(new Option('--allow', 'an ALLOW binding').conflicts('deny'))
    .addOption(new Option('--deny', 'a DENY binding (DENY wins over ALLOW)').conflicts('allow'))
    .option('--operation <ops>', `comma-separated operations, e.g. READ,WRITE${need}`)
    .addOption(new Option('--topic <name>', 'a topic (or topic prefix with --prefixed)').conflicts(others('topic')))
    .addOption(new Option('--group <name>', 'a consumer group (or prefix)').conflicts(others('group')))
    .addOption(new Option('--transactional-id <id>', 'a transactional id (or prefix)').conflicts(others('transactionalId')))
    .addOption(new Option('--cluster', 'the cluster').conflicts(others('cluster')))
    .option('--prefixed', 'the name is a prefix (PREFIXED pattern) rather than a literal name')
    .option('--host <host>', `client address: *, an IP or a CIDR block${required ? ' (default *)' : ''}`);
}

function registerAclCommands(acl: Command, io: AdminIo): void {
  withConnectionOptions(aclOptions(acl.command('add').description('add ACL bindings (one per operation)'), true)).action(
    action(io, async (flags: AclFlags) => {
      if (flags.principal === undefined) throw new UsageError('give --principal, e.g. User:alice');
      if (flags.operation === undefined) throw new UsageError('give --operation, e.g. READ or READ,WRITE');
      const bindings = bindingsFrom(flags);
      const config = loadConfig(flags);
      await withAdmin(io, config, async (admin) => {
        await admin.createAcls(bindings);
      });
      for (const b of bindings) io.stdout(`added ${formatAclBinding(b)}\n`);
    }),
  );

  withConnectionOptions(aclOptions(acl.command('list').description('list ACL bindings, optionally filtered'), false)).action(
    action(io, async (flags: AclFlags) => {
      const filters = filtersFrom(flags, 'list');
      const config = loadConfig(flags);
      const bindings = await withAdmin(io, config, async (admin) => {
        // DescribeAcls takes one filter: one request per operation, merged without duplicates.
        const found = new Map<string, AclBinding>();
        for (const filter of filters) for (const b of await admin.describeAcls(filter)) found.set(formatAclBinding(b), b);
        return [...found.values()].sort(compareAclBindings);
      });
      for (const b of bindings) io.stdout(`${formatAclBinding(b)}\n`);
    }),
  );

  withConnectionOptions(
    aclOptions(acl.command('remove').description('remove the ACL bindings matching the filters'), false).option(
      '--all',
      'allow an empty filter, which removes every binding',
    ),
  ).action(
    action(io, async (flags: AclFlags) => {
      if (isEmptyFilter(flags) && flags.all !== true) {
        throw new UsageError('refusing to remove every ACL binding: give a filter (--principal, --topic, ...) or --all');
      }
      const filters = filtersFrom(flags, 'remove');
      const config = loadConfig(flags);
      const removed = await withAdmin(io, config, (admin) => admin.deleteAcls(filters));
      if (removed.length === 0) io.stdout('no ACL binding matched\n');
      for (const b of removed) io.stdout(`removed ${formatAclBinding(b)}\n`);
    }),
  );
}

// ---- topic ----

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

function registerTopicCommands(topic: Command, io: AdminIo): void {
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
      io.stdout(`created topic "${name}"\n`);
    }),
  );

  withConnectionOptions(topic.command('list').description('list topics')).action(
    action(io, async (flags: ConnectionFlags) => {
      const config = loadConfig(flags);
      const topics = await withAdmin(io, config, (admin) => admin.listTopics());
      for (const t of topics) io.stdout(`${t.name}\n`);
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
      const lines = [`topic: ${d.name}${d.internal ? ' (internal)' : ''}`, `partitions: ${d.partitions.length}`];
      for (const p of d.partitions) {
        lines.push(`  partition ${p.partition}: leader=${p.leader} replicas=${p.replicas.join(',')} isr=${p.isr.join(',')}`);
      }
      const shown = flags.allConfigs === true ? d.configs : d.configs.filter((c) => !c.isDefault);
      lines.push(shown.length === 0 ? 'configs: (all default)' : 'configs:');
      for (const c of shown) {
        const value = c.value ?? (c.sensitive ? '<sensitive>' : '<null>');
        lines.push(`  ${c.name}=${value}${flags.allConfigs === true ? `  (${c.source})` : ''}`);
      }
      io.stdout(`${lines.join('\n')}\n`);
    }),
  );

  withConnectionOptions(topic.command('delete').description('delete a topic and its data').argument('<name>', 'topic name')).action(
    action(io, async (name: string, flags: ConnectionFlags) => {
      const config = loadConfig(flags);
      await withAdmin(io, config, (admin) => admin.deleteTopic(name));
      io.stdout(`deleted topic "${name}"\n`);
    }),
  );
}
