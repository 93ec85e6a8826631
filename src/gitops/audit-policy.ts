import { Construct } from 'constructs';
import { AuditRuleProps, toPolicyRule } from '../policy/audit-rule';
import { formatIssue } from '../policy/issue';
import { DEFAULT_KUBERNETES_VERSION, KubernetesVersion, parseKubernetesVersion } from '../core/kubernetes-version';
import { LintFinding, Severity, lintPolicy } from '../policy/lint';
import { AUDIT_API_VERSION, PolicyDocument, PolicyRule, Stage } from '../policy/model';
import { parsePolicy } from '../policy/parse';
import { renderPolicyYaml } from '../policy/render';
import { policyIssues } from '../policy/validate';
import { ComposedPreset, PresetOptions } from '../presets/compose';
import { getPreset } from '../presets';
import { Preset } from '../presets/preset-names';

export interface AuditPolicyProps {
  /** Rules in evaluation order (the first match wins). More can be added with `addRule`. @default none */
  readonly rules?: AuditRuleProps[];
  /**
   * Stages never recorded, for every rule.
   * @default [Stage.REQUEST_RECEIVED] — ResponseComplete carries everything RequestReceived does plus the outcome
   */
  readonly omitStages?: Stage[];
  /** Leave managedFields out of recorded bodies. @default true */
  readonly omitManagedFields?: boolean;
  /** The kube-apiserver version the policy must load on. @default - the newest supported version */
  readonly kubernetesVersion?: KubernetesVersion;
  /** metadata.name of the rendered policy. @default none */
  readonly policyName?: string;
  /** Lint findings at or above this severity fail synth. @default Severity.ERROR */
  readonly lintFailOn?: Severity;
  /** Lint finding ids that never fail synth. @default none */
  readonly lintIgnore?: string[];
}

/** Options of `AuditPolicy.fromYaml` and `AuditPolicy.fromDocument`: the policy itself comes from the document. */
export interface AuditPolicyImportOptions {
  /** The kube-apiserver version the policy must load on. @default - the newest supported version */
  readonly kubernetesVersion?: KubernetesVersion;
  /** Lint findings at or above this severity fail synth. @default Severity.ERROR */
  readonly lintFailOn?: Severity;
  /** Lint finding ids that never fail synth. @default none */
  readonly lintIgnore?: string[];
}

/** Options of `AuditPolicy.fromPreset`: the presets' customisation and the lint settings. */
export interface AuditPolicyPresetOptions extends PresetOptions {
  /** Lint findings at or above this severity fail synth. @default Severity.ERROR */
  readonly lintFailOn?: Severity;
  /** Lint finding ids that never fail synth. @default none */
  readonly lintIgnore?: string[];
}

const SEVERITY_ORDER = [Severity.INFO, Severity.WARNING, Severity.ERROR];

/**
 * An audit.k8s.io/v1 Policy for `--audit-policy-file`. It is a node-side file, not a cluster
 * object: render it with `toYaml()` (the synth layout places it beside the kubeadm/kind config).
 * At synth, the policy is validated as the chosen kube-apiserver version would and linted.
 *
 * @example
 * const policy = new AuditPolicy(chart, 'policy', { kubernetesVersion: KubernetesVersion.V1_35 });
 * policy.addRule(AuditRule.ignoreHealthChecks());
 * policy.addRule(AuditRule.secretsAtMetadata());
 * policy.addRule(AuditRule.catchAll(Level.METADATA));
 */
export class AuditPolicy extends Construct {
  /** Imports an existing policy (GKE's, Falco's, OpenShift's…) exactly as written; throws on unknown fields. */
  public static fromYaml(scope: Construct, id: string, text: string, props: AuditPolicyImportOptions = {}): AuditPolicy {
    const doc = parsePolicy(text, `AuditPolicy.fromYaml(${id})`);
    return AuditPolicy.fromDocument(scope, id, doc, props);
  }

  /**
   * A policy from one or more compliance presets (e.g. `['pci-dss', 'hipaa']`), composed and customised.
   * @throws Error naming an unknown preset (with the valid names) or a customisation that breaks a requirement
   */
  public static fromPreset(scope: Construct, id: string, presets: Preset[], options: AuditPolicyPresetOptions = {}): AuditPolicy {
    const composed = getPreset(presets, options);
    const policy = AuditPolicy.fromDocument(scope, id, composed.policy, options);
    policy._preset = composed;
    return policy;
  }

