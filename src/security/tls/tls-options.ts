/**
 * The TLS settings of every Parapet listener: TLS 1.2 and 1.3 only, forward-secret AEAD suites only,
 * and client certificates verified against the operator's CA, never against the public roots.
 */
import { X509Certificate, constants as cryptoConstants, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { checkCrlBundle } from './crl-bundle.js';

/**
 * Whether the listener asks for a client certificate: `requested` lets clients without one (or with one
 * that fails verification) connect, so SASL can authenticate them instead; `required` refuses them in
 * the handshake (mTLS).
 */
export type ClientAuth = 'none' | 'requested' | 'required';

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** The CA bundle client certificates are verified against (clientAuth `requested` or `required`). */
  readonly caFile?: string;
  /** CRLs (PEM) of the CAs in `caFile`: a client certificate they list is refused in the handshake. */
  readonly crlFile?: string;
}

/**
 * TLS 1.2 suites: ECDHE key exchange (forward secrecy) with AES-GCM or ChaCha20-Poly1305 (AEAD), for
 * ECDSA and RSA server keys. Node's default list also offers CBC suites (`ECDHE-RSA-AES128-SHA256`…),
 * which TLS scanners flag (Lucky13-style padding oracles); every Kafka client supports these instead.
 */
export const TLS12_CIPHER_SUITES = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
] as const;

/** TLS 1.3 suites (RFC 8446 §9.1): all AEAD, all forward secret. Listed so the set can't drift with Node. */
export const TLS13_CIPHER_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'] as const;

/** The `ciphers` string Node takes: TLS 1.3 suite names (`TLS_…`) and TLS 1.2 names in one list. */
export const TLS_CIPHERS: string = [...TLS13_CIPHER_SUITES, ...TLS12_CIPHER_SUITES].join(':');

export const TLS_MIN_VERSION = 'TLSv1.2' satisfies tls.SecureVersion;

/**
 * Reads the certificate, key, CA and CRL files and returns the listener's options. Throws an Error
 * naming the file when one is missing, unparseable, the key does not belong to the certificate, or a
 * CRL would lock clients out (crl-bundle.ts); the message never contains file contents. `now`
 * (milliseconds since the epoch) is when CRLs must be valid.
 */
export function buildTlsServerOptions(files: TlsFiles, clientAuth: ClientAuth, now: number = Date.now()): tls.TlsOptions {
  const cert = readPem(files.certFile, 'certificate');
  const key = readPem(files.keyFile, 'private key');
  checkCertificateAndKey(files, cert, key);

  const options: tls.TlsOptions = {
    cert,
    key,
    minVersion: TLS_MIN_VERSION,
    ciphers: TLS_CIPHERS,
    honorCipherOrder: true,
    // TLS 1.2 renegotiation lets a client make the server redo the expensive half of a handshake at will
    // (a CPU exhaustion vector); no Kafka client renegotiates.
    secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION,
    requestCert: false,
  };
  if (clientAuth === 'none') return options;

  // Without `ca`, OpenSSL would verify client certificates against Node's bundled public roots, so any
  // certificate bought from a public CA would count as verified and be mapped to a principal. Hence the
  // CA file is needed for `requested` as well as `required`.
  if (files.caFile === undefined) {
    throw new Error(`clientAuth '${clientAuth}' needs a caFile: the CA that issues client certificates`);
  }
  const ca = readPem(files.caFile, 'CA certificate');
  const caBlocks = checkCaBundle(files.caFile, ca);
  const withCa = { ...options, ca, requestCert: true, rejectUnauthorized: clientAuth === 'required' };
  if (files.crlFile === undefined) return withCa;
  const crl = readPem(files.crlFile, 'CRL');
  checkCrlBundle(files.crlFile, crl, caBlocks, now);
  return { ...withCa, crl };
}

export type PeerCertificateStatus =
  | { readonly kind: 'none' }
  | { readonly kind: 'verified'; readonly certificate: tls.PeerCertificate }
  | { readonly kind: 'rejected'; readonly reason: string };

/**
 * What the client proved with its certificate, once the handshake is done. `rejected` (presented but
 * not verified: another CA, expired, wrong key usage…) is told apart from `none` so that `requested`
 * mode can log and audit a failed mTLS attempt rather than treat it as a client that never tried.
 */
export function peerCertificateStatus(socket: tls.TLSSocket): PeerCertificateStatus {
  const certificate = socket.getPeerCertificate();
  // Node answers an empty object, not null, when the peer sent no certificate.
  if (Object.keys(certificate).length === 0) return { kind: 'none' };
  if (socket.authorized) return { kind: 'verified', certificate };
  return { kind: 'rejected', reason: authorizationErrorOf(socket) };
}

function authorizationErrorOf(socket: tls.TLSSocket): string {
  // Typed as an Error, but Node sets the OpenSSL verify code as a string (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`).
  const error: unknown = socket.authorizationError;
  if (typeof error === 'string' && error.length > 0) return error;
  if (error instanceof Error) return error.message;
  return 'certificate not verified';
}

function readPem(file: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new Error(`cannot read the TLS ${what} file ${file}: ${code}`);
  }
  if (text.trim().length === 0) throw new Error(`the TLS ${what} file ${file} is empty`);
  return text;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

function certificateBlocks(file: string, pem: string, what: string): string[] {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  // A bundle cut short mid-write still parses up to its last whole block: count the openings so a
  // truncated trailing certificate is an error rather than a silently smaller trust store.
  const opened = pem.split('-----BEGIN ').length - 1;
  if (blocks.length === 0 || blocks.length !== opened) throw new Error(`the TLS ${what} file ${file} does not hold complete PEM certificates`);
  return blocks;
}

function certificatesIn(file: string, pem: string, what: string): X509Certificate[] {
  return certificateBlocks(file, pem, what).map((block) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new Error(`the TLS ${what} file ${file} holds a certificate that cannot be parsed`);
    }
  });
}

function checkCertificateAndKey(files: TlsFiles, cert: string, key: string): void {
  const [leaf] = certificatesIn(files.certFile, cert, 'certificate');
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    // The parser's message is dropped on purpose: it is not needed to act, and keys are secrets.
    throw new Error(`the TLS private key file ${files.keyFile} holds no readable private key (encrypted keys are not supported)`);
  }
  if (leaf === undefined || !leaf.checkPrivateKey(privateKey)) {
    throw new Error(`the TLS private key in ${files.keyFile} does not belong to the certificate in ${files.certFile}`);
  }
  // OpenSSL's own checks (key usage for the suites, chain order) as a listener would apply them.
  try {
    tls.createSecureContext({ cert, key, minVersion: TLS_MIN_VERSION, ciphers: TLS_CIPHERS });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new Error(`the TLS certificate ${files.certFile} and key ${files.keyFile} are not usable together: ${code}`);
  }
}

/** The bundle's PEM blocks, each a parseable certificate. */
function checkCaBundle(file: string, pem: string): string[] {
  // Node takes a CA bundle it can't parse without a word, leaving an empty trust store: refuse it here.
  certificatesIn(file, pem, 'CA certificate');
  return certificateBlocks(file, pem, 'CA certificate');
}
