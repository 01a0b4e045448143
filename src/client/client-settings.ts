import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { ScramMechanismName } from '../security/types.js';
import { formatBrokerAddress, readClientConfig, Secret, type BrokerAddress } from './client-config.js';
import { ClientError } from './errors.js';
import { jaasQuoted, javaPropertiesValue } from './java-properties.js';

/**
 * The client settings Parapet writes for one SCRAM user (`parapet init` for the admin, `parapet user
 * add|passwd` for the others), rendered from one input into every format, so that they never disagree:
 *
 * - `<stem>.properties`: librdkafka's keys, for `kcat -F`, librdkafka tools and confluent-kafka. Also
 *   what `parapet` itself reads (--client-config), and the source the others are re-rendered from.
 * - `<stem>.java.properties`: the Java client's keys (librdkafka refuses keys it does not know, so
 *   Java cannot share the first file).
 * - `<stem>.json`: one section per client library, named after its package, each passed as it is to
 *   that library's constructor. The Node sections embed the CA certificate, so they need no file path.
 *
 * Every file holds the password: each is written mode 0600 to a temporary file beside it and renamed
 * into place, so a reader sees the old file or the new one, never half of one.
 */

export type ClientSecurityProtocol = 'SASL_SSL' | 'SASL_PLAINTEXT';

export interface ClientSettings {
  readonly bootstrapServers: readonly BrokerAddress[];
  readonly securityProtocol: ClientSecurityProtocol;
  readonly mechanism: ScramMechanismName;
  readonly username: string;
  readonly password: Secret;
  /** Absolute path of the CA certificate (PEM) that signed the broker's; the system CAs when absent. Used with SASL_SSL only. */
  readonly caFile?: string;
}

export interface ClientSettingsFiles {
  readonly properties: string;
  readonly javaProperties: string;
  readonly json: string;
}

export interface RenderedClientSettings {
  readonly properties: string;
  readonly javaProperties: string;
  readonly json: string;
}

export class ClientSettingsError extends ClientError {
  override name = 'ClientSettingsError';
}

/** The names of the JSON sections: each client library's npm or PyPI package name. */
export const JSON_SECTIONS = ['kafkajs', '@platformatic/kafka', 'kafka-python', 'confluent-kafka'] as const;

/**
 * The three files of one user: `--out alice.properties` (or `<data-dir>/client/alice.properties`) gives
 * `alice.java.properties` and `alice.json` beside it. A name that does not end in `.properties` is the
 * stem as it is: `creds.conf` gives `creds.conf.java.properties` and `creds.conf.json`.
 */
export function clientSettingsFiles(propertiesFile: string): ClientSettingsFiles {
  const stem = propertiesFile.endsWith('.properties') ? propertiesFile.slice(0, -'.properties'.length) : propertiesFile;
  return { properties: propertiesFile, javaProperties: `${stem}.java.properties`, json: `${stem}.json` };
}

/** `<dir>/<user>.properties` and its siblings. */
export function clientSettingsFilesIn(dir: string, user: string): ClientSettingsFiles {
  return clientSettingsFiles(join(dir, `${user}.properties`));
}

export function listClientSettingsFiles(files: ClientSettingsFiles): string[] {
  return [files.properties, files.javaProperties, files.json];
}

/**
 * Refuses what one of the formats could not carry back unchanged: librdkafka's properties reader (and
 * kcat's) takes a value to the end of its line and trims both ends, so line breaks, NUL and
 * surrounding spaces are out.
 */
function checkValue(what: string, value: string): void {
  if (value === '') throw new ClientSettingsError(`${what} is empty`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00\r\n]/.test(value)) throw new ClientSettingsError(`${what} holds a line break or NUL, which a properties file cannot carry`);
  if (value.trim() !== value) throw new ClientSettingsError(`${what} has surrounding spaces, which a properties file would drop`);
}

function checkSettings(settings: ClientSettings): void {
  if (settings.bootstrapServers.length === 0) throw new ClientSettingsError('no bootstrap servers to write into the client settings');
  checkValue('the user name', settings.username);
  checkValue('the password', settings.password.reveal());
  if (settings.caFile !== undefined) {
    checkValue('the CA file path', settings.caFile);
    if (!isAbsolute(settings.caFile)) throw new ClientSettingsError(`the CA file path ${settings.caFile} is not absolute`);
  }
}

function usesTls(settings: ClientSettings): boolean {
  return settings.securityProtocol === 'SASL_SSL';
}

