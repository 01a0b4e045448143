import { X509Certificate } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import {
  CaDirectoryError,
  defaultCaDir,
  readCertificateAuthority,
  readRevocations,
  writeFileAtomically,
  writeRevocations,
  type RevocationRecord,
} from '../security/tls/ca-directory.js';
import { issueClientCertificate, issueServerCertificate, type CertificateAndKey } from '../security/tls/certificates.js';
import { createRevocationList, normaliseSerial, REVOCATION_REASONS, type RevocationReason } from '../security/tls/revocation-list.js';
import { fsyncDirectory } from '../storage/durable-files.js';
import { configureGroup, DEFAULT_DATA_DIR, integer, processIo, UsageError, type AdminIo } from './admin/common.js';

/**
 * `parapet cert client|server|revoke|crl`: certificates and revocation lists from the CA directory that
 * `parapet init` wrote outside the data directory (src/security/tls/ca-directory.ts). These are the only
 * commands that read the CA key; the broker never does. They work offline, without a running broker.
 *
 * Exit codes: 0 success, 1 the operation failed (message on stderr), 2 bad usage.
 */

interface CaFlags {
  readonly dataDir: string;
  readonly caDir?: string;
}

const DEFAULT_CRL_DAYS = 30;

export function registerCertCommands(program: Command, io: AdminIo = processIo()): void {
  const cert = configureGroup(program.command('cert').description("issue certificates and revocation lists with the CA of `parapet init` (it reads the CA's private key)"), io);

  withCaOptions(cert.command('client'))
    .description('issue a client certificate (mTLS) with subject CN=<name>: writes <name>.crt and <name>.key (0600)')
    .argument('<name>', 'the subject CN, the user name the broker maps it to (User:<tls.principalPrefix><name> without mapping rules)')
    .option('--out-dir <dir>', 'where the files go (default <data-dir>/client)')
    .option('--days <n>', 'validity in days (default 397)', integer('--days', 1, 3650))
    .option('--org <O>', 'subject O (organisation)')
    .option('--ou <OU>', 'subject OU, most significant first; repeatable', repeatable)
    .option('--san-dns <name>', 'a DNS subject alternative name; repeatable', repeatable)
    .option('--san-email <address>', 'an email subject alternative name; repeatable', repeatable)
    .option('--san-uri <uri>', 'a URI subject alternative name (a SPIFFE ID, say); repeatable', repeatable)
    .action(
      certAction(io, async (name: string, flags: CaFlags & { outDir?: string; days?: number; org?: string; ou?: string[]; sanDns?: string[]; sanEmail?: string[]; sanUri?: string[] }) => {
        if (!/^[A-Za-z0-9._@+-]+$/.test(name)) throw new UsageError(`the file names come from <name>: use letters, digits and ._@+- only, got ${JSON.stringify(name)}`);
        const ca = readCertificateAuthority(caDirOf(flags));
        const issued = await usage(() =>
          issueClientCertificate(ca, {
            commonName: name,
            ...(flags.org === undefined ? {} : { organization: flags.org }),
            organizationalUnits: flags.ou ?? [],
            dnsNames: flags.sanDns ?? [],
            emails: flags.sanEmail ?? [],
            uris: flags.sanUri ?? [],
            ...(flags.days === undefined ? {} : { validityDays: flags.days }),
          }),
        );
        const outDir = resolve(flags.outDir ?? join(flags.dataDir, 'client'));
        const written = writeNewPair(outDir, name, issued);
        io.stdout(`issued ${describe(issued.certPem)}\n  certificate: ${written.certFile}\n  key:         ${written.keyFile} (0600)\n`);
      }),
    );

  withCaOptions(cert.command('server'))
    .description("issue the broker's certificate: replaces <out-dir>/server.crt and server.key, which a running broker reloads")
    .option('--out-dir <dir>', 'where the files go (default <data-dir>/tls)')
    .option('--name <stem>', 'file names <stem>.crt and <stem>.key', 'server')
    .option('--cn <name>', "the subject CN (default this machine's host name)")
    .option('--dns <name>', 'a DNS name clients connect to; repeatable (default localhost and the host name)', repeatable)
    .option('--ip <address>', 'an IP address clients connect to; repeatable (default 127.0.0.1 and ::1)', repeatable)
    .option('--days <n>', 'validity in days (default 397)', integer('--days', 1, 3650))
    .action(
      certAction(io, async (flags: CaFlags & { outDir?: string; name: string; cn?: string; dns?: string[]; ip?: string[]; days?: number }) => {
        if (!/^[A-Za-z0-9._-]+$/.test(flags.name)) throw new UsageError(`--name: use letters, digits and ._- only, got ${JSON.stringify(flags.name)}`);
        const ca = readCertificateAuthority(caDirOf(flags));
        const host = hostname();
        const dns = flags.dns ?? [];
        const ip = flags.ip ?? [];
        const given = dns.length > 0 || ip.length > 0;
        const issued = await usage(() =>
          issueServerCertificate(ca, {
            commonName: flags.cn ?? host,
            dnsNames: given ? dns : [...new Set(['localhost', host])],
            ipAddresses: given ? ip : ['127.0.0.1', '::1'],
            ...(flags.days === undefined ? {} : { validityDays: flags.days }),
          }),
        );
        const outDir = resolve(flags.outDir ?? join(flags.dataDir, 'tls'));
        mkdirSync(outDir, { recursive: true, mode: 0o700 });
        const keyFile = join(outDir, `${flags.name}.key`);
        const certFile = join(outDir, `${flags.name}.crt`);
        // Each file is replaced whole; the broker reads the pair a moment after the change (cert-reloader).
        writeFileAtomically(keyFile, issued.keyPem, 0o600);
        writeFileAtomically(certFile, issued.certPem, 0o644);
        io.stdout(`issued ${describe(issued.certPem)}\n  certificate: ${certFile}\n  key:         ${keyFile} (0600)\n`);
      }),
    );

  withCrlOptions(withCaOptions(cert.command('revoke')))
    .description('revoke client certificates and write a new CRL (name it in tls.crlFile: the broker reloads it)')
    .argument('[certificates...]', 'certificate files (PEM) issued by this CA')
    .option('--serial <hex>', 'a serial number to revoke, when the certificate file is gone; repeatable', repeatable)
    .option('--reason <reason>', `one of ${REVOCATION_REASONS.join(', ')}`, reasonOf, 'unspecified')
    .action(
      certAction(io, async (files: string[], flags: CaFlags & CrlFlags & { serial?: string[]; reason: RevocationReason }) => {
        const serials = flags.serial ?? [];
        if (files.length === 0 && serials.length === 0) throw new UsageError('name the certificate files to revoke, or --serial HEX');
        const caDir = caDirOf(flags);
        const ca = readCertificateAuthority(caDir);
        const caCertificate = new X509Certificate(ca.certPem);
        const named = [
          ...files.map((file) => certificateToRevoke(file, caCertificate)),
          ...serials.map((serial) => ({ serialNumber: usageSync(() => normaliseSerial(serial)), subject: '(serial number only)' })),
        ];
        const state = readRevocations(caDir);
        const known = new Set(state.revoked.map((r) => r.serialNumber));
        const revokedAt = new Date().toISOString();
        const added: RevocationRecord[] = [];
        for (const { serialNumber, subject } of named) {
          if (known.has(serialNumber)) {
            io.stdout(`already revoked: serial ${serialNumber} (${subject})\n`);
            continue;
          }
          known.add(serialNumber);
          added.push({ serialNumber, subject, revokedAt, reason: flags.reason });
        }
        for (const r of added) io.stdout(`revoked serial ${r.serialNumber} (${r.subject}), reason ${r.reason}\n`);
        await publishCrl(io, caDir, ca, { crlNumber: state.crlNumber, revoked: [...state.revoked, ...added] }, flags);
      }),
    );

  withCrlOptions(withCaOptions(cert.command('crl')))
    .description('write the CRL again with a new validity (before its next update: a CRL past it locks out every client certificate)')
    .action(
      certAction(io, async (flags: CaFlags & CrlFlags) => {
        const caDir = caDirOf(flags);
        await publishCrl(io, caDir, readCertificateAuthority(caDir), readRevocations(caDir), flags);
      }),
    );
}

