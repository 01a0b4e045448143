import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { Secret } from '../client/client-config.js';
import { clientSettingsFilesIn, rewriteClientBootstrap, writeClientSettings, type ClientSettingsFiles } from '../client/client-settings.js';
import { MetadataStore } from '../storage/metadata-store.js';
import { CredentialStore } from './credentials/credential-store.js';
import { deriveScramCredential, SCRAM_MECHANISMS } from './credentials/scram-keys.js';
import { createCertificateAuthority, issueServerCertificate } from './tls/certificates.js';

export interface InitOptions {
  readonly dataDir: string;
  /** Where clients will connect (written into the client configs). */
  readonly host: string;
  readonly port: number;
  /** Name of the super user created with a random password. */
  readonly adminUser?: string;
}

export interface InitResult {
  readonly dataDir: string;
  readonly configFile: string;
  /** The admin's librdkafka properties (`adminClientFiles.properties`). */
  readonly adminProperties: string;
  /** The admin's client settings in every format (../client/client-settings.ts). */
  readonly adminClientFiles: ClientSettingsFiles;
  readonly caFile: string;
}

/** Files written by init; a directory holding any of them is already initialised. */
export function isInitialised(dataDir: string): boolean {
  return existsSync(join(dataDir, 'parapet.yaml')) || existsSync(join(dataDir, 'tls', 'server.key'));
}

/** A data directory that does not exist yet or holds nothing: `parapet start` initialises it. */
export function isNewDataDir(dataDir: string): boolean {
  return !existsSync(dataDir) || readdirSync(dataDir).length === 0;
}

/**
 * The secure first start: a local CA and a server certificate, an admin super user with a random
 * password (stored only as SCRAM salted keys), ready client settings for librdkafka/kcat, Java, Node
 * and Python clients (../client/client-settings.ts), and a config file that says all of this. Keys
 * and files holding the password are mode 0600, their directories 0700. Refuses to touch a directory that is already initialised.
 */
export async function initDataDir(options: InitOptions): Promise<InitResult> {
  const dataDir = resolve(options.dataDir);
  if (isInitialised(dataDir)) throw new Error(`${dataDir} is already initialised (parapet.yaml or tls/server.key exists)`);
  const admin = options.adminUser ?? 'admin';
  const tlsDir = join(dataDir, 'tls');
  const clientDir = join(dataDir, 'client');
  for (const dir of [dataDir, tlsDir, clientDir]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }

  const host = hostname();
  const ca = await createCertificateAuthority({ commonName: `Parapet local CA (${host})` });
  // The certificate names the listener's own address too, when it is a specific one: clients verify it.
  const listen = options.host;
  const specific = listen !== '0.0.0.0' && listen !== '::';
  const server = await issueServerCertificate(ca, {
    commonName: host,
    dnsNames: [...new Set(['localhost', host, ...(specific && isIP(listen) === 0 ? [listen] : [])])],
    ipAddresses: [...new Set(['127.0.0.1', '::1', ...(specific && isIP(listen) !== 0 ? [listen] : [])])],
  });
  const caFile = join(tlsDir, 'ca.crt');
  writePrivate(join(tlsDir, 'ca.key'), ca.keyPem);
  writePublic(caFile, ca.certPem);
  writePrivate(join(tlsDir, 'server.key'), server.keyPem);
  writePublic(join(tlsDir, 'server.crt'), server.certPem);

  const password = randomBytes(24).toString('base64url');
  const store = new MetadataStore(dataDir);
  try {
    const credentials = new CredentialStore({ store });
    for (const mechanism of SCRAM_MECHANISMS) credentials.upsert(admin, mechanism, deriveScramCredential(mechanism, password));
  } finally {
    store.close();
  }

  const adminClientFiles = clientSettingsFilesIn(clientDir, admin);
  writeClientSettings(adminClientFiles, {
    bootstrapServers: [{ host: options.host, port: options.port }],
    securityProtocol: 'SASL_SSL',
    mechanism: 'SCRAM-SHA-512',
    username: admin,
    password: new Secret(password),
    caFile,
  });
  const adminProperties = adminClientFiles.properties;
  const configFile = join(dataDir, 'parapet.yaml');
  writePrivate(
    configFile,
    [
      '# Written by `parapet init`. Start with: parapet start --config ' + configFile,
      '# Relative paths are relative to this file. See docs/configuration.md and docs/security/.',
      'dataDir: .',
      'listener:',
      `  host: ${JSON.stringify(options.host)}`,
      `  port: ${options.port}`,
      '  protocol: SASL_SSL',
      'tls:',
      '  certFile: tls/server.crt',
      '  keyFile: tls/server.key',
      '  caFile: tls/ca.crt',
      '  clientAuth: none',
      'sasl:',
      '  mechanisms: [SCRAM-SHA-512, SCRAM-SHA-256, PLAIN]',
      'superUsers:',
      `  - User:${admin}`,
      '',
    ].join('\n'),
  );
  return { dataDir, configFile, adminProperties, adminClientFiles, caFile };
}

/**
 * Points the admin client settings init wrote (every format) at the address the broker really listens
 * on (a first start on port 0 picks a free port only once it listens).
 */
export function updateClientBootstrap(result: InitResult, host: string, port: number): void {
  rewriteClientBootstrap(result.adminClientFiles, [{ host, port }]);
}

function writePrivate(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
}

function writePublic(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o644, flag: 'wx' });
}
