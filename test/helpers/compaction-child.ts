import { silentLogger } from '../../src/logger.js';
import { LogManager } from '../../src/storage/log/log-manager.js';
import { COMPACTED_TOPIC, compactedConfig } from './compaction-setup.js';

/**
 * A process that opens a data directory (recovering it), cleans its compacted partition at a slow rate
 * and prints `cleaning` when it starts and `done` at the end: the crash test kills it at random
 * points in between. Usage: node compaction-child.js <dataDir> <ioBytesPerSecond> <memoryBytes>
 */
const [dataDir, rate, memory] = process.argv.slice(2);
if (dataDir === undefined) throw new Error('usage: compaction-child.js <dataDir> <ioBytesPerSecond> <memoryBytes>');
const config = compactedConfig();
const m = new LogManager({
  dataDir,
  logger: silentLogger,
  configs: { configFor: () => config },
  cleaner: { memoryBytes: Number(memory ?? 1 << 20), ioBytesPerSecond: Number(rate ?? 0), intervalMs: 3_600_000 },
});
m.addTopic(COMPACTED_TOPIC);
m.openExisting(10);
process.stdout.write('cleaning\n');
const cleaned = await m.cleanCompactedLogs();
process.stdout.write(`done ${cleaned}\n`);
await m.close();
