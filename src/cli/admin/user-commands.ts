import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_SCRAM_ITERATIONS, MAX_SCRAM_ITERATIONS, MIN_SCRAM_ITERATIONS, SCRAM_MECHANISMS } from '../../security/credentials/scram-keys.js';
import { existingUserNameProblem, userNameProblem } from '../../protocol/names.js';
import { userPrincipal, type ScramMechanismName } from '../../security/types.js';
import { printable } from '../../client/printable.js';
import { isSecretRef } from '../../secret-ref.js';
import { formatAclBinding, MATCH_ALL_ACLS, compareAclBindings, type AdminClient, type AclBinding, type ScramCredentialInfo } from '../../client/admin.js';
import { Secret, usesTls, type ClientConfig } from '../../client/client-config.js';
import {
  clientSettingsFiles,
  clientSettingsFilesIn,
  listClientSettingsFiles,
  stageClientSettings,
  type ClientSettings,
  type ClientSettingsFiles,
} from '../../client/client-settings.js';
import { ClientError } from '../../client/errors.js';
import { type AdminIo, type ConnectionFlags, withConnectionOptions, loadConfig, withAdmin, action, integer, UsageError } from './common.js';
import { fetchDisabled, registerUserContainmentCommands, type DisabledRow } from './containment-commands.js';
import { dataDirConfig } from '../data-dir-config.js';
import { secretFromFlag } from './secret-flag.js';

const GENERATED_PASSWORD_BYTES = 24;

/** `<data-dir>/client/<name>.properties` is only built from names that cannot leave that directory. */
const SAFE_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]*$/;

/**
 * The broker's user-name rule (src/protocol/names.ts), checked before anything is written or sent. It
 * also keeps names fit for a properties file line: no line breaks, and no edges the reader would trim.
 */
function checkUserName(name: string): void {
  const problem = userNameProblem(name);
  if (problem !== null) throw new UsageError(`user name "${printable(name)}" refused: ${problem}`);
}

/** What `delete` accepts: any name a user may have had, so that users named before the rule can go. */
function checkExistingUserName(name: string): void {
  const problem = existingUserNameProblem(name);
  if (problem !== null) throw new UsageError(problem);
}

/**
 * Fewest characters of a password given with --password-stdin: 12, as NIST SP 800-63B asks of a
 * password that is the only factor. Generated passwords have 32.
 */
export const MIN_PASSWORD_LENGTH = 12;

/** Characters as a person counts them (grapheme clusters): an emoji or an accented letter is one. */
function characterCount(text: string): number {
  let count = 0;
  for (const segment of new Intl.Segmenter().segment(text)) if (segment.segment !== '') count++;
  return count;
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
  return checkPassword('--password-stdin', password);
}

/** The rules of a password a person chose: one line, at least MIN_PASSWORD_LENGTH characters. */
function checkPassword(flag: string, password: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\x00\r\n]/.test(password)) throw new UsageError(`${flag}: the password must be one line`);
  if (characterCount(password) < MIN_PASSWORD_LENGTH) throw new UsageError(`${flag}: the password is shorter than ${MIN_PASSWORD_LENGTH} characters`);
  return password;
}

/**
 * The settings a SCRAM user connects with: the admin's bootstrap servers and CA, SASL over the admin's
 * transport. The admin's own certificate and key are its identity and are never copied. The CA path is
 * made absolute, so that the files work from any directory.
 */
function userSettings(config: ClientConfig, user: string, mechanism: ScramMechanismName, password: string): ClientSettings {
  const tls = usesTls(config.securityProtocol);
  const caFile = tls && config.tls.caLocation !== undefined ? resolve(config.tls.caLocation) : undefined;
  return {
    bootstrapServers: config.bootstrapServers,
    securityProtocol: tls ? 'SASL_SSL' : 'SASL_PLAINTEXT',
    mechanism,
    username: user,
    password: new Secret(password),
    ...(caFile === undefined ? {} : { caFile }),
  };
}

