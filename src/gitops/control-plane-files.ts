/**
 * The node-files for control planes other than kubeadm, kind and a static pod: Cluster API, k3s, RKE2,
 * Talos, kops, EKS Anywhere and OpenShift. Each is derived from the same ApiserverAudit (flags and mounts)
 * and the same generated files (policy, webhook kubeconfig) the kubeadm and kind outputs use.
 */
import { posix } from 'node:path';
import { ApiserverAudit } from '../backends/apiserver-audit';
import { ClusterApiVersion, kubeadmControlPlaneAudit } from '../control-plane/cluster-api';
import { eksAnywhereAudit } from '../control-plane/eks-anywhere';
import { k3sAuditConfig, rke2AuditConfig } from '../control-plane/k3s-rke2';
import { kopsAuditSpec } from '../control-plane/kops';
import { openShiftAudit } from '../control-plane/openshift';
import { talosAuditPolicyDocument, talosHostPath, talosMachineConfigPatch } from '../control-plane/talos';
import { renderGoYaml, renderGoYamlDocuments } from '../core/go-yaml';
import { PolicyDocument } from '../policy/model';

/** Cluster API output: the KubeadmControlPlane to merge the audit settings into. */
export interface ClusterAuditClusterApi {
  /** The KubeadmControlPlane's name (the Secrets' names start with it). */
  readonly name: string;
  /** @default - none (the namespace you apply to) */
  readonly namespace?: string;
  /** RFC 3339 time after which KCP replaces every machine even without a spec change. @default - none */
  readonly rolloutAfter?: string;
}

/** Control planes to write configuration for, besides kubeadm, kind and the static pod (always written). */
export interface ClusterAuditControlPlanes {
  /** Cluster API KubeadmControlPlane (v1beta2 and v1beta1) and its Secrets. @default - none */
  readonly clusterApi?: ClusterAuditClusterApi;
  /** k3s config drop-in (`/etc/rancher/k3s/config.yaml.d/`). @default false */
  readonly k3s?: boolean;
  /** RKE2 config drop-in (`/etc/rancher/rke2/config.yaml.d/`). @default false */
  readonly rke2?: boolean;
  /** Talos KubeAuditPolicyConfig document and machine-config patch. @default false */
  readonly talos?: boolean;
  /** kops Cluster spec fragment (kubeAPIServer audit fields, fileAssets). @default false */
  readonly kops?: boolean;
  /** EKS Anywhere Cluster fragment (auditPolicyContent, apiServerExtraArgs). @default false */
  readonly eksAnywhere?: boolean;
  /** OpenShift APIServer with the nearest audit profile, and what it cannot express. @default false */
  readonly openShift?: boolean;
}

/** Every target on: what the example app and `docs/control-planes.md` show. */
export function allControlPlanes(clusterApi: ClusterAuditClusterApi): ClusterAuditControlPlanes {
  return { clusterApi, k3s: true, rke2: true, talos: true, kops: true, eksAnywhere: true, openShift: true };
}

/** YAML with `# ` comment lines before it (what the target cannot express, how to apply). */
function withNotes(notes: readonly string[], yaml: string): string {
  return notes.length ? notes.map((n) => `# ${n}`).join('\n') + '\n' + yaml : yaml;
}

/** A generated file on the node. */
export interface ControlPlaneSourceFile {
  readonly nodePath: string;
  readonly content: string;
  readonly mode?: number;
}

/** A file provisioned separately (keys, certificates), by its name in the secrets directory. */
export interface ControlPlaneProvidedFile {
  readonly nodePath: string;
  readonly secretsFile: string;
}

/** One more file under the node-files folder. */
export interface ControlPlaneNodeFile {
  readonly path: string;
  readonly description: string;
  readonly content: string;
}

