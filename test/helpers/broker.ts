import { TEST_ADMIN_ENDPOINT } from './admin-endpoint.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Broker, DEFAULT_BROKER_CONFIG, type BrokerConfig } from '../../src/broker/broker.js';
import type { Logger } from '../../src/logger.js';
import { INSECURE_DEV_SECURITY } from '../../src/security/config.js';
import type { SecurityEvent } from '../../src/security/events.js';
import { TEST_AUDIT, TEST_ENCRYPTION_AT_REST } from './test-keys.js';

export interface LogEntry {
  level: 'info' | 'warn' | 'error' | 'debug';
  obj: object;
  msg: string;
}

/** A logger that keeps what it is told, for tests that assert on logged close reasons. */
export function recordingLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: LogEntry['level']) => (obj: object, msg: string) => {
    entries.push({ level, obj, msg });
  };
  return { entries, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
}

/**
 * Starts a broker on a free loopback port and closes it when the test ends: plaintext and anonymous
 * (`--insecure`) unless the overrides say otherwise; the security tests start secure ones.
 */
export async function startBroker(
  t: TestContext,
  overrides: Partial<BrokerConfig> = {},
): Promise<{ broker: Broker; host: string; port: number; bootstrap: string; dataDir: string; logger: ReturnType<typeof recordingLogger>; events: SecurityEvent[] }> {
  const logger = recordingLogger();
  const events: SecurityEvent[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'parapet-test-'));
  const broker = new Broker({ ...DEFAULT_BROKER_CONFIG, listener: { host: '127.0.0.1', port: 0, protocol: 'PLAINTEXT' }, security: INSECURE_DEV_SECURITY, encryptionAtRest: TEST_ENCRYPTION_AT_REST, audit: TEST_AUDIT, dataDir, adminEndpoint: TEST_ADMIN_ENDPOINT, ...overrides }, logger, {
    // Security events (the insecure-setting warnings of this plaintext broker) are kept apart from the log.
    events: { emit: (e) => events.push(e) },
  });
  const { host, port } = await broker.start();
  t.after(async () => {
    await broker.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { broker, host, port, bootstrap: `${host}:${port}`, dataDir, logger, events };
}
