/**
 * Everything the kube-apiserver needs for auditing, in one value: the policy file and the backends,
 * rendered as flags and as the directories to mount. The control-plane renderers (kubeadm, kind,
 * static pod) all start from it.
 */
import { KubernetesVersion, parseKubernetesVersion } from '../core/kubernetes-version';
import { DEFAULT_POLICY_FILE } from '../core/node-paths';
import { ApiserverMount, HostPathType, LogBackend, LogBackendProps, WebhookBackend, WebhookBackendProps, flagsToBackendProps } from './backends';
import { AuditConfigError } from './errors';
import { getFlag } from './flag-table';
import { AuditArg, FlagValues, renderAuditArgs, toCommandLine, validateAuditFlags } from './flags';

export { DEFAULT_POLICY_FILE };

/** Props of the apiserver's audit configuration. */
export interface ApiserverAuditProps {
  /**
   * The policy file inside the apiserver pod; its directory is mounted read-only.
   * @default '/etc/kubernetes/audit/policy.yaml'
   */
  readonly policyFile?: string;
  /** The log backend, as a backend or as its props. @default - no log backend */
  readonly log?: LogBackend | LogBackendProps;
  /** The webhook backend, as a backend or as its props. @default - no webhook backend */
  readonly webhook?: WebhookBackend | WebhookBackendProps;
  /**
   * The Kubernetes version. Backends given as props are built for it; backends given as
   * instances must have been built for the same version.
   * @default - the newest version cdk8s-audit supports
   */
  readonly kubernetesVersion?: KubernetesVersion;
}

/** Props for `ApiserverAudit.fromFlags` beyond the flags themselves. */
export interface ApiserverAuditExtraProps {
  /** @default - the newest version cdk8s-audit supports */
  readonly kubernetesVersion?: KubernetesVersion;
  /** Log backend props merged over those from the flags (e.g. retentionPeriod). @default - none */
  readonly log?: LogBackendProps;
  /** Webhook backend props merged over those from the flags (e.g. sinkMaxBody). @default - none */
  readonly webhook?: WebhookBackendProps;
}

/**
 * Directories that must not be mounted into the apiserver for auditing: too broad (they would expose
 * kubelet credentials, manifests or the CA keys) or already mounted by kubeadm (a second volume at
 * the same mountPath makes the pod invalid).
 */
const FORBIDDEN_DIRS: Record<string, string> = {
  '/': 'the whole node filesystem',
  '/etc': 'all of the node configuration',
  '/var': 'all of the node state',
  '/var/log': 'every log on the node',
  '/var/lib': 'all of the node state, including kubelet and etcd data',
  '/etc/kubernetes': 'admin.conf, the kubelet credentials and the static pod manifests',
  '/etc/kubernetes/manifests': 'the static pod manifests (the kubelet would read audit files as pods)',
  '/etc/kubernetes/pki': "kubeadm's k8s-certs volume, already mounted at that path",
  '/etc/ssl/certs': "kubeadm's ca-certs volume, already mounted at that path",
  '/etc/pki': "kubeadm's etc-pki volume, already mounted at that path",
  '/etc/ca-certificates': "kubeadm's etc-ca-certificates volume, already mounted at that path",
  '/usr/share/ca-certificates': "kubeadm's usr-share-ca-certificates volume, already mounted at that path",
  '/usr/local/share/ca-certificates': "kubeadm's usr-local-share-ca-certificates volume, already mounted at that path",
  '/tmp': 'a shared scratch directory',
};

function isWithin(child: string, parent: string): boolean {
  return parent === '/' || child === parent || child.startsWith(parent.endsWith('/') ? parent : parent + '/');
}

/**
 * The kube-apiserver's audit configuration: flags plus mounts.
 *
 * @example
 * const audit = new ApiserverAudit({
 *   kubernetesVersion: KubernetesVersion.V1_35,
 *   log: { maxAge: Duration.days(30), maxBackups: 10, maxSize: Size.mebibytes(100) },
 *   webhook: { batch: { maxWait: Duration.seconds(5) } },
 * });
 * audit.commandLine(); // ['--audit-policy-file=/etc/kubernetes/audit-policy/policy.yaml', '--audit-log-path=…', …]
 * audit.mounts;        // policy dir (ro), log dir (rw), webhook dir (ro)
 */
export class ApiserverAudit {
  /**
   * From a flag set (flag names without dashes, as presets and the CLI produce them). A backend is
   * on when its flags are present; `extra` adds props that are not flags (retention goals, expected
   * rates, the sink's body limit).
   * @throws AuditConfigError naming every problem
   */
  public static fromFlags(values: FlagValues, extra: ApiserverAuditExtraProps = {}): ApiserverAudit {
    const withPolicy = { 'audit-policy-file': DEFAULT_POLICY_FILE, ...values };
    const problems = validateAuditFlags(withPolicy, { kubernetesVersion: extra.kubernetesVersion?.version });
    // Problems the constructor cannot see once flags became props: unknown flags, stray flags, types.
    const early = problems.filter((p) => /is not a kube-apiserver audit flag|so the (log|webhook) backend is off|is not (an integer|a finite number|a boolean|a Go duration|a string)/.test(p));
    if (early.length) throw new AuditConfigError(early);
    const has = (group: 'log' | 'webhook') => Object.keys(values).some((n) => getFlag(n).group === group);
    return new ApiserverAudit({
      kubernetesVersion: extra.kubernetesVersion,
      policyFile: withPolicy['audit-policy-file'] as string,
      log: has('log') || extra.log ? { ...flagsToBackendProps('log', values), ...extra.log } : undefined,
      webhook: has('webhook') || extra.webhook ? { ...flagsToBackendProps('webhook', values), ...extra.webhook } : undefined,
    });
  }

