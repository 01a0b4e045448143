import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { checkAdminEndpoint } from '../metrics/admin-endpoint-config.js';
import { Broker, DEFAULT_BROKER_CONFIG, type BrokerConfig } from '../broker/broker.js';
import { validateSecuritySettings } from '../broker/security-setup.js';
import { dataDirConfig } from './data-dir-config.js';
import { CliFailure, ExitCodes } from './failures.js';
import { checkPosture, INSECURE_DEV_SECURITY } from '../security/config.js';
import { dataDirWarnings } from '../security/tls/ca-key-posture.js';
import { auditWarnings } from '../audit/audit-config.js';
import {
  dataDirState,
  initDataDir,
  InitError,
  isInitialised,
  removeInitLeftovers,
  restoreAdminAccess,
  scramUserCount,
  updateClientBootstrap,
  type InitResult,
} from '../setup/init.js';
import { noWayIn } from '../security/way-in.js';
import { applyConfigFile, ConfigError, loadConfigFile, toConfigFile } from '../config/config-file.js';
import { secretReport, secretReportText } from '../config/secret-report.js';
import { createLogger, logFormatFrom, logLevelFrom, type Logger } from '../logger.js';
import { ALL_APIS } from '../protocol/messages/index.js';
import { DataDirLock } from '../storage/data-dir-lock.js';


/**
 * The commands that run or set up a broker: `apis`, `check-config`, `init`, `start`. Loaded only
 * for them (and for the full help): they import the broker, which other commands do not need.
 */
