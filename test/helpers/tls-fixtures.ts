/**
 * TLS test fixtures: a throwaway CA with a server certificate (SANs localhost, 127.0.0.1, ::1) and a
 * client certificate, written to a temp dir that is removed when the test ends; plus small helpers to run
 * a TLS server and connect to it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import tls from 'node:tls';
import type { Logger } from '../../src/logger.js';
import {
  createCertificateAuthority,
  issueClientCertificate,
  issueServerCertificate,
  type CertificateAndKey,
  type ClientCertificateOptions,
} from '../../src/security/tls/certificates.js';
import type { TlsFiles } from '../../src/security/tls/tls-options.js';

export interface TlsFixture {
  readonly dir: string;
  readonly ca: CertificateAndKey;
  readonly server: CertificateAndKey;
  readonly client: CertificateAndKey;
  /** Server certificate, key and CA as a listener would be configured with them. */
  readonly tlsFiles: Required<Omit<TlsFiles, 'crlFile'>>;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
}

export interface TlsFixtureOptions {
  readonly caCommonName?: string;
  readonly serverCommonName?: string;
  readonly client?: ClientCertificateOptions;
}

export async function createTlsFixture(t: TestContext, options: TlsFixtureOptions = {}): Promise<TlsFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'parapet-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ca = await createCertificateAuthority({ commonName: options.caCommonName ?? 'Parapet Test CA' });
  const server = await issueServerCertificate(ca, {
    commonName: options.serverCommonName ?? 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1', '::1'],
  });
  const client = await issueClientCertificate(ca, options.client ?? { commonName: 'alice' });
  const tlsFiles = { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key'), caFile: join(dir, 'ca.crt') };
  const clientCertFile = join(dir, 'client.crt');
  const clientKeyFile = join(dir, 'client.key');
  await Promise.all([
    writeFile(tlsFiles.caFile, ca.certPem),
    writeFile(tlsFiles.certFile, server.certPem),
    writeFile(tlsFiles.keyFile, server.keyPem, { mode: 0o600 }),
    writeFile(clientCertFile, client.certPem),
    writeFile(clientKeyFile, client.keyPem, { mode: 0o600 }),
  ]);
  return { dir, ca, server, client, tlsFiles, clientCertFile, clientKeyFile };
}

/** Starts `server` on a free port of `host`; closes it, with every connection it accepted, when the test ends. */
export async function listenForTest(t: TestContext, server: tls.Server, host = '127.0.0.1'): Promise<number> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  );
  return (server.address() as AddressInfo).port;
}

/** Whether this machine can listen on `::1` (containers without IPv6 can't). */
export async function ipv6LoopbackAvailable(): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => {
      resolve(false);
    });
    probe.listen(0, '::1', () => {
      probe.close(() => {
        resolve(true);
      });
    });
  });
}

export type ConnectOutcome =
  /** `laterErrors` collects errors after the handshake (a TLS 1.3 server refuses the client's certificate then). */
  | { readonly ok: true; readonly socket: tls.TLSSocket; readonly laterErrors: NodeJS.ErrnoException[] }
  | { readonly ok: false; readonly error: NodeJS.ErrnoException };

/** The error code of a failed handshake, or `connected`: one value to assert on. */
export function handshakeResult(outcome: ConnectOutcome): string {
  return outcome.ok ? 'connected' : (outcome.error.code ?? outcome.error.message);
}

/**
 * Connects and resolves once the handshake is done or has failed; a connected socket is destroyed when
 * the test ends.
 */
export function connectTls(t: TestContext, options: tls.ConnectionOptions): Promise<ConnectOutcome> {
  return new Promise((resolve) => {
    const socket = tls.connect(options);
    t.after(() => {
      socket.destroy();
    });
    const onError = (error: NodeJS.ErrnoException): void => {
      resolve({ ok: false, error });
    };
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      socket.off('error', onError);
      const laterErrors: NodeJS.ErrnoException[] = [];
      socket.on('error', (error: NodeJS.ErrnoException) => laterErrors.push(error));
      resolve({ ok: true, socket, laterErrors });
    });
  });
}

/** Resolves with the next chunk the socket receives, or undefined when it closes first. */
export function nextData(socket: tls.TLSSocket): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    if (socket.destroyed) {
      resolve(undefined);
      return;
    }
    const onData = (data: Buffer): void => {
      cleanup();
      resolve(data);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(undefined);
    };
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('close', onEnd);
      socket.off('end', onEnd);
      socket.off('error', onEnd);
    };
    socket.on('data', onData);
    socket.on('close', onEnd);
    socket.on('end', onEnd);
    socket.on('error', onEnd);
  });
}

/** Polls `condition` until it holds; throws after `timeoutMs` with `what` in the message. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface LogRecord {
  readonly level: 'info' | 'warn' | 'error' | 'debug';
  readonly obj: object;
  readonly msg: string;
}

/** A logger that keeps what it is told. */
export function recordingLogger(): Logger & { readonly records: LogRecord[] } {
  const records: LogRecord[] = [];
  const at =
    (level: LogRecord['level']) =>
    (obj: object, msg: string): void => {
      records.push({ level, obj, msg });
    };
  return { records, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
}