/** What each file is for, as the commands print it. */
function describeFiles(files: ClientSettingsFiles): string {
  return [
    'client settings with the password (mode 0600):',
    `  ${files.properties}  (librdkafka, kcat -F)`,
    `  ${files.javaProperties}  (Java clients and tools)`,
    `  ${files.json}  (sections for kafkajs, @platformatic/kafka, kafka-python, confluent-kafka)`,
    '',
  ].join('\n');
}

/** The client file of KafkaJS that `parapet init` wrote before the JSON settings replaced it. */
function legacyKafkaJsFile(files: ClientSettingsFiles): string {
  return files.json.replace(/\.json$/, '.kafkajs.mjs');
}

/** The reference a properties file's `sasl.password` is, if it is one. */
function passwordReferenceIn(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const values = [...text.matchAll(/^\s*sasl\.password\s*=\s*(.*?)\s*$/gm)].map((m) => m[1] ?? '');
  const last = values.at(-1);
  return last !== undefined && isSecretRef(last) ? last : undefined;
}

interface PasswordFlags extends ConnectionFlags {
  readonly passwordStdin?: boolean;
  /** Said explicitly: the default unless --password-stdin (a forced change after a leak reads better with it). */
  readonly generate?: boolean;
  /** A reference, `${env:NAME}` or `${file:PATH}`. */
  readonly password?: string;
  readonly out?: string;
  readonly iterations?: number;
}

interface PasswordPlan {
  readonly password: string;
  /** Where the user's client settings go, when anywhere. */
  readonly files: ClientSettingsFiles | undefined;
}

/**
 * Settles the password and the output files before anything touches the network, so usage errors cost
 * nothing. The files are `--out` (and its siblings) when given; else `<data-dir>/client/<name>.*` for a
 * generated password (shown nowhere else) and, for `passwd`, also for a password from standard input
 * or a reference when those files already exist, so that they never keep a password that no longer
 * works (unless the file names its password by reference: that stays).
 */
async function planPassword(io: AdminIo, name: string, flags: PasswordFlags, command: 'add' | 'passwd'): Promise<PasswordPlan> {
  const generated = flags.passwordStdin !== true && flags.password === undefined;
  const defaultFile = SAFE_FILE_NAME.test(name) ? join(flags.dataDir, 'client', `${name}.properties`) : undefined;
  // A file that names where its password is keeps naming it: the new password goes there, by whoever keeps it.
  const reference = command === 'passwd' && defaultFile !== undefined && existsSync(defaultFile) ? passwordReferenceIn(defaultFile) : undefined;
  let out = flags.out;
  if (out === undefined && generated) {
    if (defaultFile === undefined) throw new UsageError(`user name "${name}" cannot be used as a file name: pass --out FILE`);
    if (reference !== undefined) throw new UsageError(`${defaultFile} takes its password from ${reference}: give the new password with --password REF or --password-stdin (or --out FILE for new client settings)`);
    out = defaultFile;
  }
  if (out === undefined && command === 'passwd' && defaultFile !== undefined && existsSync(defaultFile)) {
    if (reference === undefined) out = defaultFile;
    else io.stderr(`parapet: ${defaultFile} takes its password from ${reference}: it is left as it is; put the new password there\n`);
  }
  const password = generated
    ? randomBytes(GENERATED_PASSWORD_BYTES).toString('base64url')
    : flags.password !== undefined
      ? checkPassword('--password', secretFromFlag('--password', flags.password))
      : readPasswordText(await io.readStdin());
  if (out !== undefined && password.trim() !== password) {
    throw new UsageError(`a password with surrounding spaces cannot be written to ${out} (a properties file drops them)`);
  }
  const files = out === undefined ? undefined : clientSettingsFiles(resolve(out));
  for (const path of files === undefined ? [] : listClientSettingsFiles(files)) {
    if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`--out: ${path} is a directory`);
  }
  return { password, files };
}

