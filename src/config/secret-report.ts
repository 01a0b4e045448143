import { existsSync } from 'node:fs';
import type { BrokerConfig } from '../broker/broker.js';
import { auditSigningKeyRefOf } from '../audit/audit-config.js';
import { ConfigError } from '../config-error.js';
import { describeSecret, parseSecretRef } from '../secret-ref.js';
import { defaultMasterKeyFile } from '../storage/crypto/key-setup.js';

/**
 * What `parapet check-config` says of each secret the configuration takes by reference
 * (docs/configuration.md#secrets): the reference as written and where the secret comes from, once
 * checked to be readable (`set (from env NAME)`, `set (from file PATH, mode 600)`), or why the broker
 * would refuse it. Never the value, nor anything derived from it.
 */
export interface SecretLine {
  readonly setting: string;
  readonly reference: string;
  /** The reference is the built-in default, not written in the file. */
  readonly isDefault: boolean;
  readonly state: string;
}

export interface SecretReport {
  readonly lines: readonly SecretLine[];
  /** Refusals the broker would stop on: `<setting>: <why>`. */
  readonly problems: readonly string[];
}

interface SecretSetting {
  readonly setting: string;
  readonly reference: string;
  readonly isDefault: boolean;
  /** The first start creates a missing file (the master key and the audit signing key). */
  readonly createdWhenMissing: boolean;
}

/** The secrets the broker would read with this configuration, in the order of the file's sections. */
function secretSettings(config: BrokerConfig): SecretSetting[] {
  const settings: SecretSetting[] = [];
  const at = config.encryptionAtRest;
  if (at.provider === 'local' && at.masterPassphrase !== undefined) {
    settings.push({ setting: 'encryptionAtRest.masterPassphrase', reference: at.masterPassphrase, isDefault: false, createdWhenMissing: false });
  } else if (at.provider === 'local') {
    const reference = at.masterKey ?? `\${file:${defaultMasterKeyFile(config.dataDir)}}`;
    settings.push({ setting: 'encryptionAtRest.masterKey', reference, isDefault: at.masterKey === undefined, createdWhenMissing: true });
  } else if (at.pkcs11 !== undefined) {
    settings.push({ setting: 'encryptionAtRest.pkcs11.pin', reference: at.pkcs11.pin, isDefault: false, createdWhenMissing: false });
  }
  if (config.audit.enabled) {
    settings.push({ setting: 'audit.signingKey', reference: auditSigningKeyRefOf(config.audit, config.dataDir), isDefault: config.audit.signingKey === undefined, createdWhenMissing: true });
  }
  const token = config.adminEndpoint.bearerToken;
  if (config.adminEndpoint.enabled && token !== undefined) {
    settings.push({ setting: 'adminEndpoint.bearerToken', reference: token, isDefault: false, createdWhenMissing: false });
  }
  return settings;
}

export function secretReport(config: BrokerConfig): SecretReport {
  const lines: SecretLine[] = [];
  const problems: string[] = [];
  for (const s of secretSettings(config)) {
    let state: string;
    try {
      const ref = parseSecretRef(s.reference, s.setting);
      state = s.createdWhenMissing && ref.kind === 'file' && missing(ref.path) ? `not created yet (the first start writes ${ref.path}, mode 600)` : describeSecret(ref, s.setting);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      state = `refused: ${err.message}`;
      problems.push(err.message);
    }
    lines.push({ setting: s.setting, reference: s.reference, isDefault: s.isDefault, state });
  }
  return { lines, problems };
}

function missing(path: string): boolean {
  return !existsSync(path);
}

/** The report as YAML comments, so that `check-config`'s output stays a valid config file. */
export function secretReportText(report: SecretReport): string {
  if (report.lines.length === 0) return '';
  const rows = report.lines.map((l) => `#   ${l.setting}: ${l.reference}${l.isDefault ? ' (default)' : ''}: ${l.state}\n`);
  return `# secrets, by reference (the values are never shown):\n${rows.join('')}`;
}
