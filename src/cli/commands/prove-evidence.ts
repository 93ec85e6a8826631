/**
 * `prove` judges the node log it read the way `report` does (src/evidence's judgeEvidence, against the
 * deployed policy from dist/) and writes that evidence report beside its own.
 */
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DEFAULT_KUBERNETES_VERSION } from '../../core/kubernetes-version';
import { InputSummary, judgeEvidence, renderReportHtml, renderReportJson, renderReportMarkdown, reportExitCode } from '../../evidence';
import { flagValue, parseAuditEvents, ProveRun } from '../../testing';

export function writeEvidenceReport(run: ProveRun, out: string): { files: string[]; failures: string[] } {
  const policyNodePath = flagValue(run.audit.args, 'audit-policy-file');
  const policyFile = run.audit.manifest.files.find((f) => f.nodePath === policyNodePath)?.file ?? 'dist/node';
  // The events judged: the node log's when it was read, else the sink's. A verified sink store is an input
  // either way: it is what shows the records are protected off the node.
  const nodeEvents = run.nodeLogText !== undefined ? parseAuditEvents(run.nodeLogText, run.nodeLogSource ?? 'node audit log') : undefined;
  const store = run.sinkStore;
  const inputs: InputSummary[] = [];
  if (nodeEvents) inputs.push({ source: run.nodeLogSource ?? 'node audit log', kind: 'log', events: nodeEvents.length, otherLines: 0 });
  if (store) {
    const v = store.verify;
    inputs.push({
      source: store.source, kind: 'sink-store', events: store.events.length, otherLines: 0,
      ...(v?.ok ? { verified: { segments: v.segments, records: v.records, firstSeq: v.firstSeq, lastSeq: v.lastSeq, keyId: 'the signing key the sink mounts (sink verify in its pod)' } } : {}),
    });
  }
  const events = nodeEvents ?? store?.events;
  const report = judgeEvidence(run.composed, {
    kubernetesVersion: run.audit.manifest.kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION,
    policy: { source: relative(run.audit.appDir, join(run.audit.appDir, policyFile)), document: run.audit.policy },
    events,
    inputs: events ? inputs : undefined,
  });
  const files = [join(out, 'report.md'), join(out, 'report.html'), join(out, 'report.json')];
  writeFileSync(files[0], renderReportMarkdown(report));
  writeFileSync(files[1], renderReportHtml(report));
  writeFileSync(files[2], renderReportJson(report));
  // Requirements without probes may have no event in a short replay: missing evidence is reported, not failed.
  const failures = reportExitCode(report, { allowMissingEvidence: true }) === 0
    ? []
    : report.requirements
        .filter((r) => r.status === 'violated' || r.status === 'not-met-by-policy' || r.status === 'not-met-by-settings')
        .map((r) => `FAIL (evidence report): ${r.preset} ${r.id} ${r.status}: ${r.reasons.join('; ')}${r.evidence?.violations[0]?.auditID ? ` [auditID ${r.evidence.violations[0].auditID}]` : ''}`);
  return { files, failures };
}
