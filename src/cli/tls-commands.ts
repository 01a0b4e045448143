import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { tlsFilesOf } from '../broker/security-setup.js';
import { CaDirectoryError, defaultCaDir, readCertificateAuthority, writeFileAtomically } from '../security/tls/ca-directory.js';
import { issueServerCertificate } from '../security/tls/certificates.js';
import { normaliseSerial } from '../security/tls/revocation-list.js';
import { action, configureGroup, DEFAULT_DATA_DIR, integer, processIo, UsageError, type AdminIo } from './admin/common.js';
import { ClientError } from '../client/errors.js';
import { dataDirConfig } from './data-dir-config.js';

/**
 * `parapet tls rotate`: a new server key and certificate, for a leaked server key or a routine
 * renewal. The new certificate has the subject and the names (SANs) of the one in use, so clients that
 * verified the old one verify the new one; it is signed by the CA `parapet init` made (whose key is
 * outside the data directory: src/security/tls/ca-directory.ts). Both files are replaced atomically,
 * owner-only, where the broker reads them: it reloads them within tls.reloadIntervalMs (or at once on
 * SIGHUP), audits the reload (certificate-reloaded, with the new serial), and keeps the connections
 * already open. Works offline; the broker never reads the CA key.
 */
export function registerTlsCommands(program: Command, io: AdminIo = processIo()): void {
  const tls = configureGroup(program.command('tls').description("the broker's TLS certificate: rotate it (reads the CA's private key)"), io);
  tls
    .command('rotate')
    .description('replace the server key and certificate with new ones (same names, same CA); the running broker reloads them')
    .option('--data-dir <dir>', 'the data directory (its config names the certificate files)', DEFAULT_DATA_DIR)
    .option('--ca-dir <dir>', 'the CA directory `parapet init` wrote (default <data-dir>-ca)')
    .option('--days <n>', 'validity in days (default 397)', integer('--days', 1, 3650))
    .action(
      action(io, async (flags: { dataDir: string; caDir?: string; days?: number }) => {
        const config = dataDirConfig(flags.dataDir);
        const { certFile, keyFile } = tlsFilesOf(config.security, config.dataDir);
        const current = readCertificate(certFile);
        const caDir = resolve(flags.caDir ?? defaultCaDir(flags.dataDir));
        const ca = caOf(caDir);
        const caCertificate = new X509Certificate(ca.certPem);
        if (!current.checkIssued(caCertificate) || !current.verify(caCertificate.publicKey)) {
          throw new ClientError(
            `${certFile} was not issued by the CA in ${caDir} (${oneLine(caCertificate.subject)}): rotate it with the CA that issued it, or issue one here with \`parapet cert server\``,
          );
        }
        const names = namesOf(current);
        const issued = await issueServerCertificate(ca, { commonName: names.commonName, dnsNames: names.dns, ipAddresses: names.ip, ...(flags.days === undefined ? {} : { validityDays: flags.days }) });
        const next = new X509Certificate(issued.certPem);
        // The key first: the pair is checked at each reload, so a reload between the two renames keeps the old pair.
        writeFileAtomically(keyFile, issued.keyPem, 0o600);
        writeFileAtomically(certFile, issued.certPem, 0o600);
        const oldSerial = normaliseSerial(current.serialNumber);
        io.stdout(
          [
            `rotated the server certificate of ${oneLine(current.subject)}`,
            `  names:       ${[...names.dns.map((d) => `DNS:${d}`), ...names.ip.map((i) => `IP:${i}`)].join(', ')}`,
            `  old serial:  ${oldSerial}`,
            `  new serial:  ${normaliseSerial(next.serialNumber)} (valid until ${new Date(next.validTo).toISOString().slice(0, 10)})`,
            `  certificate: ${certFile} (0600)`,
            `  key:         ${keyFile} (0600, a new key)`,
            `the running broker loads them within ${config.security.tls.reloadIntervalMs} ms (or at once on SIGHUP); open connections are kept`,
            `if the old key leaked, also revoke the old certificate for clients that check a CRL: parapet cert revoke --serial ${oldSerial} --reason keyCompromise`,
            '',
          ].join('\n'),
        );
      }),
    );
}

function readCertificate(file: string): X509Certificate {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (err) {
    throw new ClientError(`cannot read the server certificate ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}): is this the data directory? (--data-dir)`);
  }
  try {
    return new X509Certificate(pem);
  } catch {
    throw new ClientError(`${file} is not a PEM certificate`);
  }
}

function caOf(caDir: string): ReturnType<typeof readCertificateAuthority> {
  try {
    return readCertificateAuthority(caDir);
  } catch (err) {
    if (err instanceof CaDirectoryError) throw new ClientError(err.message);
    throw err;
  }
}

/** The subject CN and the DNS and IP names of a certificate, as the new one must have them. */
export function namesOf(certificate: X509Certificate): { commonName: string; dns: string[]; ip: string[] } {
  const commonName = /^CN=(.*)$/m.exec(certificate.subject)?.[1];
  if (commonName === undefined || commonName === '') throw new UsageError(`the current certificate has no subject CN (${oneLine(certificate.subject)}): issue one with \`parapet cert server\``);
  const dns: string[] = [];
  const ip: string[] = [];
  // Node's text form: `DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1`.
  for (const entry of (certificate.subjectAltName ?? '').split(', ')) {
    if (entry.startsWith('DNS:')) dns.push(entry.slice(4));
    else if (entry.startsWith('IP Address:')) {
      const address = entry.slice('IP Address:'.length);
      if (isIP(address) === 0) throw new UsageError(`cannot read the IP name ${JSON.stringify(address)} of the current certificate`);
      ip.push(address);
    }
  }
  if (dns.length === 0 && ip.length === 0) throw new UsageError('the current certificate has no DNS or IP names: issue one with `parapet cert server --dns … --ip …`');
  return { commonName, dns, ip };
}

function oneLine(subject: string): string {
  return subject.replace(/\n/g, ',');
}
