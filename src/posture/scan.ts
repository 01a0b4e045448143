import { readFileSync } from 'node:fs';
import { AdminClient, type AclBinding, type ScramUserDescription } from '../client/admin.js';
import { formatBrokerAddress, type BrokerAddress, type ClientConfig } from '../client/client-config.js';
import { describeError, KafkaError } from '../client/errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { accessFindings } from './checks/access-checks.js';
import { configFindings } from './checks/config-checks.js';
import { credentialUseFindings, type LoginEvidence } from './checks/credential-checks.js';
import { listenerFindings } from './checks/listener-checks.js';
import { finding, type ControlId, type Finding } from './finding.js';
import { probeListener } from './probes/listener-probe.js';
import { RULES } from './rules.js';
import { scoreControls, type ControlScore } from './score.js';

export interface PostureOptions {
  /** How to reach and log in to the cluster (the admin's client config by default). */
  readonly config: ClientConfig;
  readonly now?: Date;
  /** A server certificate expiring within this many days is reported. */
  readonly certWarnDays?: number;
  /** SCRAM credentials with fewer iterations are reported (RFC 7677's minimum: 4096). */
  readonly minIterations?: number;
  /** Per probe and request. */
  readonly timeoutMs?: number;
  /** Brokers probed at most (a large cluster is sampled: the first ones Metadata lists). */
  readonly maxBrokers?: number;
  /**
   * Reads a Parapet broker's logins and credential set times (its admin endpoint's GET /v1/logins);
   * called only when the cluster is Parapet. Throws, with the reason, when it cannot: the login review
   * is then reported as not run.
   */
  readonly logins?: () => Promise<LoginEvidence>;
  /** A user whose last login is older than this many days is reported as dormant. */
  readonly unusedDays?: number;
  /** A password set longer ago than this many days is reported. */
  readonly passwordMaxAgeDays?: number;
  /** Parapet: a newest complete backup older than this many hours is reported. */
  readonly backupMaxAgeHours?: number;
}

export interface PostureReport {
  readonly scannedAt: string;
  readonly bootstrap: string;
  /** What answered: `Parapet 0.1.0`, or `Kafka protocol` when the broker does not say. */
  readonly product: string;
  readonly brokers: readonly string[];
  readonly findings: readonly Finding[];
  readonly controls: readonly ControlScore[];
}

const DEFAULTS = { certWarnDays: 30, minIterations: 4096, timeoutMs: 5000, maxBrokers: 20, unusedDays: 90, passwordMaxAgeDays: 365, backupMaxAgeHours: 26 } as const;

/**
 * Scans a cluster through the Kafka protocol: what each listener shows a stranger (TLS, SASL offer,
 * anonymous Metadata), then, logged in with the client config, its ACLs, SCRAM credentials and broker
 * configs. Works against any Kafka-protocol cluster; Parapet adds its own settings as `parapet.*`
 * broker configs. Nothing is changed on the cluster.
 */
