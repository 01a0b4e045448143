import { finding, type Finding, type Severity } from '../finding.js';
import { RULES } from '../rules.js';

/**
 * Broker configs (DescribeConfigs of resource BROKER), Kafka's and Parapet's own (`parapet.*`,
 * src/broker/broker-configs.ts), as findings. A key the cluster does not show is not judged.
 */
export function configFindings(
  configs: ReadonlyMap<string, string | null>,
  target: string,
  probedPlaintextPorts: ReadonlySet<number> = new Set(),
  backupPolicy?: { readonly nowMs: number; readonly maxAgeHours: number },
): Finding[] {
  const out: Finding[] = [];
  const value = (name: string) => configs.get(name) ?? undefined;
  const flag = (name: string) => value(name)?.toLowerCase() === 'true';
  const show = (name: string) => `${name}=${value(name) ?? ''}`;
  if (flag('allow.everyone.if.no.acl.found')) out.push(finding(RULES.allowEveryone, target, show('allow.everyone.if.no.acl.found')));
  if (flag('auto.create.topics.enable')) out.push(finding(RULES.autoCreate, target, show('auto.create.topics.enable')));
  if (flag('unclean.leader.election.enable')) out.push(finding(RULES.uncleanElection, target, show('unclean.leader.election.enable')));
  const minIsr = value('min.insync.replicas');
  if (minIsr !== undefined && Number(minIsr) < 2) out.push(finding(RULES.minIsr, target, show('min.insync.replicas')));
  const zk = value('zookeeper.connect');
  if (zk !== undefined && zk !== '') out.push(finding(RULES.zookeeper, target, show('zookeeper.connect')));
  // A listener the probes already found speaking plaintext is reported once, by its probe.
  const plaintext = plaintextListeners(value('listeners'), value('listener.security.protocol.map')).filter((l) => !probedPlaintextPorts.has(Number(/:(\d+)$/.exec(l)?.[1])));
  if (plaintext.length > 0) out.push(finding(RULES.plaintextConfigured, target, `listeners: ${plaintext.join(', ')}`));
  // Parapet's own settings.
  for (const setting of (value('parapet.insecure.settings') ?? '').split(',').filter((s) => s !== '')) {
    // Each has its own rule below, or is one of allowInsecure… (the worst: anonymous access).
    if (setting.startsWith('audit.') || setting.startsWith('quotas.')) continue;
    out.push(finding(RULES.insecureSetting, target, setting, INSECURE_SEVERITY[setting] ?? 'HIGH'));
  }
  const provider = value('parapet.encryption.at.rest.provider');
  if (provider !== undefined && !['local', 'pkcs11'].includes(provider)) out.push(finding(RULES.encryptionAtRestOff, target, show('parapet.encryption.at.rest.provider')));
  if (value('parapet.audit.enabled') === 'false') out.push(finding(RULES.auditOff, target, show('parapet.audit.enabled')));
  if (flag('parapet.audit.fail.open')) out.push(finding(RULES.auditFailOpen, target, show('parapet.audit.fail.open')));
  if (value('parapet.quotas.enabled') === 'false') out.push(finding(RULES.quotasOff, target, show('parapet.quotas.enabled')));
  const lastBackup = value('parapet.backup.last.capture.time');
  if (lastBackup !== undefined && backupPolicy !== undefined) {
    const takenMs = Date.parse(lastBackup);
    if (lastBackup === '' || Number.isNaN(takenMs)) out.push(finding(RULES.backupNone, target, 'parapet.backup.last.capture.time is empty: no backup recorded'));
    else if (backupPolicy.nowMs - takenMs > backupPolicy.maxAgeHours * 3_600_000) {
      const hours = Math.floor((backupPolicy.nowMs - takenMs) / 3_600_000);
      out.push(finding(RULES.backupOld, target, `the newest backup was captured ${lastBackup} (${hours} h ago, policy ${backupPolicy.maxAgeHours} h) into ${value('parapet.backup.last.target') ?? '?'}`));
    }
  }
  return out;
}

const INSECURE_SEVERITY: Readonly<Record<string, Severity>> = {
  allowInsecureAnonymous: 'CRITICAL',
  allowInsecurePlaintext: 'HIGH',
  allowInsecureNonLoopback: 'CRITICAL',
};

/** The listeners whose protocol is PLAINTEXT or SASL_PLAINTEXT (a listener name maps to its protocol, KIP-103). */
export function plaintextListeners(listeners: string | undefined, protocolMap: string | undefined): string[] {
  if (listeners === undefined || listeners === '') return [];
  const map = new Map(
    (protocolMap ?? '')
      .split(',')
      .map((e) => e.split(':'))
      .filter((kv): kv is [string, string] => kv.length === 2)
      .map(([k, v]) => [k.trim().toUpperCase(), v.trim().toUpperCase()]),
  );
  return listeners
    .split(',')
    .map((l) => l.trim())
    .filter((l) => {
      const name = l.split('://')[0]?.toUpperCase() ?? '';
      const protocol = map.get(name) ?? name;
      return protocol === 'PLAINTEXT' || protocol === 'SASL_PLAINTEXT';
    });
}
