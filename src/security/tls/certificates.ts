/**
 * Issues a small private PKI (a CA, server and client certificates) for tests, quickstarts and
 * `parapet` tooling. Every certificate is ECDSA P-256 signed with SHA-256, which OpenSSL (librdkafka,
 * confluent-kafka, kafka-python), Node and the JVM all accept at their default security levels.
 *
 * The server certificate's SANs are what clients check: librdkafka 2.x verifies the hostname by default
 * (`ssl.endpoint.identification.algorithm=https`) and, like every modern verifier, ignores the subject CN
 * for that, so `localhost`, `127.0.0.1` and `::1` must be SANs when clients connect through them.
 */
import { createPrivateKey, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API
// loaded first; ES modules evaluate imports in order.
import 'reflect-metadata';
import * as X509 from '@peculiar/x509';

/** A certificate and its private key, both PEM; the key is PKCS#8 (`BEGIN PRIVATE KEY`). */
export interface CertificateAndKey {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface CertificateAuthorityOptions {
  readonly commonName: string;
  readonly validityDays?: number;
}

export interface ServerCertificateOptions {
  readonly commonName: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly validityDays?: number;
}

export interface ClientCertificateOptions {
  readonly commonName: string;
  /** Subject `OU` values, most significant first (they print in reverse in an RFC 2253 string). */
  readonly organizationalUnits?: readonly string[];
  readonly organization?: string;
  readonly dnsNames?: readonly string[];
  readonly emails?: readonly string[];
  /** URI SANs, e.g. SPIFFE IDs (`spiffe://example.org/service/orders`). */
  readonly uris?: readonly string[];
  readonly validityDays?: number;
}

const DEFAULT_CA_VALIDITY_DAYS = 3650;
// The CA/Browser Forum ceiling for leaf certificates; short-lived leaves limit the damage of a leaked key.
const DEFAULT_LEAF_VALIDITY_DAYS = 397;
// Certificates become valid slightly in the past so a peer whose clock lags ours still accepts them.
const CLOCK_SKEW_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
/** How the CA signs certificates and revocation lists (revocation-list.ts signs the same way). */
export const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

// Passed explicitly to every @peculiar/x509 call rather than set as the library's global provider.
export const x509Crypto = webcrypto;
const crypto = x509Crypto;

export async function createCertificateAuthority(options: CertificateAuthorityOptions): Promise<CertificateAndKey> {
  requireName(options.commonName, 'commonName');
  const keys = await generateKeyPair();
  const name = distinguishedName([['CN', options.commonName]]);
  const certificate = await X509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerialNumber(),
      subject: name,
      issuer: name,
      ...validity(options.validityDays ?? DEFAULT_CA_VALIDITY_DAYS),
      publicKey: keys.publicKey,
      signingKey: keys.privateKey,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        // pathLen 0: the CA signs leaves only; a CA certificate it signed by mistake is still not trusted.
        new X509.BasicConstraintsExtension(true, 0, true),
        new X509.KeyUsagesExtension(X509.KeyUsageFlags.keyCertSign | X509.KeyUsageFlags.cRLSign, true),
        await X509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { certPem: certificate.toString('pem'), keyPem: await exportPrivateKey(keys.privateKey) };
}

export async function issueServerCertificate(ca: CertificateAndKey, options: ServerCertificateOptions): Promise<CertificateAndKey> {
  requireName(options.commonName, 'commonName');
  if (options.dnsNames.length === 0 && options.ipAddresses.length === 0) {
    throw new Error('a server certificate needs at least one DNS name or IP address: clients verify the hostname against its SANs');
  }
  const names: X509.JsonGeneralName[] = [
    ...options.dnsNames.map((value) => dnsName(value)),
    ...options.ipAddresses.map((value) => ipAddress(value)),
  ];
  return issueLeaf(ca, {
    subject: [['CN', options.commonName]],
    validityDays: options.validityDays ?? DEFAULT_LEAF_VALIDITY_DAYS,
    extendedKeyUsage: 'serverAuth',
    names,
  });
}

export async function issueClientCertificate(ca: CertificateAndKey, options: ClientCertificateOptions): Promise<CertificateAndKey> {
  requireName(options.commonName, 'commonName');
  // DER order is most significant first (O, then OU, then CN): the reverse of the RFC 2253 string.
  const subject: NameAttribute[] = [];
  if (options.organization !== undefined) subject.push(['O', requireName(options.organization, 'organization')]);
  for (const unit of options.organizationalUnits ?? []) subject.push(['OU', requireName(unit, 'organizationalUnits')]);
  subject.push(['CN', options.commonName]);
  const names: X509.JsonGeneralName[] = [
    ...(options.dnsNames ?? []).map((value) => dnsName(value)),
    ...(options.emails ?? []).map((value): X509.JsonGeneralName => ({ type: 'email', value: requireName(value, 'emails') })),
    ...(options.uris ?? []).map((value) => uri(value)),
  ];
  return issueLeaf(ca, {
    subject,
    validityDays: options.validityDays ?? DEFAULT_LEAF_VALIDITY_DAYS,
    extendedKeyUsage: 'clientAuth',
    names,
  });
}

/** One attribute of a subject name, each in its own RDN, in DER order (most significant first). */
type NameAttribute = readonly ['CN' | 'O' | 'OU', string];

function distinguishedName(attributes: readonly NameAttribute[]): X509.Name {
  // Values go in as explicit UTF8Strings: given plain strings, the library reads them as RFC 2253 text
  // (unescaping `\`, dropping quotes, treating a leading `#` as hex), which would mangle unusual names.
  return new X509.Name(attributes.map(([type, value]) => ({ [type]: [{ utf8String: value }] })));
}

interface LeafProfile {
  readonly subject: readonly NameAttribute[];
  readonly validityDays: number;
  readonly extendedKeyUsage: 'serverAuth' | 'clientAuth';
  readonly names: readonly X509.JsonGeneralName[];
}

async function issueLeaf(ca: CertificateAndKey, profile: LeafProfile): Promise<CertificateAndKey> {
  const caCertificate = new X509.X509Certificate(ca.certPem);
  const caKey = await importCaKey(ca.keyPem);
  const keys = await generateKeyPair();
  const extensions: X509.Extension[] = [
    new X509.BasicConstraintsExtension(false, undefined, true),
    // ECDSA leaves sign the handshake; they never encipher keys (that was RSA key transport).
    new X509.KeyUsagesExtension(X509.KeyUsageFlags.digitalSignature, true),
    new X509.ExtendedKeyUsageExtension([X509.ExtendedKeyUsage[profile.extendedKeyUsage]], false),
    await X509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
    await authorityKeyIdentifier(caCertificate),
  ];
  if (profile.names.length > 0) {
    extensions.push(new X509.SubjectAlternativeNameExtension([...profile.names], false));
  }
  const certificate = await X509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerialNumber(),
      subject: distinguishedName(profile.subject),
      // The CA's encoded name as is: chain building compares issuer and subject names, and re-encoding
      // (a different string type, say) is a classic source of "unable to get local issuer certificate".
      issuer: caCertificate.subjectName,
      ...validity(profile.validityDays),
      publicKey: keys.publicKey,
      signingKey: caKey,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions,
    },
    crypto,
  );
  return { certPem: certificate.toString('pem'), keyPem: await exportPrivateKey(keys.privateKey) };
}

