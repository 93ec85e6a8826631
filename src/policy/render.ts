import { renderGoYaml } from '../core/go-yaml';
import { PolicyDocument, PolicyRule } from './model';

const RULE_KEYS: (keyof PolicyRule)[] = ['level', 'users', 'userGroups', 'verbs', 'resources', 'namespaces', 'nonResourceURLs', 'omitStages', 'omitManagedFields'];

/** The policy as a plain JSON object with keys in the apiserver's order and no undefined values. */
export function policyToJson(policy: PolicyDocument): Record<string, unknown> {
  const out: Record<string, unknown> = { apiVersion: policy.apiVersion, kind: policy.kind };
  if (policy.metadata && Object.keys(policy.metadata).length > 0) out.metadata = policy.metadata;
  if (policy.omitStages !== undefined) out.omitStages = [...policy.omitStages];
  if (policy.omitManagedFields !== undefined) out.omitManagedFields = policy.omitManagedFields;
  out.rules = policy.rules.map((rule) => {
    const r: Record<string, unknown> = {};
    for (const key of RULE_KEYS) {
      const value = rule[key];
      if (value === undefined) continue;
      r[key] = key === 'resources' ? (value as PolicyRule['resources'])!.map((gr) => dropUndefined({ group: gr.group, resources: gr.resources, resourceNames: gr.resourceNames })) : value;
    }
    return r;
  });
  return out;
}

function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** YAML for `--audit-policy-file`, read by the apiserver's YAML 1.1 decoder: see renderGoYaml. */
export function renderPolicyYaml(policy: PolicyDocument): string {
  return renderGoYaml(policyToJson(policy));
}
