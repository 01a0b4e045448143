#!/usr/bin/env node
import { resolve } from 'node:path';
import { Command } from 'commander';
import { Broker, DEFAULT_BROKER_CONFIG } from '../broker/broker.js';
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
  .description('validate a config file and print the effective configuration (defaults, then the file)')
  .argument('<file>', 'YAML config file')
  .action((file: string) => {
    try {
      console.log(JSON.stringify(applyConfigFile(DEFAULT_BROKER_CONFIG, loadConfigFile(file)), null, 2));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      console.error(`parapet: ${err.message}`);
      process.exitCode = 2;
    }
  });

program
  .command('start')
  .description('start a broker')
  .option('--config <file>', 'YAML config file (flags override it); see docs/configuration.md')
  .option('--listen <host:port>', 'address to listen on (default 127.0.0.1:9092)')
  .option('--data-dir <dir>', 'where topics and data are kept (default ./parapet-data)')
  .action(async (opts: { config?: string; listen?: string; dataDir?: string }) => {
    const logger = createLogger();
    let config = DEFAULT_BROKER_CONFIG;
    try {
      if (opts.config !== undefined) config = applyConfigFile(config, loadConfigFile(opts.config));
      if (opts.listen !== undefined) config = { ...config, listener: { ...config.listener, ...parseListen(opts.listen) } };
    } catch (err) {
      if (!(err instanceof ConfigError) && !(err instanceof Error && err.message.startsWith('--listen'))) throw err;
      console.error(`parapet: ${err.message}`);
      process.exitCode = 2;
      return;
    }
    const dataDir = resolve(opts.dataDir ?? config.dataDir);
    const broker = new Broker({ ...config, dataDir }, logger);
    const address = await broker.start();
    // Insecure, and said so at every start, until the security layer makes SASL_SSL the default.
    logger.warn({ listener: `${address.host}:${address.port}`, protocol: 'PLAINTEXT' }, 'listener is unencrypted and unauthenticated (preview)');
    console.log(`parapet listening on ${address.host}:${address.port} (PLAINTEXT; preview: no authentication or TLS yet)`);
    console.log(`data directory: ${dataDir}`);
    console.log(`try: kcat -b ${address.host}:${address.port} -L`);
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
  });

await program.parseAsync(process.argv);
