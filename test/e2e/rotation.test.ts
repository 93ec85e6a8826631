/**
 * Log rotation and formats, as the real apiserver does them (lumberjack behind --audit-log-max*):
 * maxsize makes backups, maxbackup prunes them, compress gzips them, and the legacy format writes
 * one `AUDIT:` line per event.
 */
import { Size } from 'cdk8s';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { evaluatePolicy } from '../../src/policy/evaluate';
import type { PolicyDocument } from '../../src/policy/model';
import { expectedStages, parseJsonAuditLines, readAuditFile } from './support/audit-events';
import { auditSetup } from './support/audit-files';
import { LogFormat } from '../../src/backends/backends';
import { kubernetesVersions } from './support/binaries';
import { startControlPlane } from './support/control-plane';
import { makeTempDir, readFileSafe, removeTempDir, sleep } from './support/processes';
import { runWorkload } from './support/workload';

const POLICY: PolicyDocument = {
  apiVersion: 'audit.k8s.io/v1',
  kind: 'Policy',
  rules: [
    { level: 'None', nonResourceURLs: ['/healthz*', '/readyz*', '/livez*'] },
    // Big bodies for configmaps: the padding writes below fill 1 MiB files quickly.
    { level: 'RequestResponse', resources: [{ group: '', resources: ['configmaps'] }] },
    { level: 'Metadata' },
  ],
};

/** lumberjack names backups `<name>-<timestamp>.<ext>` (plus `.gz` when compressed) next to the log. */
function backupsOf(dir: string, base = 'audit'): string[] {
  return readdirSync(dir).filter((f) => f.startsWith(`${base}-`) && (f.endsWith('.log') || f.endsWith('.log.gz'))).sort();
}

describe.each(kubernetesVersions())('log rotation and formats, kube-apiserver v%s', (version) => {
  test('--audit-log-maxsize=1 rotates, --audit-log-maxbackup=2 prunes to 2, --audit-log-compress=true gzips', async () => {
    const dir = makeTempDir('rotation');
    try {
      // --audit-log-maxsize=1 --audit-log-maxbackup=2 --audit-log-compress=true, rendered by LogBackend.
      const setup = auditSetup(version, dir, { policy: POLICY, log: { maxSize: Size.mebibytes(1), maxBackups: 2, compress: true } });
      expect(setup.args).toEqual(expect.arrayContaining(['--audit-log-maxsize=1', '--audit-log-maxbackup=2', '--audit-log-compress=true']));
      const logPath = setup.logPath!;
      const logDir = dirname(logPath);
      const cp = await startControlPlane({ version, extraArgs: setup.args });
      let backups: string[] = [];
      let workload;
      try {
        // 16 ConfigMaps of 200 KiB, each logged with request and response bodies: ~6 MiB, ~6 rotations.
        workload = await runWorkload(cp, { extraWrites: 16, padBytes: 200 * 1024 });
        // Pruning and compression run in lumberjack's background goroutine: wait until they settle.
        const deadline = Date.now() + 30_000;
        for (;;) {
          backups = backupsOf(logDir);
          if (backups.length === 2 && backups.every((b) => b.endsWith('.gz'))) break;
          if (Date.now() > deadline) break;
          await sleep(200);
        }
      } finally {
        await cp.stop();
      }
      expect(backups, `backups in ${logDir} after the workload: ${readdirSync(logDir).join(', ')}`).toHaveLength(2);
      for (const b of backups) expect(b, `backup ${b} should be gzip-compressed (--audit-log-compress=true)`).toMatch(/\.log\.gz$/);
      // Every retained file is a readable stream of JSON events (gunzip for the backups).
      const files = [...backups.map((b) => join(logDir, b)), logPath];
      const events = files.flatMap((f) => parseJsonAuditLines(readAuditFile(f), f));
      for (const b of backups) expect(statSync(join(logDir, b)).size, `${b} is empty`).toBeGreaterThan(0);
      // Pruning really dropped data: the first audited workload request is gone, the last one is kept.
      const audited = workload.steps.filter((s) => evaluatePolicy(POLICY, s.expected).level !== 'None');
      const ids = new Set(events.map((e) => e.auditID));
      expect(ids.has(audited[0].auditId!), 'the oldest events should have been pruned with the third-oldest backup').toBe(false);
      expect(ids.has(audited[audited.length - 1].auditId!), 'the newest events must be in the retained files').toBe(true);
      // The live log keeps the owner-only mode the apiserver creates it with (audit logs hold sensitive data).
      expect((statSync(logPath).mode & 0o777).toString(8)).toBe('600');
    } finally {
      removeTempDir(dir);
    }
  });

  test('--audit-log-format=legacy writes one AUDIT line per event, with the stages the policy predicts', async () => {
    const dir = makeTempDir('legacy');
    try {
      const setup = auditSetup(version, dir, { policy: POLICY, log: { format: LogFormat.LEGACY } });
      expect(setup.args).toContain('--audit-log-format=legacy');
      const logPath = setup.logPath!;
      const cp = await startControlPlane({ version, extraArgs: setup.args });
      let workload;
      try {
        workload = await runWorkload(cp);
      } finally {
        await cp.stop();
      }
      const lines = readFileSafe(logPath).split('\n').filter(Boolean);
      // audit.EventString (pkg/audit/format.go): `<time> AUDIT: id="…" stage="…" ip="…" method="…" user="…" groups=… as="…" …`
      const legacy = /^\S+ AUDIT: id="([0-9a-f-]+)" stage="(\w+)" ip="[^"]*" method="([a-z]+)" user="((?:[^"\\]|\\.)*)" groups=".*" as=".*" asgroups=".*" user-agent=".*" namespace="[^"]*" uri="([^"]*)" response="([^"]*)"$/;
      const bad = lines.filter((l) => !legacy.test(l));
      expect(bad.slice(0, 3), `${bad.length} of ${lines.length} lines are not legacy-format AUDIT lines`).toEqual([]);
      expect(lines.some((l) => l.startsWith('{')), 'legacy format must not contain JSON events').toBe(false);
      const stagesById = new Map<string, string[]>();
      for (const l of lines) {
        const [, id, stage] = legacy.exec(l)!;
        stagesById.set(id, [...(stagesById.get(id) ?? []), stage]);
      }
      const problems: string[] = [];
      for (const step of workload.steps) {
        const decision = evaluatePolicy(POLICY, step.expected);
        const expected = decision.level === 'None' ? [] : expectedStages(step.expected, decision.omitStages);
        const got = stagesById.get(step.auditId!) ?? [];
        if (got.join() !== expected.join()) problems.push(`${step.description}: legacy lines for stages [${got}] expected [${expected}]`);
      }
      expect(problems).toEqual([]);
    } finally {
      removeTempDir(dir);
    }
  });
});
