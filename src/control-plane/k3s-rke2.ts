/**
 * k3s and RKE2: a config drop-in (`/etc/rancher/{k3s,rke2}/config.yaml.d/NN-name.yaml`) holding the
 * audit flags. Both read every `*.yaml` of `config.yaml.d` after `config.yaml`, in name order, and a
 * key ending in `+` appends to a list instead of replacing it (k3s-io/k3s pkg/configfilearg/parser.go,
 * dotDFiles and readConfigFile; RKE2 uses the same parser), so the drop-in leaves the cluster's own
 * `kube-apiserver-arg` entries alone.
 *
 * k3s runs the apiserver inside its own process: the paths are host paths, nothing is mounted.
 * RKE2 runs it as a static pod (rancher/rke2 pkg/executor/staticpod/staticpod.go, APIServer):
 *  - `audit-policy-file` is its own key; when the file is missing at start RKE2 writes a policy with
 *    `level: None` there (pkg/podtemplate/utils.go, WriteDefaultPolicyFile), so put the policy first;
 *  - RKE2 prepends `--audit-log-maxage=30 --audit-log-maxbackup=10 --audit-log-maxsize=100`; the
 *    `kube-apiserver-arg` values come later and win;
 *  - the directory of `--audit-log-path` is mounted read-write; a flag whose value is an absolute path
 *    to a file that exists when RKE2 starts is mounted as that file (pkg/podtemplate/podtemplate.go
 *    ReadFiles), but only `--kubeconfig`'s certificates are followed, not those of the audit webhook's
 *    kubeconfig: the webhook directory goes into `kube-apiserver-extra-mount` (`host:container:ro`, addExtraMounts).
 * Pure: no I/O.
 */
import { ApiserverAudit } from '../backends/apiserver-audit';

/** The k3s drop-in: every audit flag as `kube-apiserver-arg+`. */
export function k3sAuditConfig(audit: ApiserverAudit): Record<string, unknown> {
  return { 'kube-apiserver-arg+': audit.args().map((a) => `${a.name}=${a.value}`) };
}

/** The RKE2 drop-in: `audit-policy-file`, the other flags, and the webhook directory mount. */
export function rke2AuditConfig(audit: ApiserverAudit): Record<string, unknown> {
  const args = audit.args();
  const policy = args.find((a) => a.name === 'audit-policy-file');
  const mounts = audit.mounts.filter((m) => m.name === 'audit-webhook').map((m) => `${m.path}:${m.path}:${m.readOnly ? 'ro' : 'rw'}`);
  return {
    ...(policy ? { 'audit-policy-file': policy.value } : {}),
    'kube-apiserver-arg+': args.filter((a) => a.name !== 'audit-policy-file').map((a) => `${a.name}=${a.value}`),
    ...(mounts.length ? { 'kube-apiserver-extra-mount+': mounts } : {}),
  };
}
