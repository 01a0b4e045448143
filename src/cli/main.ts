#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command } from 'commander';
import { Broker, DEFAULT_BROKER_CONFIG, type BrokerConfig } from '../broker/broker.js';
import { SecurityConfigError, validateSecuritySettings } from '../broker/security-setup.js';
import { registerAdminCommands } from './admin-commands.js';
import { checkPosture, INSECURE_DEV_SECURITY } from '../security/config.js';
import { initDataDir, isInitialised, isNewDataDir, updateClientBootstrap, type InitResult } from '../security/init.js';
import { applyConfigFile, ConfigError, loadConfigFile } from '../config/config-file.js';
import { createLogger } from '../logger.js';
import { ALL_APIS } from '../protocol/messages/index.js';

/** The `parapet` command. */
const program = new Command('parapet').description('A secure-by-default, Kafka-compatible event streaming system');

program
  .command('apis')
  .description('list the Kafka APIs and versions Parapet decodes and encodes')
  .action(() => {
    for (const api of ALL_APIS) {
      const flex = api.flexibleFrom === null ? 'never' : `v${api.flexibleFrom}+`;
      console.log(`${String(api.apiKey).padStart(3)}  ${api.name.padEnd(30)} v${api.minVersion}-v${api.maxVersion}  (flexible ${flex})`);
    }
  });

