import { decodePolicy } from './decode';
import { PolicyIssue, didYouMean, formatIssue, quote } from './issue';
import { ParsedKubernetesVersion, atLeast, parseKubernetesVersion } from '../core/kubernetes-version';
import { LEVELS, PolicyDocument, PolicyRule, STAGES } from './model';
import { readPolicyText } from './parse';

export interface ValidateOptions {
  /**
   * The kube-apiserver version whose loader to mimic.
   * @default the newest supported version
   */
  readonly kubernetesVersion?: string;
  /**
   * Also report fields the apiserver would silently drop (it loads such a policy, minus the field).
   * @default false — the answer is exactly the apiserver's verdict
   */
  readonly strict?: boolean;
}

/**
 * Validates an audit policy exactly as the kube-apiserver of `kubernetesVersion` does when it
 * loads `--audit-policy-file` (decode, apiVersion/kind, `ValidatePolicy`, "0 rules is illegal").
 * @param policy a parsed object (or YAML/JSON text)
 * @returns one message per problem; `[]` exactly when that apiserver loads the policy
 */
export function validatePolicy(policy: unknown, options: ValidateOptions = {}): string[] {
  return policyIssues(policy, options).map(formatIssue);
}

/** `validatePolicy` with structured results. */
export function policyIssues(policy: unknown, options: ValidateOptions = {}): PolicyIssue[] {
  const version = parseKubernetesVersion(options.kubernetesVersion);
  let value = policy;
  let duplicateKeys: PolicyIssue[] = [];
  if (typeof policy === 'string') {
    const read = readPolicyText(policy);
    if (read.issues.length > 0) return read.issues;
    value = read.value;
    duplicateKeys = read.duplicateKeys;
  }
  const decoded = decodePolicy(value);
  const extra = options.strict ? [...duplicateKeys, ...decoded.unknownFields, ...(decoded.tolerated ?? [])] : [];
  if (!decoded.document) return [...decoded.fatal, ...extra];
  const issues = [...semanticIssues(decoded.document, version), ...extra];
  if (decoded.document.rules.length === 0) {
    issues.push({
      path: 'rules',
      message: 'loaded illegal policy with 0 rules: the apiserver refuses to start',
      fix: 'add at least one rule, e.g. {level: Metadata} as a catch-all',
    });
  }
  return issues;
}

/** pkg/apis/audit/validation.ValidatePolicy, rule by rule. */
export function semanticIssues(policy: PolicyDocument, version: ParsedKubernetesVersion): PolicyIssue[] {
  return [
    ...omitStagesIssues(policy.omitStages, 'omitStages'),
    ...policy.rules.flatMap((rule, i) => ruleIssues(rule, `rules[${i}]`, version)),
  ];
}

function ruleIssues(rule: PolicyRule, path: string, version: ParsedKubernetesVersion): PolicyIssue[] {
  const issues = [
    ...levelIssues(rule.level, `${path}.level`),
    ...nonResourceURLIssues(rule.nonResourceURLs ?? [], `${path}.nonResourceURLs`),
    ...resourcesIssues(rule, `${path}.resources`, version),
    ...omitStagesIssues(rule.omitStages, `${path}.omitStages`),
  ];
  if ((rule.nonResourceURLs ?? []).length > 0 && ((rule.resources ?? []).length > 0 || (rule.namespaces ?? []).length > 0)) {
    issues.push({
      path: `${path}.nonResourceURLs`,
      message: 'rules cannot apply to both regular resources and non-resource URLs',
      fix: 'split it into two rules: one with resources/namespaces, one with nonResourceURLs',
    });
  }
  return issues;
}

function levelIssues(level: string | undefined, path: string): PolicyIssue[] {
  if (level === undefined || level === '') {
    return [{ path, message: 'Required value: every rule needs a level', fix: `set level to one of ${LEVELS.join(', ')}` }];
  }
  if ((LEVELS as readonly string[]).includes(level)) return [];
  return [{
    path,
    message: `Unsupported value: ${quote(level)}: supported values: ${LEVELS.map((l) => quote(l)).join(', ')}`,
    fix: didYouMean(level, LEVELS) ?? `use one of ${LEVELS.join(', ')} (case matters)`,
  }];
}

function nonResourceURLIssues(urls: string[], path: string): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  urls.forEach((url, i) => {
    if (url === '*') return;
    if (!url.startsWith('/')) {
      issues.push({ path: `${path}[${i}]`, message: `${quote(url)}: non-resource URL rules must begin with a '/' character`, fix: `write ${quote('/' + url)}` });
    }
    if (url !== '' && url.slice(0, -1).includes('*')) {
      issues.push({
        path: `${path}[${i}]`,
        message: `${quote(url)}: non-resource URL wildcards '*' must be the final character of the rule`,
        fix: `match by prefix instead, e.g. ${quote(url.slice(0, url.indexOf('*') + 1))}`,
      });
    }
  });
  return issues;
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function resourcesIssues(rule: PolicyRule, path: string, version: ParsedKubernetesVersion): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  (rule.resources ?? []).forEach((gr, i) => {
    const group = gr.group ?? '';
    const at = `${path}[${i}]`;
    if (group === '*' && !atLeast(version, 36)) {
      issues.push({
        path: `${at}.group`,
        message: `${quote(group)}: group "*" is only accepted from Kubernetes 1.36 (kubernetesVersion is ${version.text}); before that it must be a DNS subdomain`,
        fix: 'list the API groups explicitly, or omit resources to match every group',
      });
    } else if (group !== '' && group !== '*' && (group.length > 253 || !DNS1123_SUBDOMAIN.test(group))) {
      const slash = group.indexOf('/');
      issues.push({
        path: `${at}.group`,
        message: `${quote(group)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character${group.length > 253 ? ' (at most 253 characters)' : ''}`,
        fix: slash > 0 ? `drop the version: group ${quote(group.slice(0, slash))}` : group.toLowerCase() !== group ? `write ${quote(group.toLowerCase())}` : 'use the API group name, e.g. "apps" or "rbac.authorization.k8s.io" ("" is the core group)',
      });
    }
    if ((gr.resourceNames ?? []).length > 0 && (gr.resources ?? []).length === 0) {
      issues.push({
        path: `${at}.resourceNames`,
        message: `${quote(gr.resourceNames)}: using resourceNames requires at least one resource`,
        fix: 'list the resources these names belong to, e.g. resources: ["configmaps"]',
      });
    }
  });
  return issues;
}

function omitStagesIssues(stages: string[] | undefined, path: string): PolicyIssue[] {
  return (stages ?? []).flatMap((stage, i) =>
    (STAGES as readonly string[]).includes(stage)
      ? []
      : [{
          path: `${path}[${i}]`,
          message: `${quote(stage)}: allowed stages are ${STAGES.join(',')}`,
          fix: didYouMean(stage, STAGES) ?? `use one of ${STAGES.join(', ')}`,
        }],
  );
}
