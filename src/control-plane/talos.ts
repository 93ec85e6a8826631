/**
 * Talos: the policy as a `KubeAuditPolicyConfig` document (siderolabs/talos
 * pkg/machinery/config/types/k8s/audit_policy.go: `apiVersion: v1alpha1`, `kind: KubeAuditPolicyConfig`,
 * `configuration: <Policy>`), and a machine-config patch for what Talos has no field for:
 * `cluster.apiServer.extraArgs` (map of strings), `cluster.apiServer.extraVolumes`
 * (`hostPath`, `mountPath`, `readonly` — lower-case o) and `machine.files` (`content`, `permissions`
 * as an integer, `path`, `op`) from pkg/machinery/config/types/v1alpha1/v1alpha1_types.go.
 *
 * Talos sets `--audit-policy-file` itself from the document, so that flag is not in extraArgs. The
 * root filesystem is read-only: files can only be written under /var, so a directory elsewhere is kept
 * on the host under /var (`/etc/kubernetes/audit-webhook` → `/var/etc/kubernetes/audit-webhook`) and
 * mounted at its usual path in the pod: the flags and the kubeconfig's relative paths stay as they are.
 * Pure: no I/O.
 */
import { posix } from 'node:path';
import { ApiserverAudit } from '../backends/apiserver-audit';
import { PolicyDocument } from '../policy/model';

/** Where a node directory lives on a Talos host (only /var is writable). */
export function talosHostPath(path: string): string {
  return path === '/var' || path.startsWith('/var/') ? path : posix.join('/var', path);
}

/** The KubeAuditPolicyConfig document (Talos ≥ 1.14). */
export function talosAuditPolicyDocument(policy: PolicyDocument): Record<string, unknown> {
  return { apiVersion: 'v1alpha1', kind: 'KubeAuditPolicyConfig', configuration: policy };
}

/** A generated file for the machine (webhook kubeconfig); its content goes into machine.files. */
export interface TalosMachineFile {
  readonly nodePath: string;
  readonly content: string;
  /** @default 0o644 */
  readonly mode?: number;
}

/**
 * The machine-config patch: extraArgs (all audit flags but the policy file), extraVolumes for every
 * audit directory but the policy's (Talos mounts that), machine.files for the generated files other
 * than the policy, at their /var host paths.
 */
export function talosMachineConfigPatch(audit: ApiserverAudit, files: readonly TalosMachineFile[]): Record<string, unknown> {
  const extraArgs = Object.fromEntries(audit.args().filter((a) => a.name !== 'audit-policy-file').map((a) => [a.name, a.value]));
  const mounts = audit.mounts.filter((m) => m.name !== 'audit-policy');
  const extraVolumes = mounts.map((m) => ({ hostPath: talosHostPath(m.path), mountPath: m.path, ...(m.readOnly ? { readonly: true } : {}) }));
  const hostOf = (nodePath: string) => {
    const m = mounts.find((x) => nodePath.startsWith(x.path + '/'));
    return m ? talosHostPath(m.path) + nodePath.slice(m.path.length) : talosHostPath(nodePath);
  };
  const machineFiles = files
    .filter((f) => f.nodePath !== audit.policyFile)
    .map((f) => ({ content: f.content, permissions: f.mode ?? 0o644, path: hostOf(f.nodePath), op: 'create' }));
  return {
    ...(machineFiles.length ? { machine: { files: machineFiles } } : {}),
    cluster: { apiServer: { extraArgs, ...(extraVolumes.length ? { extraVolumes } : {}) } },
  };
}