function parseListen(value: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(value);
  const port = Number(m?.[2]);
  if (!m?.[1] || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--listen expects HOST:PORT, got "${value}"`);
  return { host: m[1], port };
}

program
  .command('check-config')
  .description('validate a config file and its security posture, and print the effective configuration')
  .argument('<file>', 'YAML config file')
  .action((file: string) => {
    try {
      const config = applyConfigFile(DEFAULT_BROKER_CONFIG, loadConfigFile(file), dirname(resolve(file)));
      const posture = checkPosture(config.listener, config.security);
      for (const w of posture.warnings) console.error(`parapet: warning: ${w.setting}: ${w.detail}`);
      if (posture.errors.length > 0) throw new ConfigError(`${file}: insecure configuration refused\n  ${posture.errors.join('\n  ')}`);
      const problems = validateSecuritySettings(config.security);
      if (problems.length > 0) throw new ConfigError(`${file}: invalid security settings\n  ${problems.join('\n  ')}`);
      console.log(JSON.stringify(config, null, 2));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      console.error(`parapet: ${err.message}`);
      process.exitCode = 2;
    }
  });

program
  .command('init')
  .description('create a secure data directory: a local CA and server certificate, an admin user, client configs')
  .option('--data-dir <dir>', 'the data directory to create (default ./parapet-data)')
  .option('--listen <host:port>', 'where the broker will listen, written into the configs (default 127.0.0.1:9092)')
  .action(async (opts: { dataDir?: string; listen?: string }) => {
    const listener = opts.listen === undefined ? DEFAULT_BROKER_CONFIG.listener : { ...DEFAULT_BROKER_CONFIG.listener, ...parseListen(opts.listen) };
    const dataDir = resolve(opts.dataDir ?? DEFAULT_BROKER_CONFIG.dataDir);
    if (isInitialised(dataDir)) {
      console.error(`parapet: ${dataDir} is already initialised`);
      process.exitCode = 2;
      return;
    }
    printInit(await initDataDir({ dataDir, host: listener.host, port: listener.port }));
  });

function printInit(result: InitResult): void {
  console.log(`initialised ${result.dataDir}:`);
  console.log(`  config:            ${result.configFile}`);
  console.log(`  CA certificate:    ${result.caFile}`);
  console.log('  admin client settings (mode 0600: they hold the password):');
  console.log(`    librdkafka, kcat -F:          ${result.adminClientFiles.properties}`);
  console.log(`    Java:                         ${result.adminClientFiles.javaProperties}`);
  console.log(`    Node and Python clients:      ${result.adminClientFiles.json}`);
}

interface StartOptions {
  config?: string;
  listen?: string;
  dataDir?: string;
  insecure?: boolean;
}

/**
 * The effective config of `parapet start`: defaults, then the config file (--config, else the data
 * directory's parapet.yaml when there is one), then the flags. Initialises a new data directory first,
 * unless --insecure asks for a plaintext broker.
 */
async function startConfig(opts: StartOptions): Promise<{ config: BrokerConfig; initialised?: InitResult }> {
  let config = DEFAULT_BROKER_CONFIG;
  const listen = opts.listen === undefined ? undefined : parseListen(opts.listen);
  const load = (file: string) => {
    config = applyConfigFile(config, loadConfigFile(file), dirname(resolve(file)));
  };
  if (opts.config !== undefined) load(opts.config);
  let dataDir = resolve(opts.dataDir ?? config.dataDir);
  let initialised: InitResult | undefined;
  if (opts.insecure !== true && config.listener.protocol !== 'PLAINTEXT' && isNewDataDir(dataDir)) {
    const at = { ...config.listener, ...listen };
    initialised = await initDataDir({ dataDir, host: at.host, port: at.port === 0 ? 9092 : at.port });
  }
  const own = join(dataDir, 'parapet.yaml');
  if (opts.config === undefined && existsSync(own)) {
    load(own);
    dataDir = resolve(opts.dataDir ?? config.dataDir);
  }
  config = { ...config, dataDir, listener: { ...config.listener, ...listen } };
  if (opts.insecure === true) config = { ...config, listener: { ...config.listener, protocol: 'PLAINTEXT' }, security: { ...config.security, ...INSECURE_DEV_SECURITY, superUsers: config.security.superUsers } };
  return initialised === undefined ? { config } : { config, initialised };
}

program
  .command('start')
  .description('start a broker (initialises a new data directory first: TLS, an admin user, client configs)')
  .option('--config <file>', 'YAML config file (flags override it); see docs/configuration.md')
  .option('--listen <host:port>', 'address to listen on (default 127.0.0.1:9092)')
  .option('--data-dir <dir>', 'where topics and data are kept (default ./parapet-data)')
  .option('--insecure', 'INSECURE: plaintext listener, no authentication, everyone may do everything (local development only)')
  .action(async (opts: StartOptions) => {
    const logger = createLogger();
    let started: Awaited<ReturnType<typeof startConfig>>;
    let broker: Broker;
    try {
      started = await startConfig(opts);
      broker = new Broker(started.config, logger);
    } catch (err) {
      if (!(err instanceof ConfigError || err instanceof SecurityConfigError || (err instanceof Error && err.message.startsWith('--listen')))) throw err;
      console.error(`parapet: ${err.message}`);
      process.exitCode = 2;
      return;
    }
    const { config, initialised } = started;
    if (initialised !== undefined) printInit(initialised);
    const address = await broker.start();
    if (initialised !== undefined) updateClientBootstrap(initialised, address.host, address.port);
    const where = `${address.host}:${address.port}`;
    const protocol = config.listener.protocol;
    if (config.security.allowInsecurePlaintext || config.security.allowInsecureAnonymous) {
      console.log(`parapet listening on ${where} (${protocol}; INSECURE: see the warnings above)`);
    } else {
      console.log(`parapet listening on ${where} (${protocol}; authentication required, ACLs deny by default)`);
    }
    console.log(`data directory: ${config.dataDir}`);
    const adminProperties = join(config.dataDir, 'client', 'admin.properties');
    if (protocol === 'PLAINTEXT') console.log(`try: kcat -b ${where} -L`);
    else if (protocol === 'SASL_SSL' && existsSync(adminProperties)) console.log(`try: kcat -F ${adminProperties} -L`);
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      void broker.close().then(() => {
        logger.info({}, 'stopped');
      });
    };
    process.once('SIGINT', () => {
      stop('SIGINT');
    });
    process.once('SIGTERM', () => {
      stop('SIGTERM');
    });
    // Certificate files are also polled; SIGHUP reloads them at once (after a renewal script runs).
    process.on('SIGHUP', () => {
      logger.info({ reloaded: broker.reloadCertificates() }, 'SIGHUP: certificate reload');
    });
  });

registerAdminCommands(program);

await program.parseAsync(process.argv);