export function controlPlaneNodeFiles(
  audit: ApiserverAudit,
  files: readonly ControlPlaneSourceFile[],
  provided: readonly ControlPlaneProvidedFile[],
  targets: ClusterAuditControlPlanes,
  policy: PolicyDocument,
): ControlPlaneNodeFile[] {
  const out: ControlPlaneNodeFile[] = [];
  const policyYaml = files.find((f) => f.nodePath === audit.policyFile)?.content ?? renderGoYaml(policy);
  const nodeFileNotes = (root: string) => [
    ...files.map((f) => `${f.nodePath}: copy from ${posix.join(root, f.nodePath)} before the server starts`),
    ...provided.map((p) => `${p.nodePath}: provision yourself (<secretsDir>/${p.secretsFile}; never in git)`),
  ];
  if (targets.clusterApi) {
    const c = targets.clusterApi;
    for (const apiVersion of [ClusterApiVersion.V1BETA2, ClusterApiVersion.V1BETA1]) {
      const r = kubeadmControlPlaneAudit(audit, {
        ...c,
        apiVersion,
        files,
        providedFiles: provided.map((p) => ({ nodePath: p.nodePath, key: p.secretsFile, mode: p.secretsFile.endsWith('.key') ? 0o600 : 0o644 })),
      });
      const v = apiVersion.split('/')[1];
      out.push({
        path: `cluster-api/kubeadm-control-plane.${v}.yaml`,
        description:
          `Cluster API KubeadmControlPlane (${apiVersion}${apiVersion === ClusterApiVersion.V1BETA1 ? ', extraArgs as a map, for management clusters before Cluster API 1.11' : ', extraArgs as a list'}): ` +
          'merge spec.kubeadmConfigSpec into yours; the files come from the Secrets in cluster-api/secrets.yaml',
        content: renderGoYaml(r.kubeadmControlPlane),
      });
      if (apiVersion === ClusterApiVersion.V1BETA2) {
        const tls = r.providedSecret
          ? `; create ${r.providedSecret.name} yourself: kubectl create secret generic ${r.providedSecret.name} ${r.providedSecret.keys.map((k) => `--from-file=${k}=<secretsDir>/${k}`).join(' ')}`
          : '';
        out.push({
          path: 'cluster-api/secrets.yaml',
          description: `Secrets for the management cluster, named by a hash of their content so a changed policy rolls the control plane out; apply before the KubeadmControlPlane${tls}`,
          content: renderGoYamlDocuments(r.secrets),
        });
      }
    }
  }
  if (targets.k3s) {
    out.push({
      path: 'k3s/config.yaml.d/50-cdk8s-audit.yaml',
      description: 'k3s config drop-in for /etc/rancher/k3s/config.yaml.d/ (kube-apiserver-arg+ appends the audit flags); the apiserver runs inside k3s, so the files go to the paths the flags name; restart k3s',
      content: withNotes(['k3s: /etc/rancher/k3s/config.yaml.d/50-cdk8s-audit.yaml, then restart k3s on each server', ...nodeFileNotes('rootfs')], renderGoYaml(k3sAuditConfig(audit))),
    });
  }
  if (targets.rke2) {
    out.push({
      path: 'rke2/config.yaml.d/50-cdk8s-audit.yaml',
      description: 'RKE2 config drop-in for /etc/rancher/rke2/config.yaml.d/ (audit-policy-file, kube-apiserver-arg+, kube-apiserver-extra-mount+ for the webhook directory); place the policy first: RKE2 writes a level None policy where it finds none',
      content: withNotes(
        ['RKE2: /etc/rancher/rke2/config.yaml.d/50-cdk8s-audit.yaml, then restart rke2-server on each server', 'RKE2 writes a policy with level None at audit-policy-file when the file is missing: copy the policy first', ...nodeFileNotes('rootfs')],
        renderGoYaml(rke2AuditConfig(audit)),
      ),
    });
  }
  if (targets.talos) {
    const webhookDir = audit.mounts.find((m) => m.name === 'audit-webhook')?.path;
    out.push({
      path: 'talos/audit-policy.yaml',
      description: 'Talos KubeAuditPolicyConfig document (Talos 1.14+): add it to the machine configuration of the control-plane nodes',
      content: renderGoYaml(talosAuditPolicyDocument(policy)),
    });
    out.push({
      path: 'talos/machine-patch.yaml',
      description: 'Talos machine-config patch: cluster.apiServer extraArgs and extraVolumes, machine.files for the webhook kubeconfig under /var (Talos writes files only there)',
      content: withNotes(
        [
          'Talos: talosctl patch machineconfig --nodes <control-plane nodes> --patch @talos/machine-patch.yaml (with talos/audit-policy.yaml in the same configuration)',
          ...provided.map((p) => `${p.nodePath}: add as machine.files at ${webhookDir && p.nodePath.startsWith(webhookDir + '/') ? talosHostPath(webhookDir) + p.nodePath.slice(webhookDir.length) : talosHostPath(p.nodePath)} from <secretsDir>/${p.secretsFile} in a patch kept out of git`),
        ],
        renderGoYaml(talosMachineConfigPatch(audit, files)),
      ),
    });
  }
  if (targets.kops) {
    const k = kopsAuditSpec(audit, files, provided.map((p) => p.nodePath));
    out.push({
      path: 'kops/cluster-spec.yaml',
      description: 'kops Cluster spec fragment: spec.kubeAPIServer audit fields and spec.fileAssets (ControlPlane); merge with kops edit cluster, then kops update cluster --yes and kops rolling-update cluster --yes',
      content: withNotes(
        [
          'kops: merge into your Cluster (kops edit cluster), kops update cluster --yes, kops rolling-update cluster --yes',
          ...Object.entries(k.movedFiles).map(([from, to]) => `${from}: goes to ${to} under kops (nodeup mounts only the policy's directory); add it as a fileAsset from <secretsDir> outside git`),
          ...k.notExpressible.map((n) => `not expressible in kops: ${n}`),
        ],
        renderGoYaml({ apiVersion: 'kops.k8s.io/v1alpha2', kind: 'Cluster', spec: k.spec }),
      ),
    });
  }
  if (targets.eksAnywhere) {
    const e = eksAnywhereAudit(audit, policyYaml);
    out.push({
      path: 'eks-anywhere/cluster.yaml',
      description: 'EKS Anywhere Cluster fragment: controlPlaneConfiguration.auditPolicyContent and apiServerExtraArgs; eksctl anywhere upgrade cluster rolls the control plane out',
      content: withNotes(
        [
          'EKS Anywhere: merge into your Cluster spec, then eksctl anywhere upgrade cluster -f cluster.yaml (API_SERVER_EXTRA_ARGS_ENABLED=true for apiServerExtraArgs)',
          ...e.notExpressible.map((n) => `not expressible in EKS Anywhere: ${n}`),
        ],
        renderGoYaml(e.cluster),
      ),
    });
  }
  if (targets.openShift) {
    const o = openShiftAudit(audit, policy);
    out.push({
      path: 'openshift/apiserver.yaml',
      description: `OpenShift APIServer "cluster" with the nearest audit profile (${o.profile}); what the profile cannot express is listed at its top`,
      content: withNotes(
        [`OpenShift: oc apply -f openshift/apiserver.yaml (or oc patch apiserver cluster); the kube-apiserver operator rolls the change out`, ...o.notExpressible.map((n) => `not expressible in OpenShift: ${n}`)],
        renderGoYaml(o.apiServer),
      ),
    });
  }
  return out;
}

/** The webhook TLS files a node needs, relative to the webhook kubeconfig's directory when not absolute. */
export function providedNodeFiles(provisioned: readonly { nodePath: string; secretsFile?: string }[]): ControlPlaneProvidedFile[] {
  return provisioned.filter((p) => p.secretsFile).map((p) => ({ nodePath: p.nodePath, secretsFile: posix.basename(p.secretsFile!) }));
}
