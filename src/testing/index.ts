/**
 * `cdk8s-audit/testing`: helpers for kind-based test suites, framework-free (assertions throw
 * AuditAssertionError). The parts `cdk8s-audit prove` is built from:
 *
 *   const { cluster, tls, delete: remove } = await createKindClusterFromDist({ appDir: '.' });
 *   const creds = cluster.credentials();
 *   const client = new ApiClient(creds.server, creds.caPem);
 *   const res = await client.send({ kind: 'cert', certPem: creds.certPem, keyPem: creds.keyPem }, 'GET', '/api/v1/namespaces/default/secrets');
 *   const { events } = await waitForAuditEvents(async () => parseAuditEvents(await cluster.readNodeFile('/var/log/kubernetes/audit/audit.log'), 'node'), [res.auditId!]);
 *   assertAuditEvent(events, res.auditId!, { level: 'Metadata', user: 'kubernetes-admin', objectRef: { resource: 'secrets' } });
 *   await remove();
 *
 * Tools: kind and kubectl from PATH, or CDK8S_AUDIT_KIND / CDK8S_AUDIT_KUBECTL; a running Docker engine.
 */
export * from './assert';
export * from './client';
export * from './dist';
export * from './events';
export { RunOptions, RunResult, requireDocker, run, sleep, tryRun } from './exec';
export * from './judge';
export * from './kind';
export * from './kind-from-dist';
export * from './prove';
export * from './report';
export * from './sink';
