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
// Every name is listed on purpose: a helper is public once it is added here.
export { assertAuditEvent, AuditAssertionError, auditEventDifferences, describeEvent, recordedLevel } from '../evidence/assert';
export type { ExpectedAuditEvent } from '../evidence/assert';
export { ApiClient, identityHeaders } from './client';
export type { Credentials, Identity, Impersonation, Response } from './client';
export { flagValue, readSynthesizedAudit } from './dist';
export type { KindConfig, NodeFilesManifest, SynthesizedAudit } from './dist';
export { groupByAuditId, parseAuditEvents } from '../evidence/events';
export type { AuditEvent, AuditObjectRef, AuditUser } from '../evidence/events';
export { waitForAuditEvents } from './wait';
export type { WaitOptions } from './wait';
export { requireDocker, run, sleep, tryRun } from './exec';
export type { RunOptions, RunResult } from './exec';
export { canaryForms, failureLines, judgeProve } from '../evidence/prove-judge';
export type { CheckStatus, Observed, ProveCheck, ProveInputs, ProveVerdict, SentProbe } from '../evidence/prove-judge';
export { accessFromKubeconfig, credentialsFromKubeconfig, kindBinary, KindCluster, kubectlBinary } from './kind';
export type { KindCreateOptions, KindToolOptions, KubeconfigAccess, KubeconfigCredentials } from './kind';
export { createKindClusterFromDist, placeProvisionedFiles, planKindMounts, writeTlsFiles } from './kind-from-dist';
export type { KindFromDist, KindFromDistOptions, MountPlan, TlsFiles } from './kind-from-dist';
export { durationMs, probeUri, prove, secretValuesOf } from './prove';
export type { ProveOptions, ProveRun, ProveStep, ProveTarget } from './prove';
export { writeProveReport } from './report';
export { deploySink, findSink, loadLocalImage, readManifests, readSinkStore } from './sink';
export type { SinkManifests, SinkStore } from './sink';
