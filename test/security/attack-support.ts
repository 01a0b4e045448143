import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { AdminClient, type AclBinding } from '../../src/client/admin.js';
import { readClientConfig, Secret, type ClientConfig } from '../../src/client/client-config.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { Metadata, Produce } from '../../src/protocol/messages/index.js';
import { buildBatchSync } from '../../src/records/record.js';
import { CLI } from '../helpers/cli-process.js';
import { TEST_ADMIN_LISTEN } from '../helpers/admin-endpoint.js';

/**
 * The harness of the resource-bound attack tests (docs/security/limits.md): a broker with default
 * settings as its own process, so that its memory and file descriptors can be measured apart from the
 * test's, and a well-behaved client whose latency shows what an attack costs everyone else.
 */

export interface BrokerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  readonly bootstrap: string;
  readonly dataDir: string;
  readonly caFile: string;
  /** The admin's client config, pointed at this broker. */
  readonly adminConfig: ClientConfig;
  /** Everything the broker printed so far (its JSON log lines among them). */
  readonly output: () => string;
  /** Resident memory of the broker process, from /proc. */
  rssBytes(): number;
  /** Open file descriptors of the broker process, from /proc. */
  openFds(): number;
  /** An admin client of this broker, closed when the test ends. */
  admin(): Promise<AdminClient>;
  /** Creates a SCRAM user (SHA-512 and SHA-256) and returns a client config that logs in as it. */
  addUser(name: string, password: string, acls?: readonly Omit<AclBinding, 'principal'>[]): Promise<ClientConfig>;
  /** SIGTERM, then the exit code; SIGKILL and null if it has not stopped within `timeoutMs`. */
  stop(timeoutMs?: number): Promise<number | null>;
}

export interface BrokerProcessOptions {
  /** YAML appended to the parapet.yaml that init wrote (top-level keys init does not write). */
  readonly configYaml?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Node flags of the broker process (e.g. `--max-old-space-size=…`). */
  readonly nodeArgs?: readonly string[];
  /** `ulimit -n` of the broker process (soft and hard), set by the shell that execs it. */
  readonly openFileLimit?: number;
  /** An initialised data directory to start on (a restart): no `init`, no `configYaml`; removed when the test ends. */
  readonly dataDir?: string;
}

function run(args: readonly string[]): Promise<void> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`parapet ${args.join(' ')} exited with ${String(code)}: ${err}`));
    });
  });
}

/** What owns the broker's clean-up: a test's context, or a benchmark's scope (bench/abuse/case.ts). */
export interface CleanupScope {
  after(fn: () => void): void;
}

