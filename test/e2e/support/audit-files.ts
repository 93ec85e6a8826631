/** Files the audit flags point at, written with the library's own renderers (so the apiserver tests them too). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderPolicyYaml } from '../../../src/policy/render';
import type { PolicyDocument } from '../../../src/policy/model';

/** Writes `policy` as YAML with `renderPolicyYaml` and returns the path. */
export function writePolicyFile(dir: string, policy: PolicyDocument, name = 'audit-policy.yaml'): string {
  const path = join(dir, name);
  writeFileSync(path, renderPolicyYaml(policy));
  return path;
}

/** Writes raw policy text (for policies the renderer would refuse or normalise). */
export function writeRawFile(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The log backend flags the tests use: JSON lines to `path`, rotation off unless asked. */
export function logBackendArgs(policyFile: string, logPath: string, extra: readonly string[] = []): string[] {
  return [`--audit-policy-file=${policyFile}`, `--audit-log-path=${logPath}`, ...extra];
}
