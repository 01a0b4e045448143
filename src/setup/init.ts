import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Secret } from '../client/client-config.js';
import {
  clientSettingsFilesIn,
  listClientSettingsFiles,
  renderClientSettings,
  rewriteClientBootstrap,
  stageClientSettings,
  type ClientSettings,
  type ClientSettingsFiles,
} from '../client/client-settings.js';
import { DataDirLock, LOCK_FILE, OWNER_FILE } from '../storage/data-dir-lock.js';
import { fsyncDirectory, writeFileDurably } from '../storage/durable-files.js';
import { MetadataStore } from '../storage/metadata-store.js';
import { CredentialStore } from '../security/credentials/credential-store.js';
import { deriveScramCredential, SCRAM_MECHANISMS } from '../security/credentials/scram-keys.js';
import { defaultMasterKeyFile, ensureMasterKeyFile } from '../storage/crypto/key-setup.js';
import { ensureAuditSigningKey, keyId, loadAuditPublicKey } from '../audit/signing-key.js';
import { CA_CERT_FILE, CA_KEY_FILE, CaDirectoryError, checkCaDirPlacement, defaultCaDir } from '../security/tls/ca-directory.js';
import { createCertificateAuthority, issueServerCertificate, type CertificateAndKey } from '../security/tls/certificates.js';

/**
 * The secure first start (`parapet init`, or `parapet start` on a new data directory): a local CA and
 * a server certificate, an admin super user with a random password (stored only as SCRAM salted
 * keys), ready client configs, and `parapet.yaml`, which says all of this. It lives above both the
 * security layer and the client (whose settings files it writes), below the CLI that runs it.
 *
 * The CA's private key never enters the data directory: it goes to a CA directory of its own
 * (`--ca-dir`, by default `<data dir>-ca` beside it, see security/tls/ca-directory.ts), since the running
 * broker only needs the CA certificate and anyone who can read the key can mint certificates for any
 * name. Only `parapet cert` reads it, and operators may move it offline.
 *
 * Initialisation is all or nothing, so that a Ctrl-C during the first start never leaves a directory
 * that looks initialised but that nobody can log in to. Everything is built aside, in a private
 * staging directory inside the data directory, and flushed; then the files are renamed into place,
 * and `parapet.yaml` last: a directory is initialised exactly when `parapet.yaml` exists. First of all,
 * `.init-pending` lists what is about to be placed, so an interrupted initialisation is recognised and
 * started over (the files it placed were never announced to anyone), while files that init did not
 * place are never overwritten. It all happens under the data directory's lock. The CA directory is
 * outside that lock, so the pending list names its files with the SHA-256 of what init writes there:
 * starting over removes them only when they are still exactly init's own.
 */

export interface InitOptions {
  readonly dataDir: string;
  /** Where clients will connect (written into the client configs). */
  readonly host: string;
  readonly port: number;
  /** Name of the super user created with a random password. */
  readonly adminUser?: string;
  /** Where the CA key and certificate go; outside the data directory (default `<data dir>-ca`). */
  readonly caDir?: string;
  /** Where the master key of encryption at rest goes; outside the data directory (default `<data dir>-keys/master.key`). */
  readonly masterKeyFile?: string;
  /** The data directory's lock, when the caller holds it already (`parapet start`); else init takes it. */
  readonly lock?: DataDirLock;
  /** Called after each step, for tests that interrupt initialisation (a throw stops it there). */
  readonly afterStep?: (step: InitStep) => void;
}

export type InitStep = 'pending' | 'staged' | 'credentials' | 'placed-ca' | 'placed-file' | 'config';

