/**
 * Checks the certificate revocation lists of `tls.crlFile` before the listener uses them. Node hands
 * CRLs to OpenSSL with CRL checking for the whole chain (X509_V_FLAG_CRL_CHECK | CRL_CHECK_ALL), and
 * OpenSSL then fails closed: a client certificate whose CA has no CRL in the file is refused
 * (UNABLE_TO_GET_CRL), and so is every certificate of a CA whose CRL is past its nextUpdate
 * (CRL_HAS_EXPIRED) or carries a bad signature (CRL_SIGNATURE_FAILURE). Those mistakes lock out every
 * mTLS client at once, and OpenSSL reports them only per handshake; they are refused here instead,
 * when the file is loaded, with the CA and the file named.
 */
import { constants, verify, X509Certificate, type KeyObject } from 'node:crypto';
// @peculiar/x509 needs the Reflect metadata API loaded first (see certificates.ts).
import 'reflect-metadata';
import * as X509 from '@peculiar/x509';

export interface CrlSummary {
  /** The issuing CA's subject. */
  readonly issuer: string;
  readonly crlNumber: string | undefined;
  readonly thisUpdate: string;
  readonly nextUpdate: string | undefined;
  readonly revoked: number;
}

/** A CRL may be this far ahead of our clock (the skew certificates.ts allows too). */
const CLOCK_SKEW_MS = 5 * 60 * 1000;
const PEM_CRL = /-----BEGIN X509 CRL-----[^-]+-----END X509 CRL-----/g;
const CRL_NUMBER_OID = '2.5.29.20';
const DELTA_CRL_INDICATOR_OID = '2.5.29.27';

interface CaCertificate {
  readonly subject: string;
  readonly publicKey: KeyObject;
  readonly mayCrlSign: boolean;
}

/**
 * Checks the CRLs in `pem` (the text of `file`) against the CA certificates `caPems` (PEM blocks of
 * `tls.caFile`) at `now`: complete PEM blocks; each a full CRL signed by one of the CAs, valid now;
 * at most one per CA, and one for every CA. Throws an Error naming the file and the CA; the message
 * never holds file contents beyond names and dates.
 */
export function checkCrlBundle(file: string, pem: string, caPems: readonly string[], now: number): CrlSummary[] {
  const blocks = pem.match(PEM_CRL) ?? [];
  const opened = pem.split('-----BEGIN ').length - 1;
  // A file cut short mid-write must not pass as one CRL fewer (see certificatesIn in tls-options.ts).
  if (blocks.length === 0 || blocks.length !== opened) throw new Error(`the TLS CRL file ${file} does not hold complete PEM CRLs (BEGIN X509 CRL)`);
  const cas = caPems.map((block) => caCertificate(block));
  const covered = new Set<number>();
  const summaries = blocks.map((block, index) => {
    const where = `the CRL #${index + 1} in ${file}`;
    let crl: X509.X509Crl;
    try {
      crl = new X509.X509Crl(block);
    } catch {
      throw new Error(`${where} cannot be parsed`);
    }
    if (crl.getExtension(DELTA_CRL_INDICATOR_OID) !== null) throw new Error(`${where} is a delta CRL: give complete CRLs`);
    const issuerIndex = cas.findIndex((ca) => ca.subject === crl.issuer && signedBy(crl, ca.publicKey));
    const issuer = cas[issuerIndex];
    if (issuer === undefined) {
      throw new Error(`${where} (issuer ${crl.issuer}) is not signed by a CA of tls.caFile: a CRL counts only from the CA that issued the certificates`);
    }
    if (!issuer.mayCrlSign) throw new Error(`${where}: its CA ${issuer.subject} may not sign CRLs (its key usage lacks cRLSign), so OpenSSL would ignore it`);
    if (covered.has(issuerIndex)) throw new Error(`${file} holds two CRLs from ${issuer.subject}: keep only the newest`);
    covered.add(issuerIndex);
    if (crl.thisUpdate.getTime() > now + CLOCK_SKEW_MS) throw new Error(`${where} (from ${issuer.subject}) is not valid before ${crl.thisUpdate.toISOString()}: check the clocks`);
    const nextUpdate = crl.nextUpdate;
    if (nextUpdate !== undefined && nextUpdate.getTime() < now) {
      throw new Error(`${where} (from ${issuer.subject}) expired on ${nextUpdate.toISOString()}: issue a new one (every certificate of its CA would be refused)`);
    }
    return {
      issuer: issuer.subject,
      crlNumber: crlNumberOf(crl),
      thisUpdate: crl.thisUpdate.toISOString(),
      nextUpdate: nextUpdate?.toISOString(),
      revoked: crl.entries.length,
    };
  });
  const missing = cas.filter((_, index) => !covered.has(index));
  if (missing.length > 0) {
    throw new Error(
      `${file} holds no CRL from ${missing.map((ca) => ca.subject).join(', ')} (in tls.caFile): with a CRL file, OpenSSL refuses every ` +
        'client certificate of a CA without one (UNABLE_TO_GET_CRL); add its CRL, or remove the CA from tls.caFile',
    );
  }
  return summaries;
}