export async function authorityKeyIdentifier(caCertificate: X509.X509Certificate): Promise<X509.AuthorityKeyIdentifierExtension> {
  // Reuse the CA's own identifier when it has one: a CA made elsewhere may compute it differently.
  const subjectKeyId = caCertificate.getExtension(X509.SubjectKeyIdentifierExtension)?.keyId;
  if (subjectKeyId !== undefined) return new X509.AuthorityKeyIdentifierExtension(subjectKeyId, false);
  return X509.AuthorityKeyIdentifierExtension.create(caCertificate.publicKey, false, crypto);
}

async function generateKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
}

async function exportPrivateKey(key: webcrypto.CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey('pkcs8', key);
  return X509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** The CA's private key as a WebCrypto signing key; throws unless it is ECDSA P-256. */
export async function importCaKey(keyPem: string): Promise<webcrypto.CryptoKey> {
  // Node's parser accepts PKCS#8 and SEC1 (`BEGIN EC PRIVATE KEY`) alike; WebCrypto wants PKCS#8 DER.
  const key = createPrivateKey(keyPem);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('the CA key must be an ECDSA P-256 key');
  }
  const der = key.export({ type: 'pkcs8', format: 'der' });
  return crypto.subtle.importKey('pkcs8', der, KEY_ALGORITHM, false, ['sign']);
}

/**
 * 16 random bytes (RFC 5280 allows 20 octets; CA/B asks for at least 64 random bits), with the top bit
 * cleared so the DER INTEGER is positive and the next bit set so the encoding never needs a leading zero
 * octet that some parsers reject as non-minimal.
 */
function randomSerialNumber(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return Buffer.from(bytes).toString('hex');
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  if (!Number.isInteger(days) || days < 1) throw new Error(`validityDays must be a positive integer, got ${days}`);
  const now = Date.now();
  return { notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(now + days * DAY_MS) };
}

function requireName(value: string, field: string): string {
  if (value.length === 0) throw new Error(`${field} must not be empty`);
  return value;
}

// Host name labels, with an optional leading wildcard label (RFC 6125 §6.4.3). Underscores are not valid
// in host names but do occur in machine names (`os.hostname()`, which `parapet init` uses), and OpenSSL
// matches them like any other character.
const DNS_LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
const DNS_NAME = new RegExp(`^(?:\\*\\.)?${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);

function dnsName(value: string): X509.JsonGeneralName {
  if (value.length > 253 || !DNS_NAME.test(value)) {
    throw new Error(`not a valid DNS name for a certificate: ${JSON.stringify(value)}`);
  }
  return { type: 'dns', value };
}

function ipAddress(value: string): X509.JsonGeneralName {
  if (isIP(value) === 0) throw new Error(`not an IP address: ${JSON.stringify(value)}`);
  return { type: 'ip', value };
}

function uri(value: string): X509.JsonGeneralName {
  if (!URL.canParse(value)) throw new Error(`not a valid URI: ${JSON.stringify(value)}`);
  return { type: 'url', value };
}
