import { formatBrokerAddress } from '../../client/client-config.js';
import { finding, type Finding } from '../finding.js';
import type { ListenerObservation } from '../probes/listener-probe.js';
import { RULES } from '../rules.js';

export interface ListenerCheckOptions {
  readonly now: Date;
  /** A certificate expiring within this many days is reported (HIGH within 7). */
  readonly certWarnDays: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** What a listener shows a stranger, as findings (controls 1, 2, 3). */
export function listenerFindings(o: ListenerObservation, options: ListenerCheckOptions): Finding[] {
  const target = formatBrokerAddress(o.address);
  if (o.unreachable !== undefined) return [finding(RULES.unreachable, target, o.unreachable)];
  const out: Finding[] = [];
  const mechanisms: readonly string[] = o.sasl === 'none' || o.sasl === 'unknown' ? [] : o.sasl;
  if (o.tls === undefined) {
    out.push(finding(RULES.plaintextListener, target, 'ApiVersions answered over plain TCP (no TLS handshake)'));
    if (mechanisms.includes('PLAIN')) out.push(finding(RULES.plainWithoutTls, target, `SASL mechanisms offered without TLS: ${mechanisms.join(', ')}`));
  }
  if (o.anonymous.answered) {
    const { topics, brokers } = o.anonymous;
    out.push(finding(RULES.anonymousAccess, target, `Metadata answered without credentials${o.tls === undefined ? '' : ' (over TLS, no client certificate)'}: ${topics} topic(s), ${brokers.length} broker(s)`));
  }
  if (mechanisms.length > 0 && !mechanisms.some((m) => m.startsWith('SCRAM-'))) {
    out.push(finding(RULES.noScram, target, `SASL mechanisms offered: ${mechanisms.join(', ')}`));
  }
  const tls = o.tls;
  if (tls === undefined) return out;
  const old = (['TLSv1', 'TLSv1.1'] as const).filter((v) => tls.versions[v]);
  if (old.length > 0) out.push(finding(RULES.oldTls, target, `accepted: ${old.join(', ')}`));
  if (!tls.versions['TLSv1.3']) out.push(finding(RULES.noTls13, target, `accepted: ${Object.entries(tls.versions).filter(([, ok]) => ok).map(([v]) => v).join(', ') || 'none of TLS 1.0–1.3 alone'}`));
  if (tls.weakCiphers.length > 0) out.push(finding(RULES.weakCipher, target, `TLS 1.2 suites accepted: ${tls.weakCiphers.join(', ')}`));
  const cert = tls.certificate;
  const left = cert.validTo.getTime() - options.now.getTime();
  const validity = `subject ${cert.subject}, valid ${cert.validFrom.toISOString()} to ${cert.validTo.toISOString()}`;
  if (left <= 0 || cert.validFrom.getTime() > options.now.getTime()) {
    out.push(finding(RULES.certExpired, target, validity));
  } else if (left < options.certWarnDays * DAY_MS) {
    const days = Math.floor(left / DAY_MS);
    out.push(finding(RULES.certExpiring, target, `expires in ${days} day(s): ${validity}`, days < 7 ? 'HIGH' : 'MEDIUM'));
  }
  if (tls.hostnameError !== undefined) out.push(finding(RULES.hostnameMismatch, target, `${tls.hostnameError} (names: ${cert.altNames || 'none'})`));
  if (cert.selfSigned) out.push(finding(RULES.selfSigned, target, `subject = issuer = ${cert.subject}`));
  else if (tls.chain.trustedBy === 'nobody') out.push(finding(RULES.untrusted, target, `${tls.chain.error ?? 'not verified'} (issuer ${cert.issuer})`));
  else if (tls.chain.trustedBy === 'configured-ca') out.push(finding(RULES.privateCa, target, `issuer ${cert.issuer}`));
  return out;
}
