/**
 * Signs certificate revocation lists (RFC 5280 §5) with a CA from certificates.ts, for `parapet cert
 * revoke` and `parapet cert crl`. The broker reads them back through `tls.crlFile` (crl-bundle.ts).
 */
// @peculiar/x509 needs the Reflect metadata API loaded first (see certificates.ts).
import 'reflect-metadata';
import * as X509 from '@peculiar/x509';
import { authorityKeyIdentifier, importCaKey, SIGNING_ALGORITHM, x509Crypto, type CertificateAndKey } from './certificates.js';

/** The RFC 5280 §5.3.1 reason codes an operator picks from (the CA-hierarchy ones do not apply to leaves). */
export const REVOCATION_REASONS = ['unspecified', 'keyCompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'privilegeWithdrawn'] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

export interface RevokedEntry {
  /** The certificate's serial number, hexadecimal. */
  readonly serialNumber: string;
  readonly revokedAt: Date;
  readonly reason: RevocationReason;
}

export interface RevocationListOptions {
  /** RFC 5280 §5.2.3: increases with every list the CA issues, so a client can tell the newer one. */
  readonly crlNumber: number;
  readonly revoked: readonly RevokedEntry[];
  /** Days until `nextUpdate`: past it, OpenSSL refuses every certificate of the CA (CRL_HAS_EXPIRED). */
  readonly validityDays: number;
  /** Milliseconds since the epoch (tests). */
  readonly now?: number;
}

/** Tolerated clock difference: a list is valid from slightly in the past (as certificates are). */
const CLOCK_SKEW_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
const CRL_NUMBER_OID = '2.5.29.20';

/** A CRL signed by `ca`, in PEM (`BEGIN X509 CRL`), listing `revoked`. */
export async function createRevocationList(ca: CertificateAndKey, options: RevocationListOptions): Promise<string> {
  if (!Number.isSafeInteger(options.crlNumber) || options.crlNumber < 1) throw new Error(`crlNumber must be a positive integer, got ${options.crlNumber}`);
  if (!Number.isInteger(options.validityDays) || options.validityDays < 1) throw new Error(`validityDays must be a positive integer, got ${options.validityDays}`);
  const caCertificate = new X509.X509Certificate(ca.certPem);
  const now = options.now ?? Date.now();
  const crl = await X509.X509CrlGenerator.create(
    {
      // The CA's encoded name as is: OpenSSL finds a CRL by comparing it with the certificate's issuer.
      issuer: caCertificate.subjectName,
      thisUpdate: new Date(now - CLOCK_SKEW_MS),
      nextUpdate: new Date(now + options.validityDays * DAY_MS),
      signingKey: await importCaKey(ca.keyPem),
      signingAlgorithm: SIGNING_ALGORITHM,
      // RFC 5280 §5.2: conforming CRLs carry the authority key identifier and a CRL number.
      extensions: [await authorityKeyIdentifier(caCertificate), new X509.Extension(CRL_NUMBER_OID, false, derInteger(options.crlNumber))],
      entries: options.revoked.map((entry) => ({
        serialNumber: normaliseSerial(entry.serialNumber),
        revocationDate: entry.revokedAt,
        reason: X509.X509CrlReason[entry.reason],
      })),
    },
    x509Crypto,
  );
  // The library labels the block `BEGIN CRL`; OpenSSL reads only `BEGIN X509 CRL` (RFC 7468 §5).
  return `${X509.PemConverter.encode(crl.rawData, 'X509 CRL')}\n`;
}

/**
 * A serial number as one spelling: upper case hexadecimal without leading zero octets (Node prints a
 * serial with its DER padding octet, OpenSSL without).
 */
export function normaliseSerial(serial: string): string {
  const hex = serial.replace(/:/g, '').toUpperCase();
  if (!/^[0-9A-F]+$/.test(hex)) throw new Error(`not a hexadecimal serial number: ${JSON.stringify(serial)}`);
  const even = hex.length % 2 === 0 ? hex : `0${hex}`;
  return even.replace(/^(00)+(?=[0-9A-F]{2})/, '');
}

/** A non-negative integer as a DER INTEGER (tag, length, minimal big-endian octets). */
function derInteger(value: number): Uint8Array {
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  // A leading octet with its top bit set would read as negative: prefix a zero octet.
  if (/^[89a-f]/.test(hex)) hex = `00${hex}`;
  const content = Buffer.from(hex, 'hex');
  return Uint8Array.from([0x02, content.length, ...content]);
}
