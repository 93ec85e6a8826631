/**
 * The Kubernetes minors cdk8s-audit validates against. Audit policy loading is identical from
 * 1.30 to 1.35; 1.36 added `group: "*"` (validation and matching).
 */
export const SUPPORTED_KUBERNETES_MINORS = [30, 31, 32, 33, 34, 35, 36, 37] as const;

/** The newest supported minor: the default wherever a version is optional. */
export const DEFAULT_KUBERNETES_VERSION = `1.${SUPPORTED_KUBERNETES_MINORS[SUPPORTED_KUBERNETES_MINORS.length - 1]}`;

/**
 * A Kubernetes version, for every prop that takes one (enum-like, as aws-eks' KubernetesVersion).
 * The construct that receives it checks it is supported and names its prop when it is not.
 *
 * @example
 * KubernetesVersion.V1_35
 * KubernetesVersion.of('1.36.2')
 */
export class KubernetesVersion {
  public static readonly V1_30 = new KubernetesVersion('1.30');
  public static readonly V1_31 = new KubernetesVersion('1.31');
  public static readonly V1_32 = new KubernetesVersion('1.32');
  public static readonly V1_33 = new KubernetesVersion('1.33');
  public static readonly V1_34 = new KubernetesVersion('1.34');
  public static readonly V1_35 = new KubernetesVersion('1.35');
  public static readonly V1_36 = new KubernetesVersion('1.36');
  public static readonly V1_37 = new KubernetesVersion('1.37');

  /**
   * A version not (yet) named by a constant: `1.MINOR`, `1.MINOR.PATCH` or `v1.MINOR.PATCH`.
   * @param version the version text, checked where it is used
   */
  public static of(version: string): KubernetesVersion {
    return new KubernetesVersion(version);
  }

  /** @param version the version text as given */
  private constructor(public readonly version: string) {}
}

/** A version after parsing: what the rules are looked up by. */
export interface ParsedKubernetesVersion {
  readonly major: 1;
  readonly minor: number;
  /** As given, normalised to `1.MINOR` or `1.MINOR.PATCH`. */
  readonly text: string;
}

/** A Kubernetes version cdk8s-audit cannot use; the message names the `kubernetesVersion` field and the value. */
export class KubernetesVersionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubernetesVersionError';
  }
}

/**
 * Parses `1.35`, `1.35.4` or `v1.35.4`, and refuses versions cdk8s-audit has no rules for.
 * @throws KubernetesVersionError naming the value and the supported range
 */
export function parseKubernetesVersion(version: string | KubernetesVersion = DEFAULT_KUBERNETES_VERSION): ParsedKubernetesVersion {
  if (version instanceof KubernetesVersion) version = version.version;
  const m = /^v?1\.(\d+)(?:\.(\d+))?$/.exec(version.trim());
  const supported = `1.${SUPPORTED_KUBERNETES_MINORS[0]} to 1.${SUPPORTED_KUBERNETES_MINORS[SUPPORTED_KUBERNETES_MINORS.length - 1]}`;
  if (!m) {
    throw new KubernetesVersionError(`kubernetesVersion ${JSON.stringify(version)} is not a Kubernetes version; write it as 1.MINOR or 1.MINOR.PATCH (supported: ${supported})`);
  }
  const minor = Number(m[1]);
  if (!(SUPPORTED_KUBERNETES_MINORS as readonly number[]).includes(minor)) {
    throw new KubernetesVersionError(`kubernetesVersion ${JSON.stringify(version)} is not supported: cdk8s-audit knows the audit rules of ${supported}`);
  }
  return { major: 1, minor, text: m[2] === undefined ? `1.${minor}` : `1.${minor}.${m[2]}` };
}

/** True when `version` is at least 1.`minor`. */
export function atLeast(version: ParsedKubernetesVersion, minor: number): boolean {
  return version.minor >= minor;
}
