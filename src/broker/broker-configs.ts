import type { AdmissionPolicy } from '../server/admission/admission-policy.js';
import { productVersion } from '../version.js';
import type { BrokerConfig } from './broker.js';
import { settingsInForce } from './settings-in-force.js';

/** One broker config as DescribeConfigs shows it: read-only (the config file sets it), never sensitive. */
export interface BrokerConfigEntry {
  readonly name: string;
  readonly value: string;
}

/**
 * The broker's security settings as DescribeConfigs answers for resource BROKER, so that `parapet
 * posture` (and Kafka's own tools) can review a running broker through the protocol: Kafka's names
 * where Kafka has the setting, `parapet.*` for Parapet's own. Secrets and their references are never
 * among them. Kafka requires DESCRIBE_CONFIGS on the cluster to read them; so does Parapet.
 */
/** `bound`: where the listener really listens (a port 0 in the config is chosen at the start). */
/** `lastBackup`: the newest completed backup of the data directory (docs/operations/backup-and-recovery.md), if any. */
export function brokerConfigEntries(
  config: BrokerConfig,
  admission: AdmissionPolicy | undefined,
  bound: { host: string; port: number },
  lastBackup?: { readonly takenAtMs: number; readonly target: string },
): BrokerConfigEntry[] {
  const { listener, security, audit, quotas, encryptionAtRest } = config;
  const { insecure } = settingsInForce(config);
  const entries: Record<string, string | number | boolean> = {
    listeners: `${listener.protocol}://${bound.host}:${bound.port}`,
    'sasl.enabled.mechanisms': security.sasl.mechanisms.join(','),
    'ssl.client.auth': security.tls.clientAuth,
    'super.users': security.superUsers.join(';'),
    // Parapet's authorizer is always on and denies what no ACL allows.
    'authorizer.class.name': 'parapet.acl.Authorizer',
    'allow.everyone.if.no.acl.found': false,
    'auto.create.topics.enable': config.autoCreateTopics,
    'connections.max.idle.ms': config.connectionsMaxIdleMs,
    'connections.max.reauth.ms': config.connectionsMaxReauthMs,
    ...(admission === undefined
      ? {}
      : {
          'max.connections': admission.maxConnections,
          'max.connections.per.ip': admission.maxConnectionsPerIp,
          'max.connection.creation.rate': admission.maxConnectionCreationRate,
        }),
    'parapet.version': productVersion(),
    'parapet.metadata.store': 'embedded',
    'parapet.insecure.settings': insecure.join(','),
    'parapet.encryption.at.rest.provider': encryptionAtRest.provider,
    'parapet.audit.enabled': audit.enabled,
    'parapet.audit.fail.open': audit.enabled && audit.allowInsecureFailOpen,
    'parapet.quotas.enabled': quotas.enabled,
    'parapet.sasl.login.guard.enabled': security.sasl.loginGuard.enabled,
    'parapet.authentication.timeout.ms': config.authenticationTimeoutMs,
    // What the newest complete backup restores to (its capture time), empty when none was taken.
    'parapet.backup.last.capture.time': lastBackup === undefined ? '' : new Date(lastBackup.takenAtMs).toISOString(),
    'parapet.backup.last.target': lastBackup?.target ?? '',
  };
  return Object.entries(entries).map(([name, value]) => ({ name, value: String(value) }));
}
