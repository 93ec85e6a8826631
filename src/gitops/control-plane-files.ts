/**
 * The node-files for control planes other than kubeadm, kind and a static pod: Cluster API, k3s, RKE2,
 * Talos, kops, EKS Anywhere and OpenShift. Each is derived from the same ApiserverAudit (flags and mounts)
 * and the same generated files (policy, webhook kubeconfig) the kubeadm and kind outputs use.
 */
import { posix } from 'node:path';
import { ApiserverAudit } from '../backends/apiserver-audit';
import { ClusterApiVersion, kubeadmControlPlaneAudit } from '../control-plane/cluster-api';
import { renderGoYaml, renderGoYamlDocuments } from '../core/go-yaml';

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
): ControlPlaneNodeFile[] {
  const out: ControlPlaneNodeFile[] = [];
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
  return out;
}

/** The webhook TLS files a node needs, relative to the webhook kubeconfig's directory when not absolute. */
export function providedNodeFiles(provisioned: readonly { nodePath: string; secretsFile?: string }[]): ControlPlaneProvidedFile[] {
  return provisioned.filter((p) => p.secretsFile).map((p) => ({ nodePath: p.nodePath, secretsFile: posix.basename(p.secretsFile!) }));
}
