/**
 * Cluster API: the audit settings of a KubeadmControlPlane (controlplane.cluster.x-k8s.io) and the
 * Secrets its `kubeadmConfigSpec.files` read, for the management cluster.
 *
 * Shapes from sigs.k8s.io/cluster-api v1.14.2 (controlplane/kubeadm/config/crd/bases/
 * controlplane.cluster.x-k8s.io_kubeadmcontrolplanes.yaml, both versions served):
 *  - v1beta2: `clusterConfiguration.apiServer.extraArgs` is a list of `{name, value}` (kubeadm v1beta4's
 *    shape), `spec.rollout.after` forces a rollout;
 *  - v1beta1: `extraArgs` is a map (kubeadm v1beta3's shape), `spec.rolloutAfter`.
 * `files[].content` is limited to 10,240 characters and policies exceed it, so every file is read from a
 * Secret (`contentFrom.secret`). A changed Secret does not roll the machines: the Secret's name carries a
 * hash of its content, so a changed policy changes the KubeadmControlPlane's spec and KCP rolls out.
 * Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { ApiserverAudit } from '../backends/apiserver-audit';
import { AuditConfigError } from '../backends/errors';
import { KubeadmApiVersion, kubeadmApiServer } from './kubeadm';

/** KubeadmControlPlane API versions cdk8s-audit renders. */
export enum ClusterApiVersion {
  /** `extraArgs` is a list of `{name, value}`; Cluster API ≥ 1.11. */
  V1BETA2 = 'controlplane.cluster.x-k8s.io/v1beta2',
  /** `extraArgs` is a map; for management clusters on Cluster API < 1.11. */
  V1BETA1 = 'controlplane.cluster.x-k8s.io/v1beta1',
}

/** The upstream limit on inline `files[].content` (CRD maxLength). */
export const CLUSTER_API_INLINE_CONTENT_MAX = 10_240;

/** A generated file the control-plane machines need (its content goes into a Secret). */
export interface ClusterApiNodeFile {
  /** Absolute path on the machine. */
  readonly nodePath: string;
  readonly content: string;
  /** Octal mode. @default 0o644 */
  readonly mode?: number;
}

/** A file the machines need whose content you put into a Secret yourself (keys and certificates never go into git). */
export interface ClusterApiProvidedFile {
  readonly nodePath: string;
  /** The key in the Secret. */
  readonly key: string;
  /** Octal mode. @default 0o644 */
  readonly mode?: number;
}

export interface KubeadmControlPlaneOptions {
  /** The KubeadmControlPlane's name; also the prefix of the Secrets' names. */
  readonly name: string;
  /** @default - none (the namespace you apply to) */
  readonly namespace?: string;
  /** @default ClusterApiVersion.V1BETA2 */
  readonly apiVersion?: ClusterApiVersion;
  /** Generated files (policy, webhook kubeconfig), put into one content-hashed Secret. */
  readonly files: readonly ClusterApiNodeFile[];
  /** Files from a Secret you create (named `providedSecretName`). @default - none */
  readonly providedFiles?: readonly ClusterApiProvidedFile[];
  /** @default `<name>-audit-webhook-tls` */
  readonly providedSecretName?: string;
  /** RFC 3339 time after which every machine is replaced even without a spec change. @default - none */
  readonly rolloutAfter?: string;
}

export interface KubeadmControlPlaneAudit {
  /** The KubeadmControlPlane holding only the audit settings, to merge into yours. */
  readonly kubeadmControlPlane: Record<string, unknown>;
  /** The Secrets it reads that cdk8s-audit generates (apply them to the management cluster first). */
  readonly secrets: Record<string, unknown>[];
  /** The Secret you create, with the keys it must hold, when there are provided files. */
  readonly providedSecret?: { readonly name: string; readonly keys: readonly string[] };
}

const mode = (m: number | undefined) => `0${(m ?? 0o644).toString(8)}`;

