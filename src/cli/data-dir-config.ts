import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_BROKER_CONFIG, type BrokerConfig } from '../broker/broker.js';
import { applyConfigFile, loadConfigFile } from '../config/config-file.js';

/**
 * A data directory's configuration as `parapet start --data-dir` reads it: the defaults, then the
 * directory's parapet.yaml when there is one (relative paths in it are relative to the directory);
 * the flag names the directory. Reading it takes no lock: commands may use it while a broker runs.
 */
export function dataDirConfig(dataDir: string): BrokerConfig {
  const file = join(dataDir, 'parapet.yaml');
  const config = existsSync(file) ? applyConfigFile(DEFAULT_BROKER_CONFIG, loadConfigFile(file), dataDir) : DEFAULT_BROKER_CONFIG;
  return { ...config, dataDir };
}
