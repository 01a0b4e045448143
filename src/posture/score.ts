import { CONTROLS, type ControlId, type Finding, type Severity } from './finding.js';

export interface ControlScore {
  readonly control: ControlId;
  readonly name: string;
  /** 0–100, or null when the scan had nothing to look at for this control (not assessed). */
  readonly score: number | null;
  /** Findings by severity. */
  readonly counts: Readonly<Record<Severity, number>>;
}

/** What a finding takes off its control's 100: one CRITICAL fails the control, INFO costs nothing. */
const PENALTY: Readonly<Record<Severity, number>> = { CRITICAL: 100, HIGH: 40, MEDIUM: 15, LOW: 5, INFO: 0 };

export function scoreControls(findings: readonly Finding[], assessed: ReadonlySet<ControlId>): ControlScore[] {
  return (Object.keys(CONTROLS).map(Number) as ControlId[]).map((control) => {
    const mine = findings.filter((f) => f.rule.control === control);
    const counts = { CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0, INFO: 0 };
    for (const f of mine) counts[f.severity]++;
    const penalty = mine.reduce((n, f) => n + PENALTY[f.severity], 0);
    return { control, name: CONTROLS[control], score: assessed.has(control) || mine.length > 0 ? Math.max(0, 100 - penalty) : null, counts };
  });
}
