/** A PCI DSS audit log the real apiserver wrote: section 1's, or one written here with the same workload. */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { getPreset } from '../../../src';
import { logBackendArgs, writePolicyFile } from '../../e2e/support/audit-files';
import { startControlPlane } from '../../e2e/support/control-plane';
import { makeTempDir, removeTempDir } from '../../e2e/support/processes';
import { allProbeEntries, runBenchWorkload } from '../workload';
import { ARTIFACT_PCI_LOG, BenchContext } from './context';
import { KubernetesVersion } from '../../../src/core/kubernetes-version';

export async function pciAuditLog(ctx: BenchContext): Promise<string> {
  const existing = ctx.artifacts.get(ARTIFACT_PCI_LOG);
  if (existing) return existing;
  ctx.log('no PCI DSS audit log from the volume section in this run; writing one with the same workload');
  const dir = makeTempDir('bench-pci-log');
  try {
    const logPath = join(dir, 'audit.log');
    const policy = getPreset('pci-dss', { kubernetesVersion: KubernetesVersion.of(ctx.kubernetesVersion) }).policy;
    const cp = await startControlPlane({ version: ctx.kubernetesVersion, extraArgs: logBackendArgs(writePolicyFile(dir, policy), logPath) });
    try {
      await runBenchWorkload(cp, allProbeEntries(ctx.kubernetesVersion), ctx.quick ? 5 : 30);
    } finally {
      await cp.stop();
    }
    const kept = join(ctx.tmpDir, 'pci-dss-audit.log');
    copyFileSync(logPath, kept);
    ctx.artifacts.set(ARTIFACT_PCI_LOG, kept);
    return kept;
  } finally {
    removeTempDir(dir);
  }
}
