import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_SCRAM_ITERATIONS, MAX_SCRAM_ITERATIONS, MIN_SCRAM_ITERATIONS, SCRAM_MECHANISMS } from '../../security/credentials/scram-keys.js';
import type { ScramMechanismName } from '../../security/types.js';
import { type ScramCredentialInfo } from '../../client/admin.js';
import { formatBrokerAddress, usesTls, type ClientConfig, type SecurityProtocol } from '../../client/client-config.js';
import { ClientError } from '../../client/errors.js';
import { type AdminIo, type ConnectionFlags, withConnectionOptions, loadConfig, withAdmin, action, integer, UsageError } from './common.js';

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

/** `parapet user add|list|passwd|delete`: SCRAM credentials, set from salted passwords only. */
export function registerUserCommands(user: Command, io: AdminIo): void {
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