/** What CRLs already checked say (issuer, number, dates, how many revoked), for the log. */
export function summariseCrls(pem: string): CrlSummary[] {
  return (pem.match(PEM_CRL) ?? []).map((block) => {
    const crl = new X509.X509Crl(block);
    return {
      issuer: crl.issuer,
      crlNumber: crlNumberOf(crl),
      thisUpdate: crl.thisUpdate.toISOString(),
      nextUpdate: crl.nextUpdate?.toISOString(),
      revoked: crl.entries.length,
    };
  });
}

/**
 * A test of whether CRLs already checked revoke a certificate (DER): its issuer's list names its
 * serial number. For the connections that were open when the list changed.
 */
export function revocationTest(pem: string): (certificateDer: Uint8Array) => boolean {
  const revoked = new Map<string, Set<string>>();
  for (const block of pem.match(PEM_CRL) ?? []) {
    const crl = new X509.X509Crl(block);
    const serials = revoked.get(crl.issuer) ?? new Set<string>();
    // The library spells serial numbers of certificates and CRL entries alike (no DER padding octet).
    for (const entry of crl.entries) serials.add(entry.serialNumber.toUpperCase());
    revoked.set(crl.issuer, serials);
  }
  return (der) => {
    const certificate = new X509.X509Certificate(der);
    return revoked.get(certificate.issuer)?.has(certificate.serialNumber.toUpperCase()) ?? false;
  };
}

function caCertificate(pem: string): CaCertificate {
  const parsed = new X509.X509Certificate(pem);
  const usage = parsed.getExtension(X509.KeyUsagesExtension);
  return {
    subject: parsed.subject,
    publicKey: new X509Certificate(pem).publicKey,
    mayCrlSign: usage === null || (usage.usages & X509.KeyUsageFlags.cRLSign) !== 0,
  };
}

function crlNumberOf(crl: X509.X509Crl): string | undefined {
  const extension = crl.getExtension(CRL_NUMBER_OID);
  if (extension === null) return undefined;
  const value = new Uint8Array(extension.value);
  // An INTEGER: tag 0x02, a short length, the octets.
  if (value[0] !== 0x02 || value.length < 3 || value[1] !== value.length - 2) return undefined;
  return BigInt(`0x${Buffer.from(value.subarray(2)).toString('hex')}`).toString();
}

/**
 * Whether the CRL's signature verifies with `key`. Done with node:crypto over the DER, synchronously,
 * because the listener's TLS options are built synchronously (and reloaded from a timer).
 */
function signedBy(crl: X509.X509Crl, key: KeyObject): boolean {
  let parts: { tbs: Uint8Array; signature: Uint8Array };
  try {
    parts = certificateListParts(new Uint8Array(crl.rawData));
  } catch {
    return false;
  }
  const algorithm = crl.signatureAlgorithm as { name?: string; hash?: { name?: string } | string; saltLength?: number };
  const hashName = typeof algorithm.hash === 'string' ? algorithm.hash : algorithm.hash?.name;
  const hash = hashName?.toLowerCase().replace('-', '') ?? null;
  try {
    switch (algorithm.name) {
      case 'ECDSA':
        return verify(hash, parts.tbs, { key, dsaEncoding: 'der' }, parts.signature);
      case 'RSASSA-PKCS1-v1_5':
        return verify(hash, parts.tbs, key, parts.signature);
      case 'RSA-PSS':
        return verify(hash, parts.tbs, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: algorithm.saltLength ?? constants.RSA_PSS_SALTLEN_AUTO }, parts.signature);
      case 'Ed25519':
      case 'Ed448':
      case 'EdDSA':
        return verify(null, parts.tbs, key, parts.signature);
      default:
        return false;
    }
  } catch {
    // A key of another type than the signature's (an RSA CA, an ECDSA signature): not this CA.
    return false;
  }
}

/** `CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }` (RFC 5280 §5.1). */
function certificateListParts(der: Uint8Array): { tbs: Uint8Array; signature: Uint8Array } {
  const outer = readTlv(der, 0, 0x30);
  const tbs = readTlv(der, outer.contentStart, 0x30);
  const algorithm = readTlv(der, tbs.end, 0x30);
  const signature = readTlv(der, algorithm.end, 0x03);
  if (signature.end !== outer.end || der[signature.contentStart] !== 0) throw new Error('malformed CertificateList');
  return { tbs: der.subarray(tbs.start, tbs.end), signature: der.subarray(signature.contentStart + 1, signature.end) };
}

interface Tlv {
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

function readTlv(der: Uint8Array, at: number, tag: number): Tlv {
  if (der[at] !== tag || at + 2 > der.length) throw new Error('unexpected DER tag');
  let length = der[at + 1] ?? 0;
  let header = 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4 || at + 2 + octets > der.length) throw new Error('unsupported DER length');
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + (der[at + 2 + i] ?? 0);
    header += octets;
  }
  const end = at + header + length;
  if (end > der.length) throw new Error('truncated DER');
  return { start: at, contentStart: at + header, end };
}
