import { createHash } from 'node:crypto';
import { productVersion } from '../../version.js';
import type { Finding, Rule, Severity } from '../finding.js';
import { RULES } from '../rules.js';
import type { PostureReport } from '../scan.js';

/**
 * The report as SARIF 2.1.0 (OASIS), the format CI pipelines and code-scanning dashboards read: one
 * run, every rule in the tool's driver, one result per finding. A finding is about a broker, not a
 * file, so its location is logical (the broker's address, kind "resource"); `partialFingerprints`
 * lets a dashboard follow one finding from scan to scan.
 */
export function postureSarif(report: PostureReport): object {
  const rules: Rule[] = Object.values(RULES);
  const index = new Map(rules.map((r, i) => [r.id, i]));
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'parapet-posture',
            semanticVersion: productVersion(),
            rules: rules.map((r) => ({
              id: r.id,
              name: camel(r.id),
              shortDescription: { text: r.title },
              help: { text: r.fix },
              defaultConfiguration: { level: level(r.severity) },
              properties: { control: r.control, severity: r.severity, 'security-severity': SECURITY_SEVERITY[r.severity], tags: ['security', `control-${r.control}`] },
            })),
          },
        },
        invocations: [{ executionSuccessful: true, endTimeUtc: report.scannedAt }],
        properties: { bootstrap: report.bootstrap, product: report.product, brokers: report.brokers, controls: report.controls },
        results: report.findings.map((f) => result(f, index.get(f.rule.id) ?? -1)),
      },
    ],
  };
}

function result(f: Finding, ruleIndex: number): object {
  return {
    ruleId: f.rule.id,
    ...(ruleIndex >= 0 ? { ruleIndex } : {}),
    level: level(f.severity),
    message: { text: `${f.rule.title}: ${f.evidence}` },
    locations: [{ logicalLocations: [{ name: f.target, kind: 'resource' }] }],
    partialFingerprints: { 'parapetFinding/v1': createHash('sha256').update(`${f.rule.id}\n${f.target}\n${f.evidence}`).digest('hex').slice(0, 32) },
    properties: { severity: f.severity, control: f.rule.control, evidence: f.evidence, fix: f.rule.fix },
  };
}

/** SARIF's levels: error (must fix), warning, note. */
function level(s: Severity): 'error' | 'warning' | 'note' {
  return s === 'CRITICAL' || s === 'HIGH' ? 'error' : s === 'MEDIUM' ? 'warning' : 'note';
}

/** The 0–10 score code-scanning dashboards sort security results by. */
const SECURITY_SEVERITY: Readonly<Record<Severity, string>> = { CRITICAL: '9.5', HIGH: '8.0', MEDIUM: '5.5', LOW: '3.0', INFO: '0.0' };

/** `PARAPET-TLS-CERT-EXPIRED` → `TlsCertExpired` (SARIF's rule name: an identifier). */
function camel(id: string): string {
  return id
    .replace(/^PARAPET-/, '')
    .split(/[-.]/)
    .map((w) => w.charAt(0) + w.slice(1).toLowerCase())
    .join('');
}