export interface InitResult {
  readonly dataDir: string;
  readonly configFile: string;
  /** The admin's librdkafka properties (`adminClientFiles.properties`). */
  readonly adminProperties: string;
  /** The admin's client settings in every format (../client/client-settings.ts). */
  readonly adminClientFiles: ClientSettingsFiles;
  readonly caFile: string;
  /** The CA directory and its key, when this run created them (not when it only restored the admin). */
  readonly caDir?: string;
  readonly caKeyFile?: string;
  /** The master key of encryption at rest, when this run wrote the config that names it. */
  readonly masterKeyFile?: string;
  /** The audit trail's checkpoint signing key (beside the master key) and its key id, printed for auditors. */
  readonly auditSigningKeyFile?: string;
  readonly auditKeyId?: string;
  /** True when an interrupted initialisation was found and started over. */
  readonly resumed: boolean;
}

/** Files of the data directory that are not data: the lock and its owner note. */
const BOOKKEEPING = new Set([LOCK_FILE, OWNER_FILE]);
const CONFIG_FILE = 'parapet.yaml';
const PENDING_FILE = '.init-pending';
const STAGING_PREFIX = '.init-';

export class InitError extends Error {
  override name = 'InitError';
}

/** A directory is initialised when init finished: `parapet.yaml`, written last, exists. */
export function isInitialised(dataDir: string): boolean {
  return existsSync(join(dataDir, CONFIG_FILE));
}

/**
 * What `parapet start` finds: a directory to initialise (it does not exist, holds nothing but the lock,
 * or holds an interrupted initialisation), an initialised one, or one with other content and no
 * `parapet.yaml` (a directory an `--insecure` broker used), which only an explicit `parapet init` secures.
 */
export type DataDirState = 'new' | 'interrupted' | 'initialised' | 'not-initialised';

export function dataDirState(dataDir: string): DataDirState {
  if (!existsSync(dataDir)) return 'new';
  if (isInitialised(dataDir)) return 'initialised';
  if (existsSync(join(dataDir, PENDING_FILE))) return 'interrupted';
  const content = readdirSync(dataDir).filter((name) => !BOOKKEEPING.has(name) && !name.startsWith(STAGING_PREFIX));
  return content.length === 0 ? 'new' : 'not-initialised';
}

/**
 * Initialises `dataDir` (see the module comment). Throws InitError when it is already initialised or
 * holds, without `parapet.yaml`, a file init would have to replace.
 */
export async function initDataDir(options: InitOptions): Promise<InitResult> {
  const dataDir = resolve(options.dataDir);
  const lock = options.lock ?? DataDirLock.acquire(dataDir, 'parapet init');
  try {
    return await initLocked({ ...options, dataDir });
  } finally {
    if (options.lock === undefined) lock.release();
  }
}

