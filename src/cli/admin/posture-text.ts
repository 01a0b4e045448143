import { printable } from '../../client/printable.js';
import { formatTable } from './table.js';
import type { PostureReport } from '../../posture/scan.js';

/** The report for a person: a score per control, then each finding with its evidence and fix. */
export function postureText(report: PostureReport): string {
  const lines: string[] = [];
  lines.push(`posture of ${report.bootstrap} (${report.product}), ${report.scannedAt}`);
  lines.push(`brokers probed: ${report.brokers.join(', ') || 'none'}`, '');
  lines.push(
    formatTable(
      ['CONTROL', 'SCORE', 'CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFO'],
      report.controls.map((c) => [
        `${c.control} ${c.name}`,
        c.score === null ? 'not assessed' : String(c.score),
        String(c.counts.CRITICAL),
        String(c.counts.HIGH),
        String(c.counts.MEDIUM),
        String(c.counts.LOW),
        String(c.counts.INFO),
      ]),
    ).trimEnd(),
  );
  lines.push('');
  if (report.findings.length === 0) {
    lines.push('no findings');
  } else {
    lines.push(`${report.findings.length} finding(s), worst first:`);
    for (const f of report.findings) {
      lines.push('', `${f.severity}  ${f.rule.id}  (control ${f.rule.control})  ${printable(f.target)}`);
      lines.push(`  ${f.rule.title}`);
      // The evidence comes from the cluster (names, bindings): escaped, so it cannot forge a line.
      lines.push(`  evidence: ${printable(f.evidence)}`);
      lines.push(`  fix: ${f.rule.fix}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
