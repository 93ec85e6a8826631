/**
 * What the real apiserver accepts and refuses at start-up, and that our failure messages tell the user
 * which flag and which file are wrong, quoting the apiserver's own error line.
 */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { evaluatePolicy } from '../../src/policy/evaluate';
import type { PolicyDocument } from '../../src/policy/model';
import { validatePolicy } from '../../src/policy/validate';
import { ApiserverStartError } from './support/apiserver-errors';
import { readJsonAuditLog } from './support/audit-events';
import { auditSetup, writeRawFile } from './support/audit-files';
import { kubernetesVersions } from './support/binaries';
import { startControlPlane } from './support/control-plane';
import { makeTempDir, removeTempDir } from './support/processes';

/** Starts an apiserver expected to fail and returns the error (fails the test if it starts). */
async function startFailure(version: string, extraArgs: string[]): Promise<ApiserverStartError> {
  try {
    const cp = await startControlPlane({ version, extraArgs });
    await cp.stop();
  } catch (error) {
    if (error instanceof ApiserverStartError) return error;
    throw error;
  }
  throw new Error(`kube-apiserver v${version} started with ${extraArgs.join(' ')}, but it should have refused`);
}

describe.each(kubernetesVersions())('policy acceptance, kube-apiserver v%s', (version) => {
  test('a good policy is loaded and the apiserver becomes ready', async () => {
    const dir = makeTempDir('accept');
    try {
      const text = 'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n';
      expect(validatePolicy(text, { kubernetesVersion: version })).toEqual([]);
      const cp = await startControlPlane({ version, extraArgs: auditSetup(version, dir, { policy: text, log: {} }).args });
      console.log(`kube-apiserver v${version} ready ${cp.readyAfterMs} ms after spawn`);
      await cp.stop();
      expect(cp.apiserver.stderr()).not.toMatch(/falling back to lenient decoding/);
    } finally {
      removeTempDir(dir);
    }
  });

  test('a bad level is refused; the error quotes the apiserver and names --audit-policy-file and the file', async () => {
    const dir = makeTempDir('refuse');
    try {
      const text = 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Everything\n';
      const file = writeRawFile(dir, 'bad-level.yaml', text);
      expect(validatePolicy(text, { kubernetesVersion: version })).not.toEqual([]);
      const error = await startFailure(version, [`--audit-policy-file=${file}`]);
      expect(error.errorLines.join('\n')).toMatch(/loading audit policy file: rules\[0\]\.level: Unsupported value: \\?"Everything\\?"/);
      expect(error.flags).toEqual([`--audit-policy-file=${file}`]);
      expect(error.message).toContain(file);
      expect(error.message).toContain('loading audit policy file');
    } finally {
      removeTempDir(dir);
    }
  });

  test('a `resource:` typo is NOT refused: the field is dropped and the rule silently widens to everything', async () => {
    const dir = makeTempDir('typo');
    try {
      // Meant: "no events for secrets, metadata for the rest". Loaded: "no events for anything".
      const text = 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  resource:\n  - group: ""\n    resources: ["secrets"]\n- level: Metadata\n';
      expect(validatePolicy(text, { kubernetesVersion: version }), 'the apiserver loads it, so validatePolicy must too').toEqual([]);
      const { args, logPath } = auditSetup(version, dir, { policy: text, log: {} });
      const cp = await startControlPlane({ version, extraArgs: args });
      let status: number;
      try {
        status = (await cp.client.request('GET', '/api/v1/namespaces/default/configmaps')).status;
      } finally {
        await cp.stop();
      }
      expect(status).toBe(200);
      expect(cp.apiserver.stderr()).toMatch(/Audit policy contains errors, falling back to lenient decoding: strict decoding error: unknown field "rules\[0\]\.resource"/);
      expect(readJsonAuditLog(logPath!), 'the widened None rule must swallow every event').toEqual([]);
      // evaluatePolicy agrees when given what the apiserver kept (the rule without the unknown field).
      const kept: PolicyDocument = { apiVersion: 'audit.k8s.io/v1', kind: 'Policy', rules: [{ level: 'None' }, { level: 'Metadata' }] };
      expect(evaluatePolicy(kept, { verb: 'list', resourceRequest: true, apiVersion: 'v1', resource: 'configmaps', namespace: 'default', path: '/api/v1/namespaces/default/configmaps' }).level).toBe('None');
    } finally {
      removeTempDir(dir);
    }
  });

  test('a missing policy file is refused, naming the flag and the path', async () => {
    const file = '/nonexistent/cdk8s-audit/policy.yaml';
    const error = await startFailure(version, [`--audit-policy-file=${file}`]);
    expect(error.errorLines.join('\n')).toMatch(/loading audit policy file: failed to read file path/);
    expect(error.flags).toEqual([`--audit-policy-file=${file}`]);
  });

  test('a malformed webhook kubeconfig is refused, naming --audit-webhook-config-file', async () => {
    const dir = makeTempDir('bad-kubeconfig');
    try {
      const policy = writeRawFile(dir, 'policy.yaml', 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n');
      const kubeconfig = writeRawFile(dir, 'kubeconfig.yaml', 'clusters: [\n');
      const error = await startFailure(version, [`--audit-policy-file=${policy}`, `--audit-webhook-config-file=${kubeconfig}`]);
      expect(error.errorLines.join('\n')).toMatch(/initializing audit webhook: error loading config file/);
      expect(error.flags).toContain(`--audit-webhook-config-file=${kubeconfig}`);
    } finally {
      removeTempDir(dir);
    }
  });

  test('an invalid --audit-log-format is refused, and the message names the flag', async () => {
    const dir = makeTempDir('bad-format');
    try {
      const policy = writeRawFile(dir, 'policy.yaml', 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n');
      const error = await startFailure(version, [`--audit-policy-file=${policy}`, `--audit-log-path=${join(dir, 'audit.log')}`, '--audit-log-format=xml']);
      expect(error.errorLines.join('\n')).toMatch(/invalid audit log format xml/);
      expect(error.flags).toEqual(['--audit-log-format=xml']);
    } finally {
      removeTempDir(dir);
    }
  });
});
