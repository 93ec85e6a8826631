// The example app `cdk8s synth` runs: a realistic cluster audit setup.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Chart } from 'cdk8s';
import { ApiResources, AuditPolicy, AuditRule, Level } from './src';

const app = new App();
const chart = new Chart(app, 'audit');

const policy = new AuditPolicy(chart, 'policy', { kubernetesVersion: '1.37', policyName: 'cluster-audit' });
policy.addRules(
  AuditRule.ignoreHealthChecks(),
  AuditRule.ignoreEvents(),
  AuditRule.ignoreUsers(['system:kube-proxy'], { verbs: ['watch'], resources: [ApiResources.core('endpoints', 'services', 'services/status')] }),
  AuditRule.secretsAtMetadata(),
  AuditRule.forResources(Level.METADATA, [ApiResources.core('pods/exec', 'pods/attach', 'pods/portforward', 'pods/proxy', 'services/proxy')]),
  AuditRule.reads(Level.METADATA),
  AuditRule.forResources(Level.REQUEST_RESPONSE, [ApiResources.group('rbac.authorization.k8s.io')]),
  AuditRule.forResources(Level.REQUEST, [ApiResources.core(), ApiResources.group('apps'), ApiResources.group('batch')]),
  AuditRule.catchAll(Level.METADATA),
);

app.synth();

// Node-side files go to their own folder, never among the manifests a GitOps controller applies.
const nodeDir = join(app.outdir, 'node');
mkdirSync(nodeDir, { recursive: true });
writeFileSync(join(nodeDir, 'audit-policy.yaml'), policy.toYaml());
