/**
 * The gdpr preset with declared personal data on the real kube-apiserver (test/e2e/presets.test.ts runs every
 * preset with its defaults): a namespace and a custom resource declared as personal data, composed with
 * all-bodies (so everything else gets bodies), and with pci-dss (longer minimum, the user letting it win).
 * Every probe — the declared ones included — is recorded at the level the requirement table declares; no
 * request or response body of a declared namespace or resource reaches the log; RBAC changes in the declared
 * namespace keep their bodies.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { evaluatePolicy, getPreset, RetentionPrecedence } from '../../src';
import { KubernetesVersion } from '../../src/core/kubernetes-version';
import { levelRank } from '../../src/policy';
import { BodyLevel, PresetOptions, probeAttributes } from '../../src/presets';
import { logBackendArgs, writePolicyFile } from './support/audit-files';
import { groupByAuditId, readJsonAuditLog } from './support/audit-events';
import { kubernetesVersions } from './support/binaries';
import { ControlPlane, startControlPlane } from './support/control-plane';
import { makeTempDir, removeTempDir } from './support/processes';

const CUSTOMERS = 'customers';
/** A marker in every body that may be recorded at most at Metadata (declared personal data, secret material): never in the log. */
const MARKER = 'personal-data-marker-7f3a';

let running: ControlPlane | undefined;
let dirs: string[] = [];
afterEach(async () => {
  await running?.stop();
  running = undefined;
  for (const d of dirs) removeTempDir(d);
  dirs = [];
});

const declared: PresetOptions = { personalDataNamespaces: [CUSTOMERS], personalDataResources: [{ group: 'crm.example.com', resources: ['contacts'] }] };

describe.each(kubernetesVersions())('gdpr with declared personal data on kube-apiserver v%s', (version) => {
  it.each<[string, string[], PresetOptions]>([
    ['gdpr, all-bodies', ['gdpr'], { ...declared, bodyLevel: BodyLevel.ALL_BODIES }],
    ['gdpr + pci-dss, the minimum winning', ['gdpr', 'pci-dss'], { ...declared, retentionPrecedence: RetentionPrecedence.MINIMUM }],
  ])('%s: every probe at its declared level, no body of declared personal data in the log', async (_label, presets, options) => {
    const dir = makeTempDir('gdpr-preset');
    dirs.push(dir);
    const composed = getPreset(presets, { ...options, kubernetesVersion: KubernetesVersion.of(version) });
    const logPath = join(dir, 'audit.log');
    running = await startControlPlane({ version, extraArgs: logBackendArgs(writePolicyFile(dir, composed.policy), logPath) });
    const cp = running;
    await cp.client.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: CUSTOMERS } });
    const sent: { label: string; auditId?: string; min: string; max?: string; predicted: string }[] = [];
    for (const req of composed.requirements) {
      for (const probe of req.probes) {
        const caller = probe.as === 'anonymous' ? { anonymous: true as const } : { token: (probe.as === 'admin' ? cp.users.admin : cp.users.alice).token };
        // Bodies of requests that may be recorded at most at Metadata carry the marker.
        const body = probe.maxLevel === 'Metadata' && probe.body && typeof probe.body === 'object' ? { ...(probe.body as object), metadata: { ...((probe.body as { metadata?: object }).metadata ?? {}), annotations: { note: MARKER } } } : probe.body;
        const res = await cp.client.request(probe.method, probe.path, body, { caller, contentType: probe.method === 'PATCH' ? 'application/merge-patch+json' : undefined });
        sent.push({ label: `${req.preset} ${req.id} "${probe.description}" (${probe.method} ${probe.path} → ${res.status})`, auditId: res.auditId, min: probe.minLevel, max: probe.maxLevel, predicted: evaluatePolicy(composed.policy, probeAttributes(probe)).level });
      }
    }
    // A real object in the declared namespace, with a body, and an RBAC change there (bodies kept).
    await cp.client.request('POST', `/api/v1/namespaces/${CUSTOMERS}/persistentvolumeclaims`, {
      apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'profiles', annotations: { note: MARKER } }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    const rbac = await cp.client.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${CUSTOMERS}/roles`, {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'support-reader' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
    });
    await cp.stop();
    running = undefined;

    const byId = groupByAuditId(readJsonAuditLog(logPath));
    const problems: string[] = [];
    const declaredProbes = sent.filter((s) => s.label.includes('declared personal data'));
    expect(declaredProbes.length).toBe(8); // 4 per requirement about personal data × 2 (Art. 32(1)(b), Art. 5(1)(c))
    for (const s of sent) {
      const levels = [...new Set((byId.get(s.auditId ?? '') ?? []).map((e) => e.level))];
      const observed = levels[0] ?? 'None';
      if (levels.length > 1) problems.push(`${s.label}: several levels ${levels.join(', ')}`);
      if (observed !== s.predicted) problems.push(`${s.label}: recorded ${observed}, evaluatePolicy predicts ${s.predicted}`);
      if (levelRank(observed) < levelRank(s.min)) problems.push(`${s.label}: recorded ${observed}, needs at least ${s.min}`);
      if (s.max && levelRank(observed) > levelRank(s.max)) problems.push(`${s.label}: recorded ${observed}, allows at most ${s.max}`);
    }
    expect(problems, problems.join('\n')).toEqual([]);
    expect(readFileSync(logPath, 'utf8')).not.toContain(MARKER);
    expect((byId.get(rbac.auditId ?? '') ?? []).map((e) => e.level)).toContain('RequestResponse');
  });
});