/** `parapet init`, then `parapet start` on loopback with a free port, as a separate process. */
export async function startBrokerProcess(t: CleanupScope, options: BrokerProcessOptions = {}): Promise<BrokerProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'parapet-attack-'));
  if (options.dataDir === undefined) {
    await run(['init', '--data-dir', dataDir, '--listen', '127.0.0.1:9092']);
    if (options.configYaml !== undefined) appendFileSync(join(dataDir, 'parapet.yaml'), `\n${options.configYaml}\n`);
  }
  const argv = [...(options.nodeArgs ?? []), CLI, 'start', '--data-dir', dataDir, '--listen', '127.0.0.1:0', ...TEST_ADMIN_LISTEN];
  // The shell execs node, so the pid (and /proc/<pid>) is the broker's.
  const [command, args] =
    options.openFileLimit === undefined
      ? [process.execPath, argv]
      : ['/bin/sh', ['-c', `ulimit -n ${options.openFileLimit} && exec "$0" "$@"`, process.execPath, ...argv]];
  const child = spawn(command, args, {
    env: { ...process.env, PARAPET_LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const clients: AdminClient[] = [];
  t.after(() => {
    for (const c of clients) c.close();
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    // `parapet init` put the CA key beside the data directory, outside it.
    rmSync(`${dataDir}-ca`, { recursive: true, force: true });
    rmSync(`${dataDir}-keys`, { recursive: true, force: true });
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const onData = () => {
      const m = /listening on 127\.0\.0\.1:(\d+) /.exec(out);
      if (m?.[1] !== undefined) resolve(Number(m[1]));
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => {
      reject(new Error(`the broker exited with ${String(code)}: ${out}`));
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('no broker process');
  const bootstrap = `127.0.0.1:${port}`;
  const fromFile = readClientConfig(join(dataDir, 'client', 'admin.properties'));
  const adminConfig: ClientConfig = { ...fromFile, bootstrapServers: [{ host: '127.0.0.1', port }] };
  const admin = async () => {
    const client = await AdminClient.connect(adminConfig);
    clients.push(client);
    return client;
  };
  return {
    child,
    pid,
    port,
    bootstrap,
    dataDir,
    caFile: join(dataDir, 'tls', 'ca.crt'),
    adminConfig,
    output: () => out,
    rssBytes: () => {
      const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (kb === undefined) throw new Error('no VmRSS');
      return Number(kb) * 1024;
    },
    openFds: () => readdirSync(`/proc/${pid}/fd`).length,
    admin,
    addUser: async (name, password, acls = []) => {
      const client = await admin();
      await client.upsertScramCredentials(name, password, [
        { mechanism: 'SCRAM-SHA-512', iterations: 4096 },
        { mechanism: 'SCRAM-SHA-256', iterations: 4096 },
      ]);
      if (acls.length > 0) await client.createAcls(acls.map((a) => ({ ...a, principal: `User:${name}` })));
      return { ...adminConfig, sasl: { mechanism: 'SCRAM-SHA-512', username: name, password: new Secret(password) } };
    },
    stop: async (timeoutMs = 10_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code); }));
      child.kill('SIGTERM');
      const timer = new Promise<'timeout'>((resolve) => setTimeout(() => { resolve('timeout'); }, timeoutMs).unref());
      const result = await Promise.race([exited, timer]);
      if (result === 'timeout') {
        child.kill('SIGKILL');
        await exited;
        return null;
      }
      return result;
    },
  };
}

/**
 * A well-behaved client: a Metadata request and an acks=1 produce of one small record to `topic`
 * (which must exist), timed. Repeat it before and during an attack: the ratio is the attack's cost
 * to everyone else.
 */
export class LatencyProbe {
  readonly #connection: KafkaConnection;
  readonly #topic: string;

  private constructor(connection: KafkaConnection, topic: string) {
    this.#connection = connection;
    this.#topic = topic;
  }

  static async open(t: CleanupScope, config: ClientConfig, topic: string): Promise<LatencyProbe> {
    const address = config.bootstrapServers[0];
    if (address === undefined) throw new Error('no bootstrap server');
    const connection = await KafkaConnection.connect(address, config, { clientId: 'latency-probe', requestTimeoutMs: 60_000 });
    t.after(() => {
      connection.close();
    });
    return new LatencyProbe(connection, topic);
  }

  /** Milliseconds of one Metadata request for the probe's topic. */
  async metadataMs(): Promise<number> {
    const started = performance.now();
    await this.#connection.request(Metadata, { topics: [{ name: this.#topic }], allowAutoTopicCreation: false });
    return performance.now() - started;
  }

  /** Milliseconds of one acks=1 produce of one small record; throws on a partition error. */
  async produceMs(): Promise<number> {
    const started = performance.now();
    const response = await this.#connection.request(Produce, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 30_000,
      topicData: [{ name: this.#topic, partitionData: [{ index: 0, records: buildBatchSync({ records: [{ value: 'probe' }] }) }] }],
    });
    const code = response.responses[0]?.partitionResponses[0]?.errorCode;
    if (code !== 0) throw new Error(`probe produce failed with error ${String(code)}`);
    return performance.now() - started;
  }

  /** The median of `n` rounds of Metadata and produce, in ms. */
  async median(n = 9): Promise<{ metadataMs: number; produceMs: number }> {
    const metadata: number[] = [];
    const produce: number[] = [];
    for (let i = 0; i < n; i++) {
      metadata.push(await this.metadataMs());
      produce.push(await this.produceMs());
    }
    const mid = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
    return { metadataMs: mid(metadata), produceMs: mid(produce) };
  }
}

/** Waits until `predicate` holds, polling every 20 ms; throws with `what` after `timeoutMs`. */
export async function eventually(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A connection of the project's client with `config`'s login, closed when the test ends. */
export async function connect(t: TestContext, config: ClientConfig, clientId = 'attacker'): Promise<KafkaConnection> {
  const address = config.bootstrapServers[0];
  if (address === undefined) throw new Error('no bootstrap server');
  const connection = await KafkaConnection.connect(address, config, { clientId, requestTimeoutMs: 60_000 });
  t.after(() => {
    connection.close();
  });
  return connection;
}
