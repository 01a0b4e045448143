import { isIP } from 'node:net';
import { checkServerIdentity, connect, type ConnectionOptions, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import type { BrokerAddress } from '../../client/client-config.js';

/** What a listener's TLS looks like from outside: versions and suites it accepts, the certificate it shows. */
export interface TlsObservation {
  readonly versions: Readonly<Record<TlsVersion, boolean>>;
  /** Weak suites (no forward secrecy, or CBC with SHA-1/SHA-256 MACs) the listener agreed to, by OpenSSL name. */
  readonly weakCiphers: readonly string[];
  readonly certificate: {
    readonly subject: string;
    readonly issuer: string;
    readonly validFrom: Date;
    readonly validTo: Date;
    readonly selfSigned: boolean;
    readonly altNames: string;
  };
  /** Who vouches for the chain: the CA of the client config, the system's CAs, or nobody (and why). */
  readonly chain: { readonly trustedBy: 'configured-ca' | 'system' | 'nobody'; readonly error?: string };
  /** Why the certificate does not name the address scanned; absent when it does. */
  readonly hostnameError?: string;
}

export const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

/**
 * Suites a modern listener should refuse: RSA key exchange (no forward secrecy) and CBC modes. Offered
 * one set at a time with TLS 1.2 (TLS 1.3 has none of them); each one accepted is removed and the rest
 * offered again, so every weak suite the server takes is listed.
 */
const WEAK_SUITES = [
  'AES128-SHA', 'AES256-SHA', 'AES128-SHA256', 'AES256-SHA256', 'AES128-GCM-SHA256', 'AES256-GCM-SHA384',
  'ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES256-SHA', 'ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA',
  'ECDHE-RSA-AES128-SHA256', 'ECDHE-RSA-AES256-SHA384', 'ECDHE-ECDSA-AES128-SHA256', 'ECDHE-ECDSA-AES256-SHA384',
  'DES-CBC3-SHA',
];

/** OpenSSL 3 refuses TLS 1.0/1.1 and old suites at its default security level; a probe must be able to offer them. */
const ANY_SUITE = 'DEFAULT:@SECLEVEL=0';

type Handshake = { readonly ok: true; readonly socket: TLSSocket } | { readonly ok: false; readonly error: string };

function handshake(address: BrokerAddress, options: ConnectionOptions, timeoutMs: number): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = connect({ host: address.host, port: address.port, rejectUnauthorized: false, ...(isIP(address.host) === 0 ? { servername: address.host } : {}), ...options });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, error: `no handshake after ${timeoutMs} ms` });
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      resolve({ ok: true, socket });
    });
    socket.once('error', (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok: false, error: err.message });
    });
  });
}

/** The suite the server chose when it accepts a handshake with these options; undefined when it refuses. */
async function accepts(address: BrokerAddress, options: ConnectionOptions, timeoutMs: number): Promise<string | undefined> {
  const h = await handshake(address, options, timeoutMs);
  if (!h.ok) return undefined;
  const suite = h.socket.getCipher().name;
  h.socket.destroy();
  return suite;
}

/** Probes the listener's TLS; undefined when it does not complete a TLS handshake at all. */
export async function probeTls(address: BrokerAddress, ca: Buffer | undefined, timeoutMs: number): Promise<TlsObservation | undefined> {
  // Anything the server may speak, so that a listener stuck on TLS 1.0 is still seen (and reported).
  const main = await handshake(address, { minVersion: 'TLSv1', ciphers: ANY_SUITE, ...(ca === undefined ? {} : { ca }) }, timeoutMs);
  if (!main.ok) return undefined;
  const cert = main.socket.getPeerCertificate(true);
  const authorized = main.socket.authorized;
  const error = main.socket.authorizationError;
  main.socket.destroy();
  const certificate = describe(cert);
  const hostnameError = checkServerIdentity(address.host, cert)?.message;
  let chain: TlsObservation['chain'] = { trustedBy: 'nobody', error: error instanceof Error ? error.message : String(error) };
  if (authorized) {
    chain = { trustedBy: ca === undefined ? 'system' : 'configured-ca' };
    if (ca !== undefined) {
      const system = await handshake(address, { minVersion: 'TLSv1.2' }, timeoutMs);
      if (system.ok) {
        if (system.socket.authorized) chain = { trustedBy: 'system' };
        system.socket.destroy();
      }
    }
  }
  const versions = {} as Record<TlsVersion, boolean>;
  for (const v of TLS_VERSIONS) versions[v] = (await accepts(address, { minVersion: v, maxVersion: v, ciphers: ANY_SUITE }, timeoutMs)) !== undefined;
  const weakCiphers: string[] = [];
  let offered = [...WEAK_SUITES];
  while (offered.length > 0 && versions['TLSv1.2']) {
    const name = await accepts(address, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: `${offered.join(':')}:@SECLEVEL=0` }, timeoutMs);
    if (name === undefined || !offered.includes(name)) break;
    weakCiphers.push(name);
    offered = offered.filter((c) => c !== name);
  }
  return {
    versions,
    weakCiphers,
    certificate,
    chain,
    ...(hostnameError === undefined ? {} : { hostnameError }),
  };
}

function describe(cert: DetailedPeerCertificate): TlsObservation['certificate'] {
  const name = (n: Record<string, string | string[] | undefined> | undefined) =>
    Object.entries(n ?? {})
      .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
      .join(', ');
  // A self-signed certificate is its own issuer: Node links it to itself. The issuer is absent at run
  // time when the server sent no chain, whatever the type says.
  const issuer = cert.issuerCertificate as DetailedPeerCertificate | undefined;
  const selfSigned = issuer !== undefined && (issuer === cert || (issuer.fingerprint256 === cert.fingerprint256 && name(cert.subject) === name(cert.issuer)));
  return { subject: name(cert.subject), issuer: name(cert.issuer), validFrom: new Date(cert.valid_from), validTo: new Date(cert.valid_to), selfSigned, altNames: cert.subjectaltname ?? '' };
}
