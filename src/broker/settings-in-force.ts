import type { BrokerConfig } from './broker.js';
import { checkPosture } from '../security/config.js';
import { auditWarnings } from '../audit/audit-config.js';

/**
 * The security settings a broker starts with, for its start event in the audit trail: what an auditor
 * asks first ("was TLS on, who were the super users, was anything insecure allowed?"). Secrets are
 * never in a config (only references to them), and references are left out too.
 */
export function settingsInForce(config: BrokerConfig): { settings: object; insecure: string[] } {
  const { listener, security, encryptionAtRest, audit } = config;
  const posture = checkPosture(listener, security);
  return {
    settings: {
      listener: { host: listener.host, port: listener.port, protocol: listener.protocol },
      tls: { clientAuth: security.tls.clientAuth, crl: security.tls.crlFile !== undefined, principalMapping: security.tls.principalMapping.length },
      sasl: { mechanisms: [...security.sasl.mechanisms], oauthbearerIssuer: security.sasl.oauthbearer?.issuer ?? null },
      superUsers: [...security.superUsers],
      allowInsecurePlaintext: security.allowInsecurePlaintext,
      allowInsecureAnonymous: security.allowInsecureAnonymous,
      allowInsecureNonLoopback: security.allowInsecureNonLoopback,
      encryptionAtRest: { provider: encryptionAtRest.provider },
      audit: { failClosed: !audit.allowInsecureFailOpen },
      autoCreateTopics: config.autoCreateTopics,
      maxFrameBytes: config.maxFrameBytes,
    },
    insecure: [...posture.warnings, ...auditWarnings(audit)].map((w) => w.setting),
  };
}
