/**
 * What `parapet posture` reports: findings, each tied to one of the ten controls of a secure
 * event-driven deployment (docs/security/checklist.md), with a severity, the evidence the scan saw and
 * the fix. Rules are data (./rules.ts) so that the text, JSON and SARIF reports describe them alike.
 */

export const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFO'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Higher is worse; `--fail-on` compares with it. */
export function severityRank(s: Severity): number {
  return SEVERITIES.length - SEVERITIES.indexOf(s);
}

export const CONTROLS = {
  1: 'authentication and authorization',
  2: 'encryption in transit and at rest',
  3: 'network security',
  4: 'monitoring and audit',
  5: 'metadata plane',
  6: 'secure configuration',
  7: 'least privilege and reviews',
  8: 'backup and recovery',
  9: 'data governance',
  10: 'education',
} as const;
export type ControlId = keyof typeof CONTROLS;

export interface Rule {
  /** Stable id (SARIF ruleId), e.g. `PARAPET-LISTENER-PLAINTEXT`. */
  readonly id: string;
  readonly control: ControlId;
  readonly severity: Severity;
  /** One line: what is wrong. */
  readonly title: string;
  /** What to do about it. */
  readonly fix: string;
}

export interface Finding {
  readonly rule: Rule;
  /** The rule's severity unless the evidence makes it worse or milder (a plaintext listener off loopback). */
  readonly severity: Severity;
  /** What the scan saw: the broker, the value, the binding. */
  readonly evidence: string;
  /** The broker (host:port) or resource the finding is about. */
  readonly target: string;
}

export function finding(rule: Rule, target: string, evidence: string, severity: Severity = rule.severity): Finding {
  return { rule, severity, evidence, target };
}