async function initLocked(options: InitOptions): Promise<InitResult> {
  const { dataDir } = options;
  const step = options.afterStep ?? (() => {});
  if (isInitialised(dataDir)) throw new InitError(`${dataDir} is already initialised (${CONFIG_FILE} exists)`);
  const caDir = resolve(options.caDir ?? defaultCaDir(dataDir));
  try {
    checkCaDirPlacement(caDir, dataDir);
  } catch (err) {
    throw new InitError(err instanceof CaDirectoryError ? `${err.message}; choose another --ca-dir` : String(err));
  }
  // Owner-only, even when the directory existed before (an empty mount point, say).
  chmodSync(dataDir, 0o700);
  const resumed = forgetInterruptedInit(dataDir);

  const admin = options.adminUser ?? 'admin';
  const clientFiles = clientSettingsFilesIn(join(dataDir, 'client'), admin);
  const targets = [...TLS_FILES.map((f) => join('tls', f)), ...listClientSettingsFiles(clientFiles).map((f) => join('client', basename(f)))];
  const clashes = targets.filter((p) => existsSync(join(dataDir, p)));
  if (clashes.length > 0) {
    throw new InitError(
      `${dataDir} has no ${CONFIG_FILE} but already holds ${clashes.join(', ')}: move them away to initialise it, ` +
        'or start it with a config file that names its certificates (--config)',
    );
  }
  const caHeld = [CA_KEY_FILE, CA_CERT_FILE].map((f) => join(caDir, f)).filter((p) => existsSync(p));
  if (caHeld.length > 0) {
    throw new InitError(
      `the CA directory ${caDir} already holds ${caHeld.join(', ')} (the CA of another data directory?): ` +
        'choose another --ca-dir, or move them away to initialise with a new CA',
    );
  }
  makeCaDir(caDir);
  const masterKeyFile = placeMasterKey(resolve(options.masterKeyFile ?? defaultMasterKeyFile(dataDir)), dataDir);
  // The audit trail's signing key sits with the master key: outside the data directory, apart from the audit files.
  const auditSigningKeyFile = join(dirname(masterKeyFile), 'audit-signing.key');
  ensureAuditSigningKey(auditSigningKeyFile);

  // The keys are made in memory first, so that the pending list can name the CA files by digest.
  const tls = await tlsMaterial(options.host);
  const caPlaced = { caDir, files: { [CA_KEY_FILE]: sha256(tls.ca.keyPem), [CA_CERT_FILE]: sha256(tls.ca.certPem) } };

  // 1. Say what is about to be placed: from here on, an interruption is recognised as one.
  writeFileDurably(join(dataDir, PENDING_FILE), `${JSON.stringify([...targets, caPlaced])}\n`, 0o600);
  fsyncDirectory(dataDir);
  step('pending');

  // 2. Build everything aside. The staging directory is private (mkdtemp makes it 0700).
  const staging = mkdtempSync(join(dataDir, STAGING_PREFIX));
  const caFile = join(dataDir, 'tls', 'ca.crt');
  const password = randomBytes(24).toString('base64url');
  for (const [file, text, mode] of dataDirTlsFiles(tls)) stage(staging, join('tls', file), text, mode);
  // Rendered with the CA's text at hand: its file is only placed below, with the others.
  const rendered = renderClientSettings(adminSettings(admin, options.host, options.port, password, caFile), tls.ca.certPem);
  stage(staging, join('client', basename(clientFiles.properties)), rendered.properties, 0o600);
  stage(staging, join('client', basename(clientFiles.javaProperties)), rendered.javaProperties, 0o600);
  stage(staging, join('client', basename(clientFiles.json)), rendered.json, 0o600);
  stage(staging, CONFIG_FILE, configText(dataDir, options, admin, caDir, masterKeyFile, auditSigningKeyFile), 0o600);
  step('staged');

  // 3. The admin's credentials. Setting them again after an interruption is harmless: the password
  //    of the interrupted attempt never left its staging directory.
  setScramPassword(dataDir, admin, password);
  step('credentials');

  // 4. Place it all: the CA directory first, parapet.yaml last.
  placeCa(caDir, tls.ca);
  step('placed-ca');
  for (const dir of ['tls', 'client']) {
    mkdirSync(join(dataDir, dir), { recursive: true, mode: 0o700 });
    chmodSync(join(dataDir, dir), 0o700);
  }
  for (const target of targets) {
    renameSync(join(staging, target), join(dataDir, target));
    step('placed-file');
  }
  fsyncDirectory(join(dataDir, 'tls'));
  fsyncDirectory(join(dataDir, 'client'));
  renameSync(join(staging, CONFIG_FILE), join(dataDir, CONFIG_FILE));
  fsyncDirectory(dataDir);
  step('config');
  rmSync(join(dataDir, PENDING_FILE), { force: true });
  rmSync(staging, { recursive: true, force: true });

  return {
    dataDir,
    configFile: join(dataDir, CONFIG_FILE),
    adminProperties: clientFiles.properties,
    adminClientFiles: clientFiles,
    caFile,
    caDir,
    caKeyFile: join(caDir, CA_KEY_FILE),
    masterKeyFile,
    auditSigningKeyFile,
    auditKeyId: keyId(loadAuditPublicKey(`${auditSigningKeyFile}.pub`)),
    resumed,
  };
}

export interface RestoreAdminOptions {
  readonly dataDir: string;
  /** Where clients connect and the CA they verify the broker with, from the directory's config. */
  readonly host: string;
  readonly port: number;
  readonly caFile: string;
  readonly adminUser?: string;
  readonly lock?: DataDirLock;
}