function librdkafkaProperties(settings: ClientSettings, caFile: string | undefined): string {
  const lines = [
    `# Client settings for SCRAM user ${settings.username}, written by parapet: librdkafka, kcat -F, confluent-kafka.`,
    '# It holds the password: keep it private (mode 0600). Other clients: the .java.properties and .json files beside it.',
    `bootstrap.servers=${settings.bootstrapServers.map(formatBrokerAddress).join(',')}`,
    `security.protocol=${settings.securityProtocol}`,
    `sasl.mechanisms=${settings.mechanism}`,
    `sasl.username=${settings.username}`,
    `sasl.password=${settings.password.reveal()}`,
  ];
  if (caFile !== undefined) lines.push(`ssl.ca.location=${caFile}`);
  return `${lines.join('\n')}\n`;
}

function javaProperties(settings: ClientSettings, caFile: string | undefined): string {
  const jaas = [
    'org.apache.kafka.common.security.scram.ScramLoginModule required',
    `username=${jaasQuoted(settings.username)}`,
    `password=${jaasQuoted(settings.password.reveal())};`,
  ].join(' ');
  const entries: [string, string][] = [
    ['bootstrap.servers', settings.bootstrapServers.map(formatBrokerAddress).join(',')],
    ['security.protocol', settings.securityProtocol],
    ['sasl.mechanism', settings.mechanism],
    ['sasl.jaas.config', jaas],
  ];
  // Kafka 2.7+ reads a PEM CA file directly (KIP-651); the host name is verified by default.
  if (caFile !== undefined) entries.push(['ssl.truststore.type', 'PEM'], ['ssl.truststore.location', caFile]);
  const lines = [
    '# Java Kafka client settings written by parapet (Kafka 2.7 or later, for the PEM trust store).',
    '# It holds the password: keep it private (mode 0600). Use: --command-config FILE, or Properties.load.',
    ...entries.map(([key, value]) => `${key}=${javaPropertiesValue(value)}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** The JSON sections; `caPem` is the CA certificate's text, embedded for the Node clients. */
function jsonSettings(settings: ClientSettings, caFile: string | undefined, caPem: string | undefined): string {
  const servers = settings.bootstrapServers.map(formatBrokerAddress);
  const username = settings.username;
  const password = settings.password.reveal();
  const tls = usesTls(settings);
  const document = {
    about:
      `Client settings for SCRAM user ${username}, written by parapet. It holds the password: keep it private (mode 0600). ` +
      'Each section goes as it is to its client: new Kafka(s.kafkajs); new Producer({ ...s["@platformatic/kafka"], clientId }); ' +
      "KafkaProducer(**s['kafka-python']); Producer(s['confluent-kafka']).",
    // KafkaJS: `new Kafka(section)`. `ssl: true` verifies against the system CAs.
    kafkajs: {
      brokers: servers,
      ...(tls ? { ssl: caPem === undefined ? true : { ca: [caPem] } } : {}),
      sasl: { mechanism: settings.mechanism.toLowerCase(), username, password },
    },
    // @platformatic/kafka: spread into Producer/Consumer/Admin options (which also need a clientId).
    // Brokers as {host, port}: its string form splits at the first colon, which breaks IPv6 addresses.
    '@platformatic/kafka': {
      bootstrapBrokers: settings.bootstrapServers.map((b) => ({ host: b.host, port: b.port })),
      ...(tls ? { tls: caPem === undefined ? {} : { ca: caPem } } : {}),
      sasl: { mechanism: settings.mechanism, username, password },
    },
    // kafka-python: keyword arguments of KafkaProducer, KafkaConsumer and KafkaAdminClient.
    'kafka-python': {
      bootstrap_servers: servers,
      security_protocol: settings.securityProtocol,
      sasl_mechanism: settings.mechanism,
      sasl_plain_username: username,
      sasl_plain_password: password,
      ...(caFile === undefined ? {} : { ssl_cafile: caFile }),
    },
    // confluent-kafka: the config dict of Producer, Consumer and AdminClient (librdkafka's keys).
    'confluent-kafka': {
      'bootstrap.servers': servers.join(','),
      'security.protocol': settings.securityProtocol,
      'sasl.mechanisms': settings.mechanism,
      'sasl.username': username,
      'sasl.password': password,
      ...(caFile === undefined ? {} : { 'ssl.ca.location': caFile }),
    },
  } satisfies Record<'about' | (typeof JSON_SECTIONS)[number], unknown>;
  return `${JSON.stringify(document, null, 2)}\n`;
}

/**
 * Every format for one user. `caPem` is the text of `settings.caFile` (the caller reads it, so this
 * stays a pure function); both are ignored for SASL_PLAINTEXT.
 */
export function renderClientSettings(settings: ClientSettings, caPem?: string): RenderedClientSettings {
  checkSettings(settings);
  const caFile = usesTls(settings) ? settings.caFile : undefined;
  const pem = caFile === undefined ? undefined : caPem;
  if (caFile !== undefined && pem === undefined) throw new ClientSettingsError('the CA certificate text is needed with a CA file');
  return {
    properties: librdkafkaProperties(settings, caFile),
    javaProperties: javaProperties(settings, caFile),
    json: jsonSettings(settings, caFile, pem),
  };
}

function reason(err: unknown): string {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') return err.code === 'ENOENT' ? 'no such file' : err.code;
  return err instanceof Error ? err.message : String(err);
}

/** The CA certificate's PEM text, refused early when it is not one (a directory, a key, an empty file). */
function readCaPem(caFile: string): string {
  let text: string;
  try {
    if (statSync(caFile).isDirectory()) {
      throw new ClientSettingsError(`the CA location ${caFile} is a directory: the client settings embed the CA certificate, so name its PEM file`);
    }
    text = readFileSync(caFile, 'utf8');
  } catch (err) {
    if (err instanceof ClientSettingsError) throw err;
    throw new ClientSettingsError(`cannot read the CA certificate ${caFile}: ${reason(err)}`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new ClientSettingsError(`${caFile} holds no PEM certificate`);
  return text;
}

export interface StagedClientSettings {
  /** Renames every staged file into place. */
  commit(): void;
  /** Removes the staged files; the files in place are left as they were. */
  abort(): void;
}

/**
 * Writes every format to private temporary files beside their targets (mode 0600 from their creation,
 * never wider; missing directories are created 0700), to be renamed into place by `commit`. Staging
 * first lets `parapet user add|passwd` fail before a password exists that nobody could read back.
 */
export function stageClientSettings(files: ClientSettingsFiles, settings: ClientSettings): StagedClientSettings {
  const caPem = usesTls(settings) && settings.caFile !== undefined ? readCaPem(settings.caFile) : undefined;
  const rendered = renderClientSettings(settings, caPem);
  const targets: [string, string][] = [
    [files.properties, rendered.properties],
    [files.javaProperties, rendered.javaProperties],
    [files.json, rendered.json],
  ];
  const suffix = randomBytes(6).toString('hex');
  const staged: { tmp: string; path: string }[] = [];
  const abort = () => {
    for (const s of staged) rmSync(s.tmp, { force: true });
  };
  for (const [path, content] of targets) {
    const tmp = `${path}.${suffix}.tmp`;
    try {
      if (existsSync(path) && statSync(path).isDirectory()) throw new ClientSettingsError(`${path} is a directory`);
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      writeFileSync(tmp, content, { mode: 0o600, flag: 'wx' });
      staged.push({ tmp, path });
    } catch (err) {
      abort();
      if (err instanceof ClientSettingsError) throw err;
      // A write that failed part-way (a full disk) leaves a partial file; the name is ours alone.
      if (!(err instanceof Error && 'code' in err && err.code === 'EEXIST')) rmSync(tmp, { force: true });
      throw new ClientSettingsError(`cannot write ${path}: ${reason(err)}`);
    }
  }
  return {
    commit: () => {
      for (const [index, s] of staged.entries()) {
        try {
          renameSync(s.tmp, s.path);
        } catch (err) {
          for (const rest of staged.slice(index)) rmSync(rest.tmp, { force: true });
          throw new ClientSettingsError(`cannot write ${s.path}: ${reason(err)}`);
        }
      }
    },
    abort,
  };
}

/** Writes every format at once (stage, then commit). */
export function writeClientSettings(files: ClientSettingsFiles, settings: ClientSettings): void {
  stageClientSettings(files, settings).commit();
}

/**
 * The settings a `.properties` file written by Parapet holds, read back (through the same reader and
 * permission check as `--client-config`) so the other formats can be rendered again from it.
 */
export function readClientSettings(propertiesFile: string): ClientSettings {
  const config = readClientConfig(propertiesFile);
  const { sasl } = config;
  const protocol = config.securityProtocol;
  if (sasl === undefined || (protocol !== 'SASL_SSL' && protocol !== 'SASL_PLAINTEXT')) {
    throw new ClientSettingsError(`${propertiesFile} holds no SASL login`);
  }
  if (sasl.mechanism === 'PLAIN') throw new ClientSettingsError(`${propertiesFile} uses PLAIN, not a SCRAM mechanism`);
  // Rendering the other formats would write the password itself where the file only names it.
  if (sasl.passwordReference !== undefined) {
    throw new ClientSettingsError(`${propertiesFile} takes sasl.password from ${sasl.passwordReference}: Parapet does not write the password out of it; edit the files yourself`);
  }
  const caFile = config.tls.caLocation;
  return {
    bootstrapServers: config.bootstrapServers,
    securityProtocol: protocol,
    mechanism: sasl.mechanism,
    username: sasl.username,
    password: sasl.password,
    ...(caFile === undefined ? {} : { caFile }),
  };
}

/** Points every format at other bootstrap servers, keeping everything else of the `.properties` file. */
export function rewriteClientBootstrap(files: ClientSettingsFiles, bootstrapServers: readonly BrokerAddress[]): void {
  writeClientSettings(files, { ...readClientSettings(files.properties), bootstrapServers });
}
