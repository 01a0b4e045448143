/**
 * A certificate authority run by the openssl command line, as an operator without Parapet's tooling
 * would run one (`openssl ca` with its index database): client certificates, revocations and CRLs made
 * by OpenSSL itself, to test that the broker reads what real PKI tooling writes.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function openssl(args: readonly string[], cwd?: string): Promise<string> {
  const { stdout, stderr } = await run('openssl', [...args], cwd === undefined ? {} : { cwd });
  return stdout + stderr;
}

export interface OpensslCa {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Issues a client certificate CN=`name` (EC P-256, clientAuth); returns its files. */
  issueClient(name: string): Promise<{ certFile: string; keyFile: string }>;
  /** Marks a certificate revoked in the CA's database. */
  revoke(certFile: string): Promise<void>;
  /** Writes a CRL of everything revoked so far; `lastUpdate`/`nextUpdate` as YYYYMMDDHHMMSSZ. */
  crl(file: string, options?: { lastUpdate?: string; nextUpdate?: string }): Promise<string>;
}

export interface OpensslCaOptions {
  /** The CA certificate's key usage (default `keyCertSign,cRLSign`). */
  readonly keyUsage?: string;
}

/** A CA in `dir/<name>` with subject CN=`commonName`. */
export async function createOpensslCa(dir: string, name: string, commonName: string, options: OpensslCaOptions = {}): Promise<OpensslCa> {
  const home = join(dir, name);
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, 'index.txt'), '');
  writeFileSync(join(home, 'crlnumber'), '1000\n');
  // `openssl ca -gencrl` needs a database and a default digest; the rest comes from the command lines.
  writeFileSync(join(home, 'ca.cnf'), ['[ca]', 'default_ca = this_ca', '[this_ca]', 'database = index.txt', 'crlnumber = crlnumber', 'default_md = sha256', 'default_crl_days = 30', ''].join('\n'));
  const certFile = join(home, 'ca.crt');
  const keyFile = join(home, 'ca.key');
  await openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile,
    '-subj', `/CN=${commonName}`, '-days', '30',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', `keyUsage=critical,${options.keyUsage ?? 'keyCertSign,cRLSign'}`,
  ]);
  const ca = ['ca', '-config', 'ca.cnf', '-keyfile', keyFile, '-cert', certFile];
  return {
    dir: home,
    certFile,
    keyFile,
    async issueClient(cn) {
      const key = join(home, `${cn}.key`);
      const cert = join(home, `${cn}.crt`);
      const csr = join(home, `${cn}.csr`);
      const ext = join(home, `${cn}.ext`);
      writeFileSync(ext, 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n');
      await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', `/CN=${cn}`, '-out', csr]);
      await openssl(['x509', '-req', '-in', csr, '-CA', certFile, '-CAkey', keyFile, '-CAcreateserial', '-days', '5', '-out', cert, '-extfile', ext]);
      return { certFile: cert, keyFile: key };
    },
    async revoke(cert) {
      await openssl([...ca, '-revoke', cert], home);
    },
    async crl(file, crlOptions = {}) {
      const dates = [
        ...(crlOptions.lastUpdate === undefined ? [] : ['-crl_lastupdate', crlOptions.lastUpdate]),
        ...(crlOptions.nextUpdate === undefined ? [] : ['-crl_nextupdate', crlOptions.nextUpdate]),
      ];
      await openssl([...ca, '-gencrl', ...dates, '-out', file], home);
      return readFileSync(file, 'utf8');
    },
  };
}

/** A time as `openssl ca -crl_lastupdate/-crl_nextupdate` takes it: YYYYMMDDHHMMSSZ. */
export function opensslTime(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}
