import type { PostureReport } from '../scan.js';

/** The report as data (`--format json`): findings flattened, rules by id. */
export function postureJson(report: PostureReport): object {
  return {
    scannedAt: report.scannedAt,
    bootstrap: report.bootstrap,
    product: report.product,
    brokers: report.brokers,
    controls: report.controls,
    findings: report.findings.map((f) => ({
      ruleId: f.rule.id,
      control: f.rule.control,
      severity: f.severity,
      title: f.rule.title,
      target: f.target,
      evidence: f.evidence,
      fix: f.rule.fix,
    })),
  };
}