export function registerCoreCommands(program: Command): void {
  program
    .command('apis')
    .description('list the Kafka APIs and versions Parapet decodes and encodes')
    .action(() => {
      for (const api of ALL_APIS) {
        const flex = api.flexibleFrom === null ? 'never' : `v${api.flexibleFrom}+`;
        console.log(`${String(api.apiKey).padStart(3)}  ${api.name.padEnd(30)} v${api.minVersion}-v${api.maxVersion}  (flexible ${flex})`);
      }
    });

  program
    .command('check-config')
    .description('validate a config file and its security posture, and print the effective configuration')
    .argument('<file>', 'YAML config file')
    .action((file: string) => {
      const config = applyConfigFile(DEFAULT_BROKER_CONFIG, loadConfigFile(file), dirname(resolve(file)));
      const listenerPosture = checkPosture(config.listener, config.security);
      const adminPosture = checkAdminEndpoint(config.adminEndpoint, config.allowInsecureAdminEndpoint);
      const posture = { errors: [...listenerPosture.errors, ...adminPosture.errors], warnings: [...listenerPosture.warnings, ...adminPosture.warnings] };
      for (const w of [...posture.warnings, ...dataDirWarnings(config.dataDir), ...auditWarnings(config.audit)]) console.error(`parapet: warning: ${w.setting}: ${w.detail}`);
      if (posture.errors.length > 0) throw new ConfigError(`${file}: insecure configuration refused\n  ${posture.errors.join('\n  ')}`);
      const problems = validateSecuritySettings(config.security);
      if (problems.length > 0) throw new ConfigError(`${file}: invalid security settings\n  ${problems.join('\n  ')}`);
      // Each secret is read (never shown) to say where it comes from, or why start would refuse it.
      const secrets = secretReport(config);
      if (secrets.problems.length > 0) throw new ConfigError(`${file}: secrets the broker could not read\n  ${secrets.problems.join('\n  ')}`);
      // YAML in the file's own layout, so that it can be compared with the file or saved as one; the
      // verdict is a comment, so the output stays a valid config file.
      process.stdout.write(`# the effective configuration of ${file}: defaults, then the file (relative paths resolved)\n`);
      process.stdout.write(stringify(toConfigFile(config)));
      process.stdout.write(secretReportText(secrets));
      const warnings = posture.warnings.length + dataDirWarnings(config.dataDir).length + auditWarnings(config.audit).length;
      const warned = warnings === 0 ? 'no warnings' : `${warnings} warning(s) on stderr`;
      process.stdout.write(`# OK: ${file} is valid (${warned})\n`);
    });

  program
    .command('init')
    .description('create a secure data directory: a local CA and server certificate, an admin user, client configs')
    .option('--data-dir <dir>', 'the data directory to create (default ./parapet-data)')
    .option('--listen <host:port>', 'where the broker will listen, written into the configs (default 127.0.0.1:9092)')
    .option('--ca-dir <dir>', "where the CA's private key goes, outside the data directory (default <data-dir>-ca)")
    .option('--master-key-file <file>', 'where the master key of encryption at rest goes, outside the data directory (default <data-dir>-keys/master.key)')
    .action(async (opts: { dataDir?: string; listen?: string; caDir?: string; masterKeyFile?: string }) => {
      const listener = opts.listen === undefined ? DEFAULT_BROKER_CONFIG.listener : { ...DEFAULT_BROKER_CONFIG.listener, ...parseListen(opts.listen) };
      const dataDir = resolve(opts.dataDir ?? DEFAULT_BROKER_CONFIG.dataDir);
      const lock = DataDirLock.acquire(dataDir, 'parapet init');
      try {
        if (!isInitialised(dataDir)) {
          printInit(await initDataDir({ dataDir, host: listener.host, port: listener.port, lock, ...initPlaces(opts) }));
          return;
        }
        // Initialised: the one thing init still does is give a way back in when nobody can log in.
        const config = dataDirConfig(dataDir);
        if (noWayIn(config.listener.protocol, config.security, scramUserCount(dataDir)) === undefined) {
          throw new InitError(`${dataDir} is already initialised (to change a password: parapet user passwd NAME --data-dir ${dataDir})`);
        }
        const caFile = config.security.tls.caFile ?? join(dataDir, 'tls', 'ca.crt');
        const restored = restoreAdminAccess({ dataDir, host: config.listener.host, port: config.listener.port, caFile, lock });
        console.log(`${dataDir} had no user who could log in: created the admin user again`);
        printInit(restored);
      } finally {
        lock.release();
      }
    });

  program
    .command('start')
    .description('start a broker (initialises a new data directory first: TLS, an admin user, client configs)')
    .option('--config <file>', 'YAML config file (flags override it); see docs/configuration.md')
    .option('--listen <host:port>', 'address to listen on (default 127.0.0.1:9092)')
    .option('--data-dir <dir>', 'where topics and data are kept (default ./parapet-data)')
    .option('--ca-dir <dir>', "when start initialises a new data directory: where the CA's private key goes (default <data-dir>-ca)")
    .option('--master-key-file <file>', 'when start initialises a new data directory: where the master key goes (default <data-dir>-keys/master.key)')
    .option('--insecure', 'INSECURE: plaintext listener, no authentication, everyone may do everything (local development only)')
    .option('--log-format <format>', 'auto (readable lines on a terminal, JSON otherwise), json or pretty; default $PARAPET_LOG_FORMAT or auto')
    .option('--admin-listen <host:port>', 'address of the metrics and health endpoint (default 127.0.0.1:9644); see docs/operations/monitoring.md')
    .action(async (opts: StartOptions) => {
      const logger = createLogger(logLevelFrom(process.env.PARAPET_LOG_LEVEL), logFormatFrom(opts.logFormat ?? process.env.PARAPET_LOG_FORMAT));
      const { config, lock, initialised, configFile } = await prepareStart(opts);
      if (initialised !== undefined) printInit(initialised);
      const broker = new Broker(config, logger, { lock });
      let address: { host: string; port: number };
      try {
        address = await broker.start();
      } catch (err) {
        await broker.close();
        throw err;
      }
      if (initialised !== undefined) updateClientBootstrap(initialised, address.host, address.port);
      logger.info({ event: 'listening', host: address.host, port: address.port, protocol: config.listener.protocol, dataDir: config.dataDir, admin: broker.adminUrl ?? null }, 'listening');
      printListening(config, address, broker.adminUrl);
      const lockdown = broker.containment.lockdown;
      // Shown at every start until lifted (the log and the audit trail have it too: lockdown-in-force).
      if (lockdown !== null) {
        console.log(`  warning: LOCKDOWN in force since ${new Date(lockdown.since).toISOString()} (by ${lockdown.by}: ${lockdown.reason}): only super users may connect; lift it with \`parapet lockdown off\``);
      }
      handleSignals(broker, logger, configFile);
    });
}

function parseListen(value: string, flag = '--listen', example = '127.0.0.1:9092'): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(value);
  if (!m?.[1] || m[2] === undefined) throw new CliFailure(`${flag} expects HOST:PORT (e.g. ${example}), got "${value}"`, ExitCodes.USAGE);
  const port = Number(m[2]);
  if (!Number.isSafeInteger(port) || port > 65535) throw new CliFailure(`${flag}: port ${m[2]} is out of range (0-65535; 0 picks a free port)`, ExitCodes.USAGE);
  return { host: m[1], port };
}

