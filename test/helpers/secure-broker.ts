import { TEST_ADMIN_ENDPOINT } from './admin-endpoint.js';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { AuditConfig } from '../../src/audit/audit-config.js';
import type { ClientSettingsFiles } from '../../src/client/client-settings.js';
import { Broker, DEFAULT_BROKER_CONFIG, type BrokerConfig, type BrokerDeps } from '../../src/broker/broker.js';
import { applyConfigFile, loadConfigFile } from '../../src/config/config-file.js';
import { AclStore, type AclBindingInput } from '../../src/security/authz/acl-store.js';
import type { SecurityConfig } from '../../src/security/config.js';
import { CredentialStore } from '../../src/security/credentials/credential-store.js';
import { deriveScramCredential, SCRAM_MECHANISMS } from '../../src/security/credentials/scram-keys.js';
import type { SecurityEvent } from '../../src/security/events.js';
import { initDataDir, updateClientBootstrap } from '../../src/setup/init.js';
import { MetadataStore } from '../../src/storage/metadata-store.js';
import { recordingLogger } from './broker.js';

export interface SecureBrokerOptions {
  /** Users created before the start, with SCRAM-SHA-256 and SCRAM-SHA-512 credentials. */
  readonly users?: Readonly<Record<string, string>>;
  /** ACL bindings created before the start. */
  readonly acls?: readonly AclBindingInput[];
  /** Layered over the config `parapet init` wrote. */
  readonly security?: Partial<SecurityConfig>;
  readonly listener?: Partial<BrokerConfig['listener']>;
  readonly broker?: Partial<Omit<BrokerConfig, 'security' | 'listener'>>;
  /** Layered over the audit settings init wrote (its signing key kept). */
  readonly audit?: Partial<AuditConfig>;
  /** What the broker is built with besides its config (an audit file system that fails on demand). */
  readonly deps?: Omit<BrokerDeps, 'events'>;
  /** Runs on the initialised data directory before the broker starts (plant a certificate, a weak credential). */
  readonly prepare?: (dirs: { readonly dataDir: string; readonly caDir: string }) => void | Promise<void>;
}

export interface SecureBroker {
  readonly broker: Broker;
  /** The configuration it runs with. */
  readonly config: BrokerConfig;
  readonly port: number;
  readonly bootstrap: string;
  readonly dataDir: string;
  readonly caFile: string;
  /** Where init put the CA key and certificate: outside the data directory. */
  readonly caDir: string;
  readonly adminPassword: string;
  readonly adminProperties: string;
  /** Every client settings file init wrote for the admin (properties, Java properties, JSON). */
  readonly adminClientFiles: ClientSettingsFiles;
  readonly logger: ReturnType<typeof recordingLogger>;
  /** Every security event the broker reported, in order. */
  readonly events: SecurityEvent[];
  /** Writes a librdkafka properties file (mode 0600) for a user, as `parapet user add` does. */
  clientConfig(user: string, password: string, extra?: Record<string, string>): string;
}

/**
 * A broker as a new user gets it: `parapet init` ran on a fresh data directory (local CA, server
 * certificate, admin user), then the broker started from the parapet.yaml it wrote, on a free port.
 * Failed authentications are answered without the production delay unless the test sets one.
 */
export async function startSecureBroker(t: TestContext, options: SecureBrokerOptions = {}): Promise<SecureBroker> {
  // The data directory and, beside it, the CA directory init makes (`<data dir>-ca`), in one temp dir.
  const root = mkdtempSync(join(tmpdir(), 'parapet-secure-'));
  const dataDir = join(root, 'data');
  const init = await initDataDir({ dataDir, host: '127.0.0.1', port: 9092 });
  const caDir = init.caDir;
  if (caDir === undefined) throw new Error('init made no CA directory');
  const adminPassword = /^sasl\.password=(.*)$/m.exec(readFileSync(init.adminProperties, 'utf8'))?.[1];
  if (adminPassword === undefined) throw new Error('init wrote no admin password');
  if (options.users !== undefined || options.acls !== undefined) {
    const store = new MetadataStore(dataDir);
    try {
      const credentials = new CredentialStore({ store });
      for (const [user, password] of Object.entries(options.users ?? {})) {
        for (const mechanism of SCRAM_MECHANISMS) credentials.upsert(user, mechanism, deriveScramCredential(mechanism, password));
      }
      const errors = new AclStore({ store }).create(options.acls ?? []);
      const failed = errors.find((e) => e.code !== 0);
      if (failed !== undefined) throw new Error(`bad test ACL: ${failed.message ?? failed.code}`);
    } finally {
      store.close();
    }
  }
  await options.prepare?.({ dataDir, caDir });
  const base = applyConfigFile(DEFAULT_BROKER_CONFIG, loadConfigFile(init.configFile), dataDir);
  const config: BrokerConfig = {
    ...base,
    adminEndpoint: TEST_ADMIN_ENDPOINT,
    ...options.broker,
    listener: { ...base.listener, port: 0, ...options.listener },
    security: { ...base.security, sasl: { ...base.security.sasl, failedAuthenticationDelayMs: 0 }, ...options.security },
    audit: { ...base.audit, ...options.audit },
  };
  const logger = recordingLogger();
  const events: SecurityEvent[] = [];
  const broker = new Broker(config, logger, { ...options.deps, events: { emit: (e) => events.push(e) } });
  const { port } = await broker.start();
  t.after(async () => {
    await broker.close();
    rmSync(root, { recursive: true, force: true });
  });
  const bootstrap = `127.0.0.1:${port}`;
  // The admin settings init wrote name port 9092; point them at this broker's port, as `parapet start` does.
  updateClientBootstrap(init, '127.0.0.1', port);
  let written = 0;
  return {
    broker,
    config,
    port,
    bootstrap,
    dataDir,
    caFile: init.caFile,
    caDir,
    adminPassword,
    adminProperties: init.adminProperties,
    adminClientFiles: init.adminClientFiles,
    logger,
    events,
    clientConfig(user, password, extra = {}) {
      const path = join(dataDir, 'client', `test-${user}-${written++}.properties`);
      const lines = {
        'bootstrap.servers': bootstrap,
        'security.protocol': 'SASL_SSL',
        'sasl.mechanisms': 'SCRAM-SHA-512',
        'sasl.username': user,
        'sasl.password': password,
        'ssl.ca.location': init.caFile,
        ...extra,
      };
      writeFileSync(path, Object.entries(lines).map(([k, v]) => `${k}=${v}\n`).join(''), { mode: 0o600 });
      chmodSync(path, 0o600);
      return path;
    },
  };
}