/**
 * A way back in to an initialised directory in which no SCRAM user is left (the last one deleted, or
 * a directory initialised by an older Parapet whose first start was interrupted): creates the admin
 * user with a new password and writes its client configs. Refuses when any SCRAM user exists, since
 * then someone can log in and `parapet user passwd` is the way. It needs the lock, so the broker must
 * be stopped, and write access to the data directory: whoever has both owns the broker anyway.
 */
export function restoreAdminAccess(options: RestoreAdminOptions): InitResult {
  const dataDir = resolve(options.dataDir);
  const lock = options.lock ?? DataDirLock.acquire(dataDir, 'parapet init');
  try {
    if (!isInitialised(dataDir)) throw new InitError(`${dataDir} is not initialised: run \`parapet init --data-dir ${dataDir}\``);
    const users = scramUserCount(dataDir);
    if (users > 0) {
      throw new InitError(`${dataDir} is already initialised and has ${users} SCRAM user(s): change a password with \`parapet user passwd NAME\``);
    }
    const admin = options.adminUser ?? 'admin';
    const password = randomBytes(24).toString('base64url');
    const clientFiles = clientSettingsFilesIn(join(dataDir, 'client'), admin);
    // Staged first, so that a failure to write them leaves no password nobody can read.
    const staged = stageClientSettings(clientFiles, adminSettings(admin, options.host, options.port, password, options.caFile));
    try {
      setScramPassword(dataDir, admin, password);
    } catch (err) {
      staged.abort();
      throw err;
    }
    staged.commit();
    fsyncDirectory(dirname(clientFiles.properties));
    return {
      dataDir,
      configFile: join(dataDir, CONFIG_FILE),
      adminProperties: clientFiles.properties,
      adminClientFiles: clientFiles,
      caFile: options.caFile,
      resumed: false,
    };
  } finally {
    if (options.lock === undefined) lock.release();
  }
}

/** How many users have SCRAM credentials in the directory's metadata store. */
export function scramUserCount(dataDir: string): number {
  const store = new MetadataStore(dataDir);
  try {
    return new CredentialStore({ store }).describe(null).length;
  } finally {
    store.close();
  }
}

/**
 * In an initialised directory, the bookkeeping an initialisation interrupted after placing
 * `parapet.yaml` left behind: the pending list and staging directories, never the files they name
 * (those are placed and in use). Called under the lock by `parapet start`.
 */
export function removeInitLeftovers(dataDir: string): void {
  if (!isInitialised(dataDir)) return;
  for (const name of readdirSync(dataDir)) {
    if (name.startsWith(STAGING_PREFIX)) rmSync(join(dataDir, name), { recursive: true, force: true });
  }
}

/**
 * Removes what an interrupted initialisation left: the files `.init-pending` lists (placed, never
 * announced) and staging directories. Returns whether there was anything to forget.
 */
function forgetInterruptedInit(dataDir: string): boolean {
  let found = false;
  const pendingPath = join(dataDir, PENDING_FILE);
  if (existsSync(pendingPath)) {
    found = true;
    let listed: unknown;
    try {
      listed = JSON.parse(readFileSync(pendingPath, 'utf8'));
    } catch {
      // Torn before it was flushed: nothing was placed yet (placing starts after the flush).
      listed = [];
    }
    for (const p of Array.isArray(listed) ? (listed as unknown[]) : []) {
      // Only the names init itself places, never a path that leaves the directory.
      if (typeof p === 'string' && /^(tls|client)\/[A-Za-z0-9._@+-]+$/.test(p)) rmSync(join(dataDir, p), { force: true });
      else forgetCaFiles(p);
    }
    rmSync(pendingPath, { force: true });
  }
  for (const name of readdirSync(dataDir)) {
    if (!name.startsWith(STAGING_PREFIX) || name === PENDING_FILE) continue;
    found = true;
    rmSync(join(dataDir, name), { recursive: true, force: true });
  }
  return found;
}