/** Where init puts what stays outside the data directory, from the flags. */
function initPlaces(opts: { caDir?: string; masterKeyFile?: string }): { caDir?: string; masterKeyFile?: string } {
  return { ...(opts.caDir === undefined ? {} : { caDir: opts.caDir }), ...(opts.masterKeyFile === undefined ? {} : { masterKeyFile: resolve(opts.masterKeyFile) }) };
}

function printInit(result: InitResult): void {
  if (result.resumed) console.log(`resumed an interrupted initialisation of ${result.dataDir}`);
  console.log(`initialised ${result.dataDir}:`);
  console.log(`  config:            ${result.configFile}`);
  console.log(`  CA certificate:    ${result.caFile}`);
  if (result.caKeyFile !== undefined) {
    console.log(`  CA key:            ${result.caKeyFile}`);
    console.log('    (kept outside the data directory, since the broker never reads it; `parapet cert` issues');
    console.log('     certificates with it. Keep it offline or with another account: docs/security/tls.md)');
  }
  if (result.masterKeyFile !== undefined) {
    console.log(`  master key:        ${result.masterKeyFile}`);
    console.log('    (encryption at rest: every topic is encrypted with keys only this key opens. It is kept');
    console.log('     outside the data directory so that a copy of the directory is useless on its own; back it');
    console.log('     up apart from the data. Lost, the data is lost: docs/security/encryption-at-rest.md)');
  }
  if (result.auditSigningKeyFile !== undefined) {
    console.log(`  audit signing key: ${result.auditSigningKeyFile} (key id ${result.auditKeyId ?? '?'})`);
    console.log('    (signs the checkpoints of the audit trail; `parapet audit verify` prints the key id it checked');
    console.log('     against: note this one down apart from the broker: docs/security/audit.md)');
  }
  console.log('  admin client settings (mode 0600: they hold the password):');
  console.log(`    librdkafka, kcat -F:          ${result.adminClientFiles.properties}`);
  console.log(`    Java:                         ${result.adminClientFiles.javaProperties}`);
  console.log(`    Node and Python clients:      ${result.adminClientFiles.json}`);
}

interface StartOptions {
  config?: string;
  listen?: string;
  dataDir?: string;
  caDir?: string;
  masterKeyFile?: string;
  insecure?: boolean;
  logFormat?: string;
  adminListen?: string;
}

interface Prepared {
  readonly config: BrokerConfig;
  readonly lock: DataDirLock;
  readonly initialised?: InitResult;
  /** The config file read (--config, else the data directory's parapet.yaml): SIGHUP reads it again. */
  readonly configFile?: string;
}

/**
 * The effective config of `parapet start`: defaults, then the config file (--config, else the data
 * directory's parapet.yaml when there is one), then the flags. Takes the data directory's lock, and
 * initialises a new directory (or one whose initialisation was interrupted) unless --insecure asks for
 * a plaintext broker. Refuses a directory nobody could log in to.
 */