  /** Wraps a parsed policy document without adding defaults. */
  public static fromDocument(scope: Construct, id: string, doc: PolicyDocument, props: AuditPolicyImportOptions = {}): AuditPolicy {
    const policy = new AuditPolicy(scope, id, { ...props, policyName: doc.metadata?.name });
    policy.importedMetadata = doc.metadata;
    policy._omitStages = doc.omitStages ? [...(doc.omitStages as Stage[])] : undefined;
    policy._omitManagedFields = doc.omitManagedFields;
    policy._rules.push(...doc.rules.map((r) => JSON.parse(JSON.stringify(r)) as PolicyRule));
    return policy;
  }

  /** The version the policy is validated for. */
  public readonly kubernetesVersion: string;
  /** The composed preset, when made by `fromPreset` (its requirement table, retention and backend flags). */
  public get preset(): ComposedPreset | undefined {
    return this._preset;
  }
  private _preset?: ComposedPreset;
  private readonly _rules: PolicyRule[] = [];
  private _omitStages: Stage[] | undefined;
  private _omitManagedFields: boolean | undefined;
  private importedMetadata: PolicyDocument['metadata'];
  private readonly policyName?: string;
  private readonly lintFailOn: Severity;
  private readonly lintIgnore: string[];

  constructor(scope: Construct, id: string, props: AuditPolicyProps = {}) {
    super(scope, id);
    try {
      this.kubernetesVersion = parseKubernetesVersion(props.kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION).text;
    } catch (e) {
      throw new Error(`AuditPolicy ${id}: props.${(e as Error).message}`);
    }
    if (props.lintFailOn !== undefined && !SEVERITY_ORDER.includes(props.lintFailOn)) {
      throw new Error(`AuditPolicy ${id}: props.lintFailOn ${JSON.stringify(props.lintFailOn)} is not one of ${SEVERITY_ORDER.join(', ')}`);
    }
    this._omitStages = props.omitStages ?? [Stage.REQUEST_RECEIVED];
    this._omitManagedFields = props.omitManagedFields ?? true;
    this.policyName = props.policyName;
    this.lintFailOn = props.lintFailOn ?? Severity.ERROR;
    this.lintIgnore = props.lintIgnore ?? [];
    for (const rule of props.rules ?? []) this.addRule(rule);
    this.node.addValidation({ validate: () => this.validate() });
  }

  /** Appends a rule (evaluated after the existing ones). */
  public addRule(rule: AuditRuleProps): this {
    this._rules.push(toPolicyRule(rule));
    return this;
  }

  /** Appends several rules in order. */
  public addRules(...rules: AuditRuleProps[]): this {
    for (const r of rules) this.addRule(r);
    return this;
  }

  /** Inserts a rule before every existing rule (it takes precedence). */
  public prependRule(rule: AuditRuleProps): this {
    this._rules.unshift(toPolicyRule(rule));
    return this;
  }

  /** The rules in evaluation order (copies). */
  public get rules(): PolicyRule[] {
    return JSON.parse(JSON.stringify(this._rules));
  }

  /** The policy as plain audit.k8s.io/v1 data. */
  public toDocument(): PolicyDocument {
    const metadata = this.importedMetadata ?? (this.policyName ? { name: this.policyName } : undefined);
    return JSON.parse(JSON.stringify({
      apiVersion: AUDIT_API_VERSION,
      kind: 'Policy',
      ...(metadata ? { metadata } : {}),
      ...(this._omitStages !== undefined ? { omitStages: this._omitStages } : {}),
      ...(this._omitManagedFields !== undefined ? { omitManagedFields: this._omitManagedFields } : {}),
      rules: this._rules,
    }));
  }

  /** YAML for `--audit-policy-file`. */
  public toYaml(): string {
    return renderPolicyYaml(this.toDocument());
  }

  /** Lint findings for the policy as it stands. */
  public lint(): LintFinding[] {
    return lintPolicy(this.toDocument(), { kubernetesVersion: this.kubernetesVersion, ignore: this.lintIgnore });
  }

  private validate(): string[] {
    const doc = this.toDocument();
    const issues = policyIssues(doc, { kubernetesVersion: this.kubernetesVersion, strict: true }).map(
      (i) => `audit policy for Kubernetes ${this.kubernetesVersion}: ${formatIssue(i)}`,
    );
    if (issues.length > 0) return issues;
    const threshold = SEVERITY_ORDER.indexOf(this.lintFailOn);
    return this.lint()
      .filter((f) => SEVERITY_ORDER.indexOf(f.severity) >= threshold)
      .map((f) => `audit policy lint ${f.severity} [${f.id}]: ${f.message}; fix: ${f.fix} (or list "${f.id}" in lintIgnore)`);
  }
}