interface CrlFlags {
  readonly crl?: string;
  readonly crlDays: number;
}

function withCaOptions(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'the data directory (for the defaults of the other paths)', DEFAULT_DATA_DIR)
    .option('--ca-dir <dir>', 'the CA directory `parapet init` wrote (default <data-dir>-ca)');
}

function withCrlOptions(cmd: Command): Command {
  return cmd
    .option('--crl <file>', 'where the CRL goes (default <data-dir>/tls/crl.pem)')
    .option('--crl-days <n>', `days until the CRL's next update (default ${DEFAULT_CRL_DAYS})`, integer('--crl-days', 1, 366), DEFAULT_CRL_DAYS);
}

/** Collects a repeated option (no default shown in --help: an absent option is an empty list). */
function repeatable(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function caDirOf(flags: CaFlags): string {
  return resolve(flags.caDir ?? defaultCaDir(flags.dataDir));
}

function reasonOf(value: string): RevocationReason {
  if (!(REVOCATION_REASONS as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${REVOCATION_REASONS.join(', ')}.`);
  return value as RevocationReason;
}

/** Signs a CRL with the next number, records the state, and replaces the CRL file (the broker polls it). */
async function publishCrl(io: AdminIo, caDir: string, ca: CertificateAndKey, state: { crlNumber: number; revoked: readonly RevocationRecord[] }, flags: CaFlags & CrlFlags): Promise<void> {
  const crlNumber = state.crlNumber + 1;
  const pem = await createRevocationList(ca, {
    crlNumber,
    validityDays: flags.crlDays,
    revoked: state.revoked.map((r) => ({ serialNumber: r.serialNumber, revokedAt: new Date(r.revokedAt), reason: r.reason })),
  });
  // The revocations are recorded before the CRL is published: a failure in between only skips a number.
  writeRevocations(caDir, { crlNumber, revoked: state.revoked });
  const crlFile = resolve(flags.crl ?? join(flags.dataDir, 'tls', 'crl.pem'));
  mkdirSync(dirname(crlFile), { recursive: true, mode: 0o700 });
  writeFileAtomically(crlFile, pem, 0o644);
  const nextUpdate = new Date(Date.now() + flags.crlDays * 24 * 60 * 60 * 1000).toISOString().slice(0, 10);
  io.stdout(
    `wrote ${crlFile}: CRL number ${crlNumber}, ${state.revoked.length} revoked certificate(s), next update ${nextUpdate}\n` +
      `  renew it before then: parapet cert crl --crl ${crlFile}${flags.caDir === undefined ? '' : ` --ca-dir ${caDirOf(flags)}`}\n` +
      '  the broker applies it to new handshakes and closes connections of revoked certificates once tls.crlFile names it\n',
  );
}

function certificateToRevoke(file: string, ca: X509Certificate): { serialNumber: string; subject: string } {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(readFileSync(file));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`${file}: ${code === undefined ? 'not a PEM certificate' : `cannot read it (${code})`}`);
  }
  // A CRL only counts for the CA that signed it: revoking another CA's certificate here would do nothing.
  if (!certificate.checkIssued(ca) || !certificate.verify(ca.publicKey)) {
    throw new UsageError(`${file} was not issued by the CA in this CA directory (${ca.subject.replace(/\n/g, ',')}): revoke it with the CA that issued it`);
  }
  return { serialNumber: normaliseSerial(certificate.serialNumber), subject: certificate.subject.replace(/\n/g, ',') };
}

function describe(certPem: string): string {
  const c = new X509Certificate(certPem);
  return `${c.subject.replace(/\n/g, ',')} (serial ${normaliseSerial(c.serialNumber)}, valid until ${new Date(c.validTo).toISOString().slice(0, 10)})`;
}

/** Writes a new certificate and key; never replaces existing files (they may be in use). */
function writeNewPair(outDir: string, name: string, issued: CertificateAndKey): { certFile: string; keyFile: string } {
  mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const certFile = join(outDir, `${name}.crt`);
  const keyFile = join(outDir, `${name}.key`);
  for (const file of [certFile, keyFile]) {
    if (existsSync(file)) throw new UsageError(`${file} exists: delete it, or choose another --out-dir`);
  }
  writeNew(keyFile, issued.keyPem, 0o600);
  try {
    writeNew(certFile, issued.certPem, 0o644);
  } catch (err) {
    rmSync(keyFile, { force: true });
    throw err;
  }
  fsyncDirectory(outDir);
  return { certFile, keyFile };
}

function writeNew(path: string, text: string, mode: number): void {
  const temporary = `${path}.tmp-${process.pid}`;
  const fd = openSync(temporary, 'wx', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}

/** A certificate the library refuses to make (a bad DNS name, an empty CN) is a usage error. */
async function usage<T>(make: () => Promise<T>): Promise<T> {
  try {
    return await make();
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function usageSync<T>(make: () => T): T {
  try {
    return make();
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

/** Runs an action: a failure becomes one line on stderr and exit code 1 (2 for usage errors). */
function certAction<A extends unknown[]>(io: AdminIo, fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      const usageError = err instanceof UsageError;
      const known = usageError || err instanceof CaDirectoryError || isFileError(err);
      io.stderr(`parapet: ${known ? '' : 'unexpected error: '}${err instanceof Error ? err.message : String(err)}\n`);
      io.setExitCode(usageError ? 2 : 1);
    }
  };
}

function isFileError(err: unknown): boolean {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}