async function prepareStart(opts: StartOptions): Promise<Prepared> {
  let config = DEFAULT_BROKER_CONFIG;
  let configFile: string | undefined;
  const listen = opts.listen === undefined ? undefined : parseListen(opts.listen);
  const adminListen = opts.adminListen === undefined ? undefined : parseListen(opts.adminListen, '--admin-listen', '127.0.0.1:9644');
  const load = (file: string) => {
    config = applyConfigFile(config, loadConfigFile(file), dirname(resolve(file)));
    configFile = resolve(file);
  };
  if (opts.config !== undefined) load(opts.config);
  let dataDir = resolve(opts.dataDir ?? config.dataDir);
  let lock = DataDirLock.acquire(dataDir, 'parapet start');
  try {
    let initialised: InitResult | undefined;
    const secure = opts.insecure !== true && config.listener.protocol !== 'PLAINTEXT';
    const state = dataDirState(dataDir);
    if (state === 'initialised') removeInitLeftovers(dataDir);
    if (secure && (state === 'new' || state === 'interrupted')) {
      const at = { ...config.listener, ...listen };
      initialised = await initDataDir({ dataDir, host: at.host, port: at.port === 0 ? 9092 : at.port, lock, ...initPlaces(opts) });
    } else if (secure && state === 'not-initialised' && opts.config === undefined) {
      throw new CliFailure(
        `${dataDir} holds data but was never initialised for security (no parapet.yaml: an --insecure broker used it?); ` +
          `run \`parapet init --data-dir ${dataDir}\` to secure it (its data is kept), or start it with --insecure`,
        ExitCodes.DATA_DIR,
      );
    }
    const own = join(dataDir, 'parapet.yaml');
    if (opts.config === undefined && existsSync(own)) {
      load(own);
      const configured = resolve(opts.dataDir ?? config.dataDir);
      if (configured !== dataDir) {
        // parapet.yaml names another directory: that one is the broker's and needs the lock.
        lock.release();
        dataDir = configured;
        lock = DataDirLock.acquire(dataDir, 'parapet start');
      }
    }
    config = { ...config, dataDir, listener: { ...config.listener, ...listen } };
    if (adminListen !== undefined) config = { ...config, adminEndpoint: { ...config.adminEndpoint, ...adminListen } };
    if (opts.insecure === true) {
      config = {
        ...config,
        listener: { ...config.listener, protocol: 'PLAINTEXT' },
        security: { ...config.security, ...INSECURE_DEV_SECURITY, superUsers: config.security.superUsers },
      };
    }
    const locked = noWayIn(config.listener.protocol, config.security, scramUserCount(dataDir));
    if (locked !== undefined) {
      throw new CliFailure(
        `${dataDir}: ${locked} (was its initialisation interrupted, or the last user deleted?); ` +
          `run \`parapet init --data-dir ${dataDir}\` to create the admin user again, then start`,
        ExitCodes.DATA_DIR,
      );
    }
    return { config, lock, ...(initialised === undefined ? {} : { initialised }), ...(configFile === undefined ? {} : { configFile }) };
  } catch (err) {
    lock.release();
    throw err;
  }
}

function printListening(config: BrokerConfig, address: { host: string; port: number }, adminUrl: string | undefined): void {
  const where = `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
  const protocol = config.listener.protocol;
  // The warnings are printed here, with the banner, rather than pointed at: the log's own copies are
  // written asynchronously and may come after it.
  const warnings = [...checkPosture(config.listener, config.security).warnings, ...checkAdminEndpoint(config.adminEndpoint, config.allowInsecureAdminEndpoint).warnings, ...auditWarnings(config.audit)];
  if (warnings.length > 0) {
    console.log(`parapet listening on ${where} (${protocol}; INSECURE)`);
  } else {
    console.log(`parapet listening on ${where} (${protocol}; authentication required, ACLs deny by default)`);
  }
  for (const w of [...warnings, ...dataDirWarnings(config.dataDir)]) console.log(`  warning: ${w.setting}: ${w.detail}`);
  console.log(`data directory: ${config.dataDir}`);
  console.log(adminUrl === undefined ? 'admin endpoint: disabled (no metrics, /healthz or /readyz)' : `admin endpoint: ${adminUrl}/metrics, /healthz, /readyz`);
  const adminProperties = join(config.dataDir, 'client', 'admin.properties');
  if (protocol === 'PLAINTEXT') console.log(`try: kcat -b ${where} -L`);
  else if (protocol === 'SASL_SSL' && existsSync(adminProperties)) console.log(`try: kcat -F ${adminProperties} -L`);
}

function handleSignals(broker: Broker, logger: Logger, configFile: string | undefined): void {
  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    void broker.close(signal).then(() => {
      logger.info({}, 'stopped');
    });
  };
  process.once('SIGINT', () => {
    stop('SIGINT');
  });
  process.once('SIGTERM', () => {
    stop('SIGTERM');
  });
  // Certificate files are also polled; SIGHUP reloads them at once (after a renewal script runs), and
  // the listener's address lists and connection limits from the config file (docs/security/network.md).
  process.on('SIGHUP', () => {
    logger.info({ reloaded: broker.reloadCertificates() }, 'SIGHUP: certificate reload');
    if (configFile === undefined) return;
    const policy = broker.reloadListenerPolicy(() => loadConfigFile(configFile).listener ?? {});
    if (policy.ok) logger.info({ closed: policy.closed, detail: policy.detail }, 'SIGHUP: listener address lists and connection limits reloaded');
    else logger.error({ detail: policy.detail }, 'SIGHUP: the config file is invalid: the listener address lists and connection limits in force are kept');
  });
}