  public readonly kubernetesVersion: string;
  public readonly policyFile: string;
  public readonly log?: LogBackend;
  public readonly webhook?: WebhookBackend;
  /** All explicit flag values, policy file included. */
  public readonly flagValues: FlagValues;
  /** Directories to mount, deduplicated; each a directory, never a single file. */
  public readonly mounts: ApiserverMount[];
  public readonly warnings: string[];

  /** @throws AuditConfigError listing every problem */
  constructor(props: ApiserverAuditProps) {
    const problems: string[] = [];
    let version: string;
    try {
      version = parseKubernetesVersion(props.kubernetesVersion).text;
    } catch (e) {
      throw new AuditConfigError([(e as Error).message]);
    }
    this.kubernetesVersion = version;
    this.policyFile = props.policyFile ?? DEFAULT_POLICY_FILE;
    const build = <B, P>(field: string, given: B | P | undefined, Ctor: new (p: P) => B): B | undefined => {
      if (given === undefined) return undefined;
      if (given instanceof LogBackend || given instanceof WebhookBackend) {
        const b = given as unknown as LogBackend | WebhookBackend;
        if (parseKubernetesVersion(b.kubernetesVersion).minor !== parseKubernetesVersion(version).minor) {
          problems.push(
            `${field}.kubernetesVersion: ${JSON.stringify(b.kubernetesVersion)} differs from kubernetesVersion ${JSON.stringify(version)}; ` +
              'defaults and rules differ between versions — build the backend with the same kubernetesVersion, or pass its props instead',
          );
        }
        return given as B;
      }
      try {
        return new Ctor({ ...(given as P), kubernetesVersion: (given as { kubernetesVersion?: KubernetesVersion }).kubernetesVersion ?? KubernetesVersion.of(version) });
      } catch (e) {
        if (e instanceof AuditConfigError) problems.push(...e.problems.map((p) => `${field}.${p}`));
        else throw e;
        return undefined;
      }
    };
    this.log = build('log', props.log, LogBackend);
    this.webhook = build('webhook', props.webhook, WebhookBackend);
    if (props.log === undefined && props.webhook === undefined) {
      problems.push('log/webhook: neither backend is configured, so no event is written anywhere; add log: {} for a log file, or webhook: {} for a remote sink');
    }
    const values: Record<string, string | number | boolean> = { 'audit-policy-file': this.policyFile, ...this.log?.flagValues, ...this.webhook?.flagValues };
    this.flagValues = values;
    if (problems.length === 0) {
      const policyProp = getFlag('audit-policy-file').prop;
      problems.push(...validateAuditFlags(values, { kubernetesVersion: version }).map((p) => p.replace(/^--audit-policy-file:/, `${policyProp} (--audit-policy-file):`)));
    }
    const mounts: ApiserverMount[] = [];
    if (this.policyFile.startsWith('/')) {
      const dir = this.policyFile.slice(0, this.policyFile.lastIndexOf('/')) || '/';
      mounts.push({ name: 'audit-policy', path: dir, readOnly: true, pathType: HostPathType.DIRECTORY, purpose: 'audit policy' });
    }
    for (const m of [...(this.log?.mounts ?? []), ...(this.webhook?.mounts ?? [])]) mounts.push(m);
    this.mounts = this.mergeMounts(mounts, problems);
    if (problems.length) throw new AuditConfigError(problems);
    this.warnings = [...(this.log?.warnings ?? []), ...(this.webhook?.warnings ?? [])];
  }

  private mergeMounts(mounts: ApiserverMount[], problems: string[]): ApiserverMount[] {
    const out: ApiserverMount[] = [];
    for (const m of mounts) {
      const why = FORBIDDEN_DIRS[m.path];
      if (why) {
        problems.push(
          `${m.name}: the ${m.purpose} would be read from ${JSON.stringify(m.path)}, and mounting that directory into the apiserver exposes ${why}; ` +
            `keep the file in a dedicated directory such as /etc/kubernetes/${m.name} (cdk8s-audit check)`,
        );
        continue;
      }
      const same = out.find((o) => o.path === m.path);
      if (same) {
        if (same.readOnly !== m.readOnly) {
          problems.push(
            `${m.name}: ${JSON.stringify(m.path)} holds both the ${same.purpose} (read-${same.readOnly ? 'only' : 'write'}) and the ${m.purpose} ` +
              `(read-${m.readOnly ? 'only' : 'write'}); the apiserver must not be able to write its policy or credentials — use separate directories (cdk8s-audit check)`,
          );
        }
        continue; // same directory, same access: one mount serves both
      }
      const nested = out.find((o) => isWithin(m.path, o.path) || isWithin(o.path, m.path));
      if (nested) {
        problems.push(
          `${m.name}: ${JSON.stringify(m.path)} and ${nested.name} ${JSON.stringify(nested.path)} are nested; one mount would shadow or expose the other — ` +
            'use sibling directories such as /etc/kubernetes/audit-policy and /var/log/kubernetes/audit (cdk8s-audit check)',
        );
        continue;
      }
      out.push(m);
    }
    return out;
  }

  /** The flags as `{name, value}` (names without dashes), in the apiserver's `--help` order. */
  public args(): AuditArg[] {
    return renderAuditArgs(this.flagValues, { kubernetesVersion: this.kubernetesVersion });
  }

  /** The flags as `--name=value` strings. */
  public commandLine(): string[] {
    return toCommandLine(this.args());
  }
}
