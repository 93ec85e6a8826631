/**
 * A kind Cluster (kind.x-k8s.io/v1alpha4) whose control-plane node runs the apiserver with
 * auditing: `extraMounts` bring host directories into the node container, and a
 * `kubeadmConfigPatches` ClusterConfiguration adds the flags and the apiserver's volumes.
 *
 * kind generates kubeadm v1beta4 from Kubernetes 1.36 on and v1beta3 before (kind PR 4173); the
 * patch names its apiVersion so it applies to exactly that document and merges as intended
 * (extraArgs appended to kind's own in v1beta4, merged into the map in v1beta3).
 */
import { posix } from 'node:path';
import { renderGoYaml } from '../core/go-yaml';
import { ApiserverAudit } from '../backends/apiserver-audit';
import { AuditConfigError } from '../backends/errors';
import { parseKubernetesVersion } from '../core/kubernetes-version';
import { KubeadmApiVersion, kubeadmApiServer } from './kubeadm';

/** The first minor for which kind writes kubeadm v1beta4. */
export const KIND_V1BETA4_FROM_MINOR = 36;

export function kindKubeadmApiVersion(minor: number): KubeadmApiVersion {
  return minor >= KIND_V1BETA4_FROM_MINOR ? KubeadmApiVersion.V1BETA4 : KubeadmApiVersion.V1BETA3;
}

export interface KindClusterOptions {
  /**
   * Directory on the machine running `kind create cluster` that holds the policy file (mounted
   * read-only at the policy's directory in the node). Relative paths are resolved by kind against
   * the directory it is run from.
   */
  readonly hostPolicyDir: string;
  /** Host directory with the webhook kubeconfig and TLS files, mounted whole. A webhook backend needs it or `webhookFiles`. @default - none */
  readonly hostWebhookDir?: string;
  /**
   * Host files mounted one by one into the node's webhook directory, instead of `hostWebhookDir`: the
   * kubeconfig from the synth output beside keys and certificates from a gitignored directory, without
   * copying either into the other. Each `nodePath` must be inside the webhook kubeconfig's directory.
   * @default - none
   */
  readonly webhookFiles?: readonly KindHostFile[];
  /** Absolute host directory that receives the audit log files. @default - logs stay inside the node container */
  readonly hostLogDir?: string;
  /** Node image. @default - kind's default image for its release */
  readonly nodeImage?: string;
  /** Worker nodes besides the control plane. @default 0 */
  readonly workers?: number;
  /** Cluster name (`kind create cluster` uses `--name` over it). @default - kind's default, "kind" */
  readonly name?: string;
}

/** A host file and where it appears in the node container. */
export interface KindHostFile {
  /** On the machine running kind; relative paths resolve against the directory kind runs in. */
  readonly hostPath: string;
  /** Absolute path in the node. */
  readonly nodePath: string;
}

function checkHostDir(field: string, dir: string | undefined, problems: string[]): void {
  if (dir === undefined) return;
  // Relative paths are fine: kind resolves them with filepath.Abs against the directory it runs in,
  // which keeps a committed kind config independent of where the repository is checked out.
  if (dir === '' || dir === '.') {
    problems.push(`${field}: ${JSON.stringify(dir)} would mount the whole working directory; give a dedicated directory`);
  } else if (dir === '/') {
    problems.push(`${field}: "/" would mount the whole host into the node; give a dedicated directory`);
  }
}

/** The kind Cluster object. @throws AuditConfigError naming every problem */
export function kindCluster(audit: ApiserverAudit, options: KindClusterOptions): Record<string, unknown> {
  const problems: string[] = [];
  const minor = parseKubernetesVersion(audit.kubernetesVersion).minor;
  checkHostDir('hostPolicyDir', options.hostPolicyDir, problems);
  checkHostDir('hostWebhookDir', options.hostWebhookDir, problems);
  checkHostDir('hostLogDir', options.hostLogDir, problems);
  if (options.workers !== undefined && !(Number.isInteger(options.workers) && options.workers >= 0)) {
    problems.push(`workers: ${options.workers} is not a count of nodes; give a whole number ≥ 0`);
  }
  const hostDirFor: Record<string, string | undefined> = {
    'audit-policy': options.hostPolicyDir,
    'audit-webhook': options.hostWebhookDir,
    'audit-log': options.hostLogDir,
  };
  const extraMounts: Record<string, unknown>[] = [];
  if (options.webhookFiles !== undefined && options.hostWebhookDir !== undefined) {
    problems.push('hostWebhookDir/webhookFiles: both set; mount the webhook directory whole or its files one by one, not both');
  }
  for (const m of audit.mounts) {
    if (m.name === 'audit-webhook' && options.webhookFiles !== undefined) {
      for (const [i, f] of options.webhookFiles.entries()) {
        if (posix.dirname(f.nodePath) !== m.path) {
          problems.push(`webhookFiles[${i}].nodePath: ${JSON.stringify(f.nodePath)} is not in the webhook directory ${m.path}, the only one the apiserver mounts; put the file there`);
        }
        checkHostDir(`webhookFiles[${i}].hostPath`, f.hostPath, problems);
        extraMounts.push({ hostPath: f.hostPath, containerPath: f.nodePath, readOnly: true });
      }
      continue;
    }
    const host = hostDirFor[m.name];
    if (host === undefined) {
      if (m.name === 'audit-webhook') {
        problems.push('hostWebhookDir: (unset) while a webhook backend is configured; the node needs the kubeconfig and TLS files — give the host directory holding them, or webhookFiles');
      }
      continue; // the log directory may stay inside the node container
    }
    extraMounts.push({ hostPath: host, containerPath: m.path, ...(m.readOnly ? { readOnly: true } : {}) });
  }
  if ((options.hostWebhookDir !== undefined || options.webhookFiles !== undefined) && !audit.webhook) {
    problems.push(`${options.hostWebhookDir !== undefined ? 'hostWebhookDir' : 'webhookFiles'}: set but no webhook backend is configured; drop it or add the webhook backend`);
  }
  if (problems.length) throw new AuditConfigError(problems);

  const apiVersion = kindKubeadmApiVersion(minor);
  const patch = renderGoYaml({ kind: 'ClusterConfiguration', apiVersion, apiServer: kubeadmApiServer(audit, apiVersion) });
  const controlPlane: Record<string, unknown> = {
    role: 'control-plane',
    ...(options.nodeImage ? { image: options.nodeImage } : {}),
    extraMounts,
    kubeadmConfigPatches: [patch],
  };
  const workers = Array.from({ length: options.workers ?? 0 }, () => ({ role: 'worker', ...(options.nodeImage ? { image: options.nodeImage } : {}) }));
  return {
    kind: 'Cluster',
    apiVersion: 'kind.x-k8s.io/v1alpha4',
    ...(options.name ? { name: options.name } : {}),
    nodes: [controlPlane, ...workers],
  };
}

export function renderKindCluster(audit: ApiserverAudit, options: KindClusterOptions): string {
  return renderGoYaml(kindCluster(audit, options));
}