/**
 * The CA files an interrupted initialisation listed (`{caDir, files: {name: sha256}}`): its temporary
 * files, and the placed ones whose content is still what it wrote. Anything else there is not init's.
 */
function forgetCaFiles(entry: unknown): void {
  if (typeof entry !== 'object' || entry === null) return;
  const { caDir, files } = entry as { caDir?: unknown; files?: unknown };
  if (typeof caDir !== 'string' || !caDir.startsWith('/') || typeof files !== 'object' || files === null) return;
  for (const name of [CA_KEY_FILE, CA_CERT_FILE]) {
    const digest = (files as Record<string, unknown>)[name];
    rmSync(join(caDir, caTemporary(name)), { force: true });
    const path = join(caDir, name);
    let content: string;
    try {
      content = readFileSync(path, 'utf8');
    } catch {
      continue;
    }
    if (typeof digest === 'string' && sha256(content) === digest) rmSync(path, { force: true });
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

const caTemporary = (name: string): string => `.${name}.init`;

/** Creates the CA directory (0700) before anything else is written, so a path that can't be used stops init early. */
function makeCaDir(caDir: string): void {
  let created: string | undefined;
  try {
    created = mkdirSync(caDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EEXIST' || code === 'ENOTDIR' ? 'a part of the path is a file' : code;
    throw new InitError(
      `cannot create the CA directory ${caDir}: ${why}; give --ca-dir DIR, a directory outside the data directory that you can write ` +
        `(or create it first: install -d -m 0700 ${caDir})`,
    );
  }
  if (!statSync(caDir).isDirectory()) throw new InitError(`the CA directory ${caDir} is not a directory: choose another --ca-dir`);
  if (created === undefined) return;
  chmodSync(caDir, 0o700);
  try {
    fsyncDirectory(dirname(caDir));
  } catch {
    // A parent we may write but not read (mode 0333) can't be flushed; the entry is there all the same.
  }
}

/**
 * The master key of encryption at rest, created before anything else is written (an interrupted init
 * finds and keeps it): beside the data directory by default, never in it, since the keyring in the data
 * directory is useless without it (docs/security/encryption-at-rest.md#key-custody).
 */
function placeMasterKey(path: string, dataDir: string): string {
  const inside = relative(dataDir, path);
  if (!inside.startsWith('..') && !isAbsolute(inside)) {
    throw new InitError(`the master key file ${path} is inside the data directory: a copy of the directory would carry its own key; give --master-key-file outside it`);
  }
  try {
    ensureMasterKeyFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EEXIST' || code === 'ENOTDIR' ? 'a part of the path is a file' : code;
    throw new InitError(`cannot create the master key file ${path}: ${why}; give --master-key-file FILE, outside the data directory, where you can write`);
  }
  return path;
}

/** Writes the CA key (0600) and certificate (0644) into its directory, each whole or not at all. */
function placeCa(caDir: string, ca: CertificateAndKey): void {
  for (const [name, text, mode] of [
    [CA_KEY_FILE, ca.keyPem, 0o600],
    [CA_CERT_FILE, ca.certPem, 0o644],
  ] as const) {
    const temporary = join(caDir, caTemporary(name));
    rmSync(temporary, { force: true });
    writeFileDurably(temporary, text, mode);
    // Checked again: the CA directory is not under the data directory's lock.
    if (existsSync(join(caDir, name))) throw new InitError(`the CA directory ${caDir} got a ${name} while initialising: another parapet init uses it?`);
    renameSync(temporary, join(caDir, name));
  }
  fsyncDirectory(caDir);
}

function stage(staging: string, relative: string, text: string, mode: number): void {
  const path = join(staging, relative);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileDurably(path, text, mode);
}

/** What init places in `<data dir>/tls/`: the CA certificate, never its key. */
const TLS_FILES = ['ca.crt', 'server.key', 'server.crt'] as const;

interface TlsMaterial {
  readonly ca: CertificateAndKey;
  readonly server: CertificateAndKey;
}

async function tlsMaterial(listen: string): Promise<TlsMaterial> {
  const host = hostname();
  const ca = await createCertificateAuthority({ commonName: `Parapet local CA (${host})` });
  // The certificate names the listener's own address too, when it is a specific one: clients verify it.
  const specific = listen !== '0.0.0.0' && listen !== '::';
  const server = await issueServerCertificate(ca, {
    commonName: host,
    dnsNames: [...new Set(['localhost', host, ...(specific && isIP(listen) === 0 ? [listen] : [])])],
    ipAddresses: [...new Set(['127.0.0.1', '::1', ...(specific && isIP(listen) !== 0 ? [listen] : [])])],
  });
  return { ca, server };
}

function dataDirTlsFiles(tls: TlsMaterial): [(typeof TLS_FILES)[number], string, number][] {
  return [
    ['ca.crt', tls.ca.certPem, 0o644],
    ['server.key', tls.server.keyPem, 0o600],
    ['server.crt', tls.server.certPem, 0o644],
  ];
}

function setScramPassword(dataDir: string, user: string, password: string): void {
  const store = new MetadataStore(dataDir);
  try {
    const credentials = new CredentialStore({ store });
    for (const mechanism of SCRAM_MECHANISMS) credentials.upsert(user, mechanism, deriveScramCredential(mechanism, password));
  } finally {
    store.close();
  }
}

function configText(dataDir: string, options: InitOptions, admin: string, caDir: string, masterKeyFile: string, auditSigningKeyFile: string): string {
  return [
    `# Written by \`parapet init\`. Start with: parapet start --data-dir ${dataDir}`,
    '# Relative paths are relative to this file. See docs/configuration.md and docs/security/.',
    `# The CA's private key is in ${caDir}, outside this directory: the broker never reads it,`,
    '# `parapet cert` issues certificates with it; keep it offline (docs/security/tls.md).',
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
    '  # Client certificates (mTLS) log in as User:cert:<CN>, never as a SCRAM user or the super user.',
    '  principalPrefix: "cert:"',
    'sasl:',
    '  mechanisms: [SCRAM-SHA-512, SCRAM-SHA-256, PLAIN]',
    '  # OAUTHBEARER tokens, once enabled, log in as User:oauth:<sub> (docs/security/authentication.md).',
    '  oauthbearer:',
    '    principalPrefix: "oauth:"',
    'superUsers:',
    `  - User:${admin}`,
    '# Encryption at rest: every topic is encrypted unless created with encryption=none. The master key',
    '# is outside this directory, so that a copy of the directory is useless without it: back it up on',
    '# its own, apart from the data (docs/security/encryption-at-rest.md). Lost, nothing can replace it.',
    'encryptionAtRest:',
    '  provider: local',
    `  masterKey: \${file:${masterKeyFile}}`,
    '# The audit trail: every login, denial and change, hash-chained in audit/ and copied to the __audit',
    '# topic. Its checkpoints are signed with this key, kept apart from the audit files; verify them with',
    '# `parapet audit verify` (docs/security/audit.md).',
    'audit:',
    `  signingKey: \${file:${auditSigningKeyFile}}`,
    '',
  ].join('\n');
}

function adminSettings(admin: string, host: string, port: number, password: string, caFile: string): ClientSettings {
  return {
    bootstrapServers: [{ host, port }],
    securityProtocol: 'SASL_SSL',
    mechanism: 'SCRAM-SHA-512',
    username: admin,
    password: new Secret(password),
    caFile,
  };
}

/**
 * Points the admin client settings init wrote (every format) at the address the broker really listens
 * on (a first start on port 0 picks a free port only once it listens).
 */
export function updateClientBootstrap(result: InitResult, host: string, port: number): void {
  rewriteClientBootstrap(result.adminClientFiles, [{ host, port }]);
}