/** Runs `change` with the password, writing the user's client settings around it when the plan has files. */
async function applyPassword(
  plan: PasswordPlan,
  name: string,
  fileMechanism: ScramMechanismName,
  config: ClientConfig,
  change: (password: string) => Promise<void>,
): Promise<void> {
  if (plan.files === undefined) {
    await change(plan.password);
    return;
  }
  const staged = stageClientSettings(plan.files, userSettings(config, name, fileMechanism, plan.password));
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

/** A word for a POSIX shell: as it is when it is plain, else single-quoted. */
function shellWord(text: string): string {
  return /^[A-Za-z0-9_.,:=@%+/-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}

/**
 * What deleting a user leaves behind, said so it can be cleaned up: ACL bindings naming the principal
 * (they would apply again to a user re-created with the same name) and the user's client files.
 */
async function reportLeftovers(io: AdminIo, admin: AdminClient, name: string, dataDir: string): Promise<void> {
  const principal = userPrincipal(name);
  let bindings: AclBinding[];
  try {
    bindings = (await admin.describeAcls({ ...MATCH_ALL_ACLS, principal })).sort(compareAclBindings);
  } catch (err) {
    io.stderr(`parapet: could not list the ACL bindings of ${principal}: ${err instanceof Error ? err.message : String(err)}\n`);
    bindings = [];
  }
  if (bindings.length > 0) {
    io.stdout(`ACL bindings that still name ${printable(principal)} (they apply again to a new user of that name):\n`);
    for (const b of bindings) io.stdout(`  ${formatAclBinding(b)}\n`);
    io.stdout(`remove them with: parapet acl remove --principal ${printable(shellWord(principal))}\n`);
  }
  if (!SAFE_FILE_NAME.test(name)) return;
  const files = clientSettingsFilesIn(join(dataDir, 'client'), name);
  const left = [...listClientSettingsFiles(files), legacyKafkaJsFile(files)].filter((f) => existsSync(f)).map((f) => resolve(f));
  if (left.length > 0) {
    io.stdout(`client files of "${printable(name)}" left in place (their password no longer works):\n`);
    for (const f of left) io.stdout(`  ${f}\n`);
    io.stdout(`delete them with: rm ${left.map(shellWord).join(' ')}\n`);
  }
}

function preferredMechanism(mechanisms: readonly ScramMechanismName[]): ScramMechanismName {
  return mechanisms.includes('SCRAM-SHA-512') ? 'SCRAM-SHA-512' : (mechanisms[0] ?? 'SCRAM-SHA-512');
}

function describeCredentials(credentials: readonly ScramCredentialInfo[]): string {
  return credentials.map((c) => `${c.mechanism} (${c.iterations} iterations)`).join(', ');
}

/**
 * `parapet user passwd --all --generate --out-dir DIR`: a new random password for every SCRAM user
 * (a credential leak of unknown extent), each written only to `DIR/<name>.*` (0600, DIR 0700). Each
 * change closes that user's live connections (the broker's CREDENTIALS_REVOKED) and is audited as any
 * credential change. The user this command logs in as is left out: its own settings file would stop
 * working mid-run; `parapet user passwd <it>` changes it and rewrites that file.
 */
async function changeEveryPassword(io: AdminIo, outDir: string, flags: PasswordFlags): Promise<void> {
  const dir = resolve(outDir);
  if (existsSync(dir)) {
    const stat = statSync(dir);
    if (!stat.isDirectory()) throw new UsageError(`--out-dir: ${dir} is not a directory`);
    if ((stat.mode & 0o077) !== 0) throw new UsageError(`--out-dir: ${dir} is open to other accounts (mode ${(stat.mode & 0o777).toString(8)}): the passwords go only to a new or owner-only (0700) directory`);
  } else {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  const config = loadConfig(flags);
  const self = config.sasl?.username;
  let failed = 0;
  await withAdmin(io, config, async (admin) => {
    for (const u of await admin.describeScramUsers(null)) {
      if (u.user === self) {
        io.stdout(`skipped "${printable(u.user)}": this command logs in as it; change it with \`parapet user passwd ${shellWord(u.user)}\`\n`);
        continue;
      }
      if (!SAFE_FILE_NAME.test(u.user)) {
        io.stderr(`parapet: "${printable(u.user)}" cannot be a file name: change it with \`parapet user passwd NAME --out FILE\`\n`);
        failed++;
        continue;
      }
      const plan: PasswordPlan = { password: randomBytes(GENERATED_PASSWORD_BYTES).toString('base64url'), files: clientSettingsFiles(join(dir, `${u.user}.properties`)) };
      const changed = u.credentials.map((c) => ({ mechanism: c.mechanism, iterations: flags.iterations ?? c.iterations }));
      await applyPassword(plan, u.user, preferredMechanism(changed.map((c) => c.mechanism)), config, (password) => admin.upsertScramCredentials(u.user, password, changed));
      io.stdout(`changed the password of "${printable(u.user)}": ${describeCredentials(changed)} -> ${plan.files?.properties ?? ''}\n`);
    }
  });
  io.stdout(`client settings with the new passwords (mode 0600) are in ${dir}: hand each to its application, then delete them\n`);
  if (failed > 0) io.setExitCode(1);
}

/**
 * Whether the data directory names an admin endpoint to ask for the disabled principals: a Parapet
 * directory whose endpoint is on (a config that does not load says so when asked).
 */
function endpointConfigured(dataDir: string): boolean {
  if (!existsSync(join(dataDir, 'parapet.yaml'))) return false;
  try {
    return dataDirConfig(dataDir).adminEndpoint.enabled;
  } catch {
    return true;
  }
}

/** `parapet user add|list|passwd|delete`: SCRAM credentials, set from salted passwords only. */
export function registerUserCommands(user: Command, io: AdminIo): void {
  const iterationsOption = () =>
    new Option('--iterations <n>', `PBKDF2 iterations (${MIN_SCRAM_ITERATIONS}-${MAX_SCRAM_ITERATIONS})`).argParser(
      integer('--iterations', MIN_SCRAM_ITERATIONS, MAX_SCRAM_ITERATIONS),
    );
  const passwordOptions = (cmd: Command) =>
    cmd
      .addOption(new Option('--password-stdin', 'read the password from standard input instead of generating one').conflicts('password'))
      .option('--password <ref>', "take the password from a reference instead of generating one: '${env:NAME}' or '${file:PATH}' (owner-only)")
      .option(
        '--out <file>',
        'write the client settings here (.properties; .java.properties and .json beside it). Default for generated passwords: <data-dir>/client/<name>.properties',
      );

  withConnectionOptions(
    passwordOptions(
      user
        .command('add')
        .description('create a SCRAM user; a generated password goes only into 0600 client settings files')
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
      const plan = await planPassword(io, name, flags, 'add');
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
      io.stdout(`created user "${printable(name)}": ${describeCredentials(credentials)}\n`);
      if (plan.files !== undefined) io.stdout(describeFiles(plan.files));
    }),
  );

  withConnectionOptions(
    passwordOptions(
      user
        .command('passwd')
        .description("change a SCRAM user's password, for every mechanism the user has; its live connections are closed")
        .argument('[name]', 'user name (or --all)')
        .addOption(new Option('--generate', 'a new random password, written only to 0600 client settings files (the default unless --password-stdin)').conflicts(['passwordStdin', 'password']))
        .addOption(new Option('--all', "every SCRAM user's password (a forced change after a leak): with --generate and --out-dir").conflicts(['passwordStdin', 'password', 'out']))
        .option('--out-dir <dir>', "with --all: each user's client settings go to <dir>/<name>.properties (0600; the directory 0700)")
        .addOption(iterationsOption()),
    ),
  ).action(
    action(io, async (name: string | undefined, flags: PasswordFlags & { all?: boolean; outDir?: string }) => {
      if (flags.all === true) {
        if (name !== undefined) throw new UsageError('give a user name or --all, not both');
        if (flags.outDir === undefined) throw new UsageError('--all needs --out-dir DIR: the new passwords are written only there');
        await changeEveryPassword(io, flags.outDir, flags);
        return;
      }
      if (name === undefined) throw new UsageError('give a user name, or --all for every SCRAM user');
      if (flags.outDir !== undefined) throw new UsageError('--out-dir goes with --all; for one user, use --out FILE');
      checkUserName(name);
      const config = loadConfig(flags);
      const plan = await planPassword(io, name, flags, 'passwd');
      const credentials = await withAdmin(io, config, async (admin) => {
        const existing = (await admin.describeScramUsers([name])).find((u) => u.user === name);
        if (existing === undefined || existing.credentials.length === 0) throw new ClientError(`no SCRAM user "${name}"`);
        const changed = existing.credentials.map((c) => ({ mechanism: c.mechanism, iterations: flags.iterations ?? c.iterations }));
        const mechanisms = changed.map((c) => c.mechanism);
        await applyPassword(plan, name, preferredMechanism(mechanisms), config, (password) => admin.upsertScramCredentials(name, password, changed));
        return changed;
      });
      io.stdout(`changed the password of "${printable(name)}": ${describeCredentials(credentials)}\n`);
      if (plan.files !== undefined) {
        io.stdout(describeFiles(plan.files));
        const legacy = legacyKafkaJsFile(plan.files);
        if (existsSync(legacy)) io.stdout(`${legacy} (written by an older parapet init) keeps the old password: delete it, and use ${plan.files.json}\n`);
      }
    }),
  );

  withConnectionOptions(user.command('list').description('list SCRAM users with their mechanisms and iterations, and the disabled principals'))
    .option('--admin-url <url>', "the admin endpoint that knows the disabled principals (default: from the data directory's config)")
    .option('--admin-ca <file>', 'CA bundle of an https admin endpoint (default: ssl.ca.location of the client config)')
    .option('--bearer-token-file <file>', "authenticate to the admin endpoint with its bearer token in this file")
    .action(
      action(io, async (flags: ConnectionFlags & { adminUrl?: string; adminCa?: string; bearerTokenFile?: string }) => {
        const config = loadConfig(flags);
        const users = await withAdmin(io, config, (admin) => admin.describeScramUsers(null));
        // Disabling is Parapet's, kept by the broker: asked of its admin endpoint when there is one to ask.
        let disabled: DisabledRow[] = [];
        const askEndpoint = flags.adminUrl !== undefined || endpointConfigured(flags.dataDir);
        if (askEndpoint) {
          try {
            disabled = await fetchDisabled(flags);
          } catch (err) {
            io.stderr(`parapet: the disabled principals are not shown: ${printable(err instanceof Error ? err.message : String(err))}\n`);
          }
        }
        const byPrincipal = new Map(disabled.map((d) => [d.principal, d]));
        const mark = (d: DisabledRow | undefined) => (d === undefined ? '' : `  DISABLED since ${d.since} by ${d.by}: ${d.reason}`);
        for (const u of users) {
          io.stdout(`${printable(u.user)}  ${describeCredentials(u.credentials)}${printable(mark(byPrincipal.get(userPrincipal(u.user))))}\n`);
        }
        const others = disabled.filter((d) => !users.some((u) => userPrincipal(u.user) === d.principal));
        if (others.length > 0) {
          io.stdout('disabled principals without a SCRAM credential (certificates, tokens):\n');
          for (const d of others) io.stdout(`  ${printable(d.principal)}${printable(mark(d))}\n`);
        }
      }),
    );

  withConnectionOptions(user.command('delete').description("delete a user's SCRAM credentials (every mechanism), and name the ACL bindings and client files left").argument('<name>', 'user name')).action(
    action(io, async (name: string, flags: ConnectionFlags) => {
      checkExistingUserName(name);
      const config = loadConfig(flags);
      await withAdmin(io, config, async (admin) => {
        const existing = (await admin.describeScramUsers([name])).find((u) => u.user === name);
        if (existing === undefined || existing.credentials.length === 0) throw new ClientError(`no SCRAM user "${name}"`);
        await admin.deleteScramCredentials(
          name,
          existing.credentials.map((c) => c.mechanism),
        );
        io.stdout(`deleted user "${printable(name)}": ${existing.credentials.map((c) => c.mechanism).join(', ')}\n`);
        await reportLeftovers(io, admin, name, flags.dataDir);
      });
    }),
  );

  // Incident response: lock a principal out without deleting it (admin endpoint).
  registerUserContainmentCommands(user, io);
}