export async function scanPosture(options: PostureOptions): Promise<PostureReport> {
  const o = { ...DEFAULTS, ...options };
  const now = options.now ?? new Date();
  const ca = o.config.tls.caLocation === undefined ? undefined : readFileSync(o.config.tls.caLocation);
  const findings: Finding[] = [];
  const assessed = new Set<ControlId>([1, 2, 3]);
  const probed = new Set<string>();
  const plaintextPorts = new Set<number>();
  const probe = async (address: BrokerAddress) => {
    const key = formatBrokerAddress(address);
    if (probed.has(key) || probed.size >= o.maxBrokers) return;
    probed.add(key);
    const observation = await probeListener(address, ca, o.timeoutMs);
    if (observation.unreachable === undefined && observation.tls === undefined) plaintextPorts.add(address.port);
    findings.push(...listenerFindings(observation, { now, certWarnDays: o.certWarnDays }));
  };
  for (const address of o.config.bootstrapServers) await probe(address);

  const bootstrap = o.config.bootstrapServers.map(formatBrokerAddress).join(',');
  let product = 'Kafka protocol';
  let admin: AdminClient | undefined;
  try {
    admin = await AdminClient.connect(o.config, { connectTimeoutMs: o.timeoutMs, requestTimeoutMs: o.timeoutMs * 2, clientId: 'parapet-posture' });
  } catch (err) {
    findings.push(finding(RULES.loginFailed, bootstrap, describeError(err)));
  }
  let brokers: Awaited<ReturnType<AdminClient['describeBrokers']>> = [];
  if (admin !== undefined) {
    try {
      brokers = await admin.describeBrokers();
    } catch (err) {
      // Connected, but the cluster would not serve this login (a SASL listener without credentials).
      findings.push(finding(RULES.loginFailed, bootstrap, describeError(err)));
      admin.close();
      admin = undefined;
    }
  }
  if (admin !== undefined) {
    try {
      assessed.add(6).add(7);
      for (const b of brokers) await probe({ host: b.host, port: b.port });
      let superUsers: string[] | undefined;
      for (const b of brokers.slice(0, o.maxBrokers)) {
        const target = `broker ${b.nodeId} (${formatBrokerAddress(b)})`;
        let configs: ReadonlyMap<string, string | null>;
        try {
          configs = await admin.describeBrokerConfigs(b.nodeId);
        } catch (err) {
          findings.push(finding(RULES.configsUnavailable, target, describeError(err)));
          continue;
        }
        const version = configs.get('parapet.version');
        if (typeof version === 'string') {
          product = `Parapet ${version}`;
          // Parapet shows its audit, metadata store and backup settings: those controls are assessed too.
          assessed.add(4).add(5).add(8);
        } else if (configs.has('zookeeper.connect')) {
          assessed.add(5);
        }
        superUsers ??= (configs.get('super.users') ?? '').split(';').map((s) => s.trim()).filter((s) => s !== '');
        findings.push(...configFindings(configs, target, plaintextPorts, { nowMs: now.getTime(), maxAgeHours: o.backupMaxAgeHours }));
      }
      const acls = await admin.describeAcls().then(
        (bindings): readonly AclBinding[] | 'disabled' | { error: string } => bindings,
        (err: unknown) => (err instanceof KafkaError && err.code === ErrorCode.SECURITY_DISABLED ? 'disabled' : { error: describeError(err) }),
      );
      const users = await admin.describeScramUsers(null).then(
        (u): readonly ScramUserDescription[] | { error: string } => u,
        (err: unknown) => ({ error: describeError(err) }),
      );
      findings.push(...accessFindings({ acls, users, superUsers, minIterations: o.minIterations }, bootstrap));
      const logins = await loginEvidence(product, options.logins);
      findings.push(...credentialUseFindings({ users, logins, nowMs: now.getTime(), unusedDays: o.unusedDays, passwordMaxAgeDays: o.passwordMaxAgeDays }, bootstrap));
    } finally {
      admin.close();
    }
  }
  const sorted = [...findings].sort((a, b) => rank(b) - rank(a) || a.rule.control - b.rule.control || a.rule.id.localeCompare(b.rule.id));
  return {
    scannedAt: now.toISOString(),
    bootstrap,
    product,
    brokers: [...probed],
    findings: sorted,
    controls: scoreControls(sorted, assessed),
  };
}

/** The login evidence of a Parapet, or why there is none (a Kafka cluster records no logins a client can read). */
async function loginEvidence(product: string, read: PostureOptions['logins']): Promise<LoginEvidence | { error: string }> {
  if (!product.startsWith('Parapet ')) return { error: `the cluster is not Parapet (${product}): it records no logins or password times a client can read` };
  if (read === undefined) return { error: 'no admin endpoint was given to read logins from' };
  try {
    return await read();
  } catch (err) {
    return { error: describeError(err) };
  }
}

function rank(f: Finding): number {
  return ['INFO', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'].indexOf(f.severity);
}

