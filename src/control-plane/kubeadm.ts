/**
 * kubeadm ClusterConfiguration for auditing: `apiServer.extraArgs` (a map in v1beta3, a list of
 * `{name, value}` in v1beta4) and `apiServer.extraVolumes` mounting directories, never files.
 *
 * kubeadm accepts v1beta3 up to 1.36 (1.37 refuses it) and v1beta4 from 1.31
 * (cmd/kubeadm/app/util/config/common.go, validateSupportedVersion).
 */
import { renderGoYaml } from '../core/go-yaml';
import { ApiserverMount } from '../backends/backends';
import { ApiserverAudit } from '../backends/apiserver-audit';
import { AuditConfigError } from '../backends/errors';
import { parseKubernetesVersion } from '../core/kubernetes-version';

/** kubeadm configuration API versions cdk8s-audit renders. */
export enum KubeadmApiVersion {
  /** `extraArgs` is a map. Kubernetes ≤ 1.36. */
  V1BETA3 = 'kubeadm.k8s.io/v1beta3',
  /** `extraArgs` is a list of `{name, value}`. Kubernetes ≥ 1.31. */
  V1BETA4 = 'kubeadm.k8s.io/v1beta4',
}

/** First and last Kubernetes minor whose kubeadm reads each API version. */
export const KUBEADM_API_SUPPORT: Record<KubeadmApiVersion, { firstMinor: number; lastMinor: number }> = {
  [KubeadmApiVersion.V1BETA3]: { firstMinor: 22, lastMinor: 36 },
  [KubeadmApiVersion.V1BETA4]: { firstMinor: 31, lastMinor: Number.MAX_SAFE_INTEGER },
};

/** The newest API version kubeadm of that minor reads. */
export function defaultKubeadmApiVersion(minor: number): KubeadmApiVersion {
  return minor >= KUBEADM_API_SUPPORT[KubeadmApiVersion.V1BETA4].firstMinor ? KubeadmApiVersion.V1BETA4 : KubeadmApiVersion.V1BETA3;
}

/** Throws when kubeadm of `minor` does not read `apiVersion`. */
export function checkKubeadmApiVersion(apiVersion: string, minor: number): KubeadmApiVersion {
  const known = Object.values(KubeadmApiVersion) as string[];
  if (!known.includes(apiVersion)) {
    throw new AuditConfigError([`apiVersion: ${JSON.stringify(apiVersion)} is not a kubeadm API version cdk8s-audit renders; use ${known.join(' or ')}`]);
  }
  const v = apiVersion as KubeadmApiVersion;
  const { firstMinor, lastMinor } = KUBEADM_API_SUPPORT[v];
  if (minor < firstMinor || minor > lastMinor) {
    const range = lastMinor === Number.MAX_SAFE_INTEGER ? `from 1.${firstMinor} on` : `from 1.${firstMinor} to 1.${lastMinor}`;
    throw new AuditConfigError([
      `apiVersion: ${JSON.stringify(apiVersion)} is not read by kubeadm 1.${minor} (kubeadm reads it ${range}); use ${defaultKubeadmApiVersion(minor)}`,
    ]);
  }
  return v;
}

/** kubeadm's HostPathMount. */
export interface KubeadmHostPathMount {
  readonly name: string;
  readonly hostPath: string;
  readonly mountPath: string;
  readonly readOnly: boolean;
  readonly pathType: string;
}

export function kubeadmExtraVolumes(mounts: readonly ApiserverMount[]): KubeadmHostPathMount[] {
  return mounts.map((m) => ({ name: m.name, hostPath: m.path, mountPath: m.path, readOnly: m.readOnly, pathType: m.pathType }));
}

/** The `apiServer` fragment in the shape of the given API version. */
export function kubeadmApiServer(audit: ApiserverAudit, apiVersion: KubeadmApiVersion): Record<string, unknown> {
  const args = audit.args();
  const extraArgs = apiVersion === KubeadmApiVersion.V1BETA3 ? Object.fromEntries(args.map((a) => [a.name, a.value])) : args.map((a) => ({ name: a.name, value: a.value }));
  return { extraArgs, extraVolumes: kubeadmExtraVolumes(audit.mounts) };
}

export interface KubeadmConfigOptions {
  /** @default the newest version kubeadm of the audit's Kubernetes version reads */
  readonly apiVersion?: KubeadmApiVersion | string;
}

/**
 * A ClusterConfiguration holding only the audit settings, to merge into the cluster's kubeadm
 * config. `kubernetesVersion` is set when the audit's version has a patch number.
 */
export function kubeadmClusterConfiguration(audit: ApiserverAudit, options: KubeadmConfigOptions = {}): Record<string, unknown> {
  const version = parseKubernetesVersion(audit.kubernetesVersion);
  const apiVersion = checkKubeadmApiVersion(options.apiVersion ?? defaultKubeadmApiVersion(version.minor), version.minor);
  return {
    apiVersion,
    kind: 'ClusterConfiguration',
    ...(version.text.split('.').length === 3 ? { kubernetesVersion: `v${version.text}` } : {}),
    apiServer: kubeadmApiServer(audit, apiVersion),
  };
}

export function renderKubeadmClusterConfiguration(audit: ApiserverAudit, options: KubeadmConfigOptions = {}): string {
  return renderGoYaml(kubeadmClusterConfiguration(audit, options));
}
