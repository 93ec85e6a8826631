/**
 * The audit files and flags a test apiserver runs with, made by the library itself: the policy with
 * `renderPolicyYaml`, the flags with `ApiserverAudit.commandLine()` (src/backends). So the real
 * apiserver also proves that what cdk8s-audit renders is accepted and does what it says.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiserverAudit } from '../../../src/backends/apiserver-audit';
import type { LogBackendProps, WebhookBackendProps } from '../../../src/backends/backends';
import { renderPolicyYaml } from '../../../src/policy/render';
import type { PolicyDocument } from '../../../src/policy/model';
import { KubernetesVersion } from '../../../src/core/kubernetes-version';

/** Writes `policy` as YAML with `renderPolicyYaml` and returns the path. */
export function writePolicyFile(dir: string, policy: PolicyDocument, name = 'audit-policy.yaml'): string {
  return writeRawFile(dir, name, renderPolicyYaml(policy));
}

/** Writes raw text (for policies the renderer would refuse or normalise); creates `dir` if needed. */
export function writeRawFile(dir: string, name: string, text: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

export interface AuditSetupInput {
  /** The policy: a document (rendered with renderPolicyYaml) or raw text. */
  readonly policy: PolicyDocument | string;
  /** Log backend props; the file is `<dir>/log/audit.log`. @default - no log backend */
  readonly log?: Omit<LogBackendProps, 'path' | 'kubernetesVersion'>;
  /** Webhook backend props (configFile included). @default - no webhook backend */
  readonly webhook?: Omit<WebhookBackendProps, 'kubernetesVersion'>;
}

export interface AuditSetup {
  readonly args: string[];
  readonly policyFile: string;
  /** The log file, when the log backend is on. */
  readonly logPath: string | undefined;
}

/**
 * Lays the files out like a node would (policy, log and webhook in sibling directories, which
 * ApiserverAudit insists on) and renders the flags for kube-apiserver `version`.
 */
export function auditSetup(version: string, dir: string, input: AuditSetupInput): AuditSetup {
  const policyDir = join(dir, 'policy');
  const policyFile =
    typeof input.policy === 'string' ? writeRawFile(policyDir, 'audit-policy.yaml', input.policy) : writePolicyFile(policyDir, input.policy);
  const logPath = input.log ? join(dir, 'log', 'audit.log') : undefined;
  const audit = new ApiserverAudit({
    kubernetesVersion: KubernetesVersion.of(version),
    policyFile,
    log: input.log ? { ...input.log, path: logPath } : undefined,
    webhook: input.webhook,
  });
  return { args: audit.commandLine(), policyFile, logPath };
}

/**
 * Raw log-backend flags (policy file + JSON log at `logPath`), for callers that manage their own
 * files. Prefer `auditSetup`, which renders the flags with the library.
 */
export function logBackendArgs(policyFile: string, logPath: string, extra: readonly string[] = []): string[] {
  return [`--audit-policy-file=${policyFile}`, `--audit-log-path=${logPath}`, ...extra];
}