/** A Secret key for a file: its base name (Secret keys allow [-._a-zA-Z0-9]). */
function keyOf(nodePath: string): string {
  return posix.basename(nodePath).replace(/[^-._a-zA-Z0-9]/g, '_');
}

/**
 * The KubeadmControlPlane fragment and its Secrets.
 * @throws AuditConfigError naming the field
 */
export function kubeadmControlPlaneAudit(audit: ApiserverAudit, options: KubeadmControlPlaneOptions): KubeadmControlPlaneAudit {
  const problems: string[] = [];
  const apiVersion = options.apiVersion ?? ClusterApiVersion.V1BETA2;
  if (!/^[a-z0-9]([-a-z0-9.]{0,200}[a-z0-9])?$/.test(options.name)) {
    problems.push(`name: ${JSON.stringify(options.name)} is not a Kubernetes object name (lower-case letters, digits, '-' and '.', ≤ 200 characters here so the Secret names fit); give the KubeadmControlPlane's name`);
  }
  if (options.rolloutAfter !== undefined && Number.isNaN(Date.parse(options.rolloutAfter))) {
    problems.push(`rolloutAfter: ${JSON.stringify(options.rolloutAfter)} is not an RFC 3339 time; give e.g. "2026-03-09T09:00:00Z"`);
  }
  const keys = new Map<string, string>();
  for (const f of [...options.files, ...(options.providedFiles ?? []).map((p) => ({ nodePath: p.nodePath }))]) {
    const k = keyOf(f.nodePath);
    if (keys.has(k) && options.files.some((g) => g.nodePath === f.nodePath)) problems.push(`files: ${keys.get(k)} and ${f.nodePath} have the same file name ${k}; one Secret holds both, so give them different names`);
    keys.set(k, f.nodePath);
  }
  if (problems.length) throw new AuditConfigError(problems);

  // One Secret for all generated files; its name changes with any of their contents.
  const data = Object.fromEntries(options.files.map((f) => [keyOf(f.nodePath), f.content]));
  const hash = createHash('sha256').update(JSON.stringify(Object.entries(data).sort())).digest('hex').slice(0, 10);
  const secretName = `${options.name}-audit-${hash}`;
  const providedName = options.providedSecretName ?? `${options.name}-audit-webhook-tls`;
  const fileEntry = (nodePath: string, secret: string, key: string, m: number | undefined) => ({
    path: nodePath,
    owner: 'root:root',
    permissions: mode(m),
    contentFrom: { secret: { name: secret, key } },
  });
  const files = [
    ...options.files.map((f) => fileEntry(f.nodePath, secretName, keyOf(f.nodePath), f.mode)),
    ...(options.providedFiles ?? []).map((f) => fileEntry(f.nodePath, providedName, f.key, f.mode)),
  ];
  const kubeadmApi = apiVersion === ClusterApiVersion.V1BETA1 ? KubeadmApiVersion.V1BETA3 : KubeadmApiVersion.V1BETA4;
  const rollout = options.rolloutAfter === undefined ? {} : apiVersion === ClusterApiVersion.V1BETA1 ? { rolloutAfter: options.rolloutAfter } : { rollout: { after: options.rolloutAfter } };
  const metadata = { name: options.name, ...(options.namespace ? { namespace: options.namespace } : {}) };
  return {
    kubeadmControlPlane: {
      apiVersion,
      kind: 'KubeadmControlPlane',
      metadata,
      spec: {
        kubeadmConfigSpec: {
          clusterConfiguration: { apiServer: kubeadmApiServer(audit, kubeadmApi) },
          files,
        },
        ...rollout,
      },
    },
    secrets: [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: secretName, ...(options.namespace ? { namespace: options.namespace } : {}), labels: { 'app.kubernetes.io/managed-by': 'cdk8s-audit' } },
        type: 'Opaque',
        stringData: data,
      },
    ],
    ...(options.providedFiles?.length ? { providedSecret: { name: providedName, keys: options.providedFiles.map((f) => f.key) } } : {}),
  };
}
