/**
 * Cluster API: the KubeadmControlPlane and Secrets a ClusterAudit writes (dist/node/cluster-api/) are
 * accepted by a real kube-apiserver serving the real KubeadmControlPlane CRD of sigs.k8s.io/cluster-api
 * (the version in scripts/versions.env, fetched by scripts/fetch-cluster-api-crds.sh from the Go module
 * proxy), for both API versions the CRD serves (v1beta2 list-form extraArgs, v1beta1 map-form).
 *
 * Server-side apply with dryRun=All and fieldValidation=Strict: an unknown or misspelt field is an error
 * (not silently pruned), and the CRD's OpenAPI schema and CEL rules judge every value. The generated
 * fragment is merged into the smallest KubeadmControlPlane the schema accepts (version and
 * machineTemplate are required and are the user's), as a user merges it into theirs.
 * The embedded clusterConfiguration equals the kubeadm fragment the kind suite proves (the
 * ClusterConfiguration patch in kind-cluster.yaml).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, Chart } from 'cdk8s';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesVersion } from '../../src/core/kubernetes-version';
import { ClusterAudit, writeNodeFiles } from '../../src/gitops';
import { Preset } from '../../src/presets/preset-names';
import { ControlPlane, startControlPlane } from './support/control-plane';
import { sleep } from './support/processes';

const REPO = resolve(__dirname, '../..');
const GROUP = 'controlplane.cluster.x-k8s.io';

function crdDir(): string {
  const res = spawnSync('bash', [join(REPO, 'scripts', 'fetch-cluster-api-crds.sh'), '--print'], { encoding: 'utf8' });
  const dir = res.stdout.trim();
  if (res.status !== 0) throw new Error(`the Cluster API CRDs are not in ${dir || 'the cache'}. Run \`bash scripts/fetch-cluster-api-crds.sh\` (npm run test:e2e runs it).`);
  return dir;
}

let cp: ControlPlane;
let work = '';
let nodeDir = '';

type Obj = Record<string, any>;

/** Server-side apply, dry run, strict field validation. */
async function dryRunApply(path: string, obj: Obj) {
  return cp.client.request<Obj>('PATCH', `${path}?dryRun=All&fieldManager=cdk8s-audit-e2e&fieldValidation=Strict`, JSON.stringify(obj), {
    contentType: 'application/apply-patch+yaml',
  });
}

/** Create, dry run, strict field validation: the CRD's schema judges (server-side apply stops earlier at a wrong type, with HTTP 500). */
async function dryRunCreate(obj: Obj) {
  return cp.client.request<Obj>('POST', `/apis/${obj.apiVersion}/namespaces/default/kubeadmcontrolplanes?dryRun=All&fieldValidation=Strict`, obj);
}

/** What every KubeadmControlPlane has besides the audit settings: the user's part, per version. */
function completed(kcp: Obj): Obj {
  const v1beta2 = kcp.apiVersion === `${GROUP}/v1beta2`;
  const infra = v1beta2
    ? { spec: { infrastructureRef: { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'DockerMachineTemplate', name: 'demo-control-plane' } } }
    : { infrastructureRef: { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: 'DockerMachineTemplate', name: 'demo-control-plane' } };
  return { ...kcp, metadata: { ...kcp.metadata, namespace: 'default' }, spec: { ...kcp.spec, replicas: 3, version: 'v1.37.2', machineTemplate: infra } };
}

const read = (f: string) => readFileSync(join(nodeDir, f), 'utf8');

describe('Cluster API KubeadmControlPlane from a ClusterAudit, on a real apiserver with the real CRD', () => {
  beforeAll(async () => {
    const dir = crdDir();
    work = mkdtempSync(join(tmpdir(), 'cdk8s-audit-capi-'));
    const app = new App({ outdir: join(work, 'dist') });
    new ClusterAudit(new Chart(app, 'audit'), 'audit', {
      kubernetesVersion: KubernetesVersion.V1_37,
      presets: [Preset.PCI_DSS],
      webhook: {
        kubeconfig: { server: 'https://10.96.0.50:8443/audit', certificateAuthorityFile: 'ca.crt', clientCertificateFile: 'apiserver-client.crt', clientKeyFile: 'apiserver-client.key' },
        externalSink: true,
      },
      controlPlanes: { clusterApi: { name: 'demo-control-plane', rolloutAfter: '2026-03-09T09:00:00Z' } },
    });
    app.synth();
    writeNodeFiles(app, { cwd: work });
    nodeDir = join(work, 'dist', 'node');

    cp = await startControlPlane();
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
      const crd = parse(readFileSync(join(dir, f), 'utf8'));
      const res = await cp.client.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
      if (res.status !== 201) throw new Error(`installing ${f}: HTTP ${res.status} ${res.text.slice(0, 500)}`);
    }
    // Established, and both versions served (discovery lists them).
    for (let i = 0; ; i++) {
      const v2 = await cp.client.request('GET', `/apis/${GROUP}/v1beta2`);
      const v1 = await cp.client.request('GET', `/apis/${GROUP}/v1beta1`);
      if (v2.status === 200 && v1.status === 200 && v2.text.includes('"kubeadmcontrolplanes"')) break;
      if (i > 150) throw new Error(`the KubeadmControlPlane CRD was not served after 30 s: v1beta2 HTTP ${v2.status}, v1beta1 HTTP ${v1.status}`);
      await sleep(200);
    }
  });

  afterAll(async () => {
    await cp?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the Secrets pass a dry-run apply; their names carry a content hash', async () => {
    const secrets = parseAllDocuments(read('cluster-api/secrets.yaml')).map((d) => d.toJS() as Obj);
    expect(secrets).toHaveLength(1);
    expect(secrets[0].metadata.name).toMatch(/^demo-control-plane-audit-[0-9a-f]{10}$/);
    expect(Object.keys(secrets[0].stringData).sort()).toEqual(['kubeconfig.yaml', 'policy.yaml']);
    expect(secrets[0].stringData['policy.yaml']).toBe(read('rootfs/etc/kubernetes/audit/policy.yaml'));
    const res = await dryRunApply(`/api/v1/namespaces/default/secrets/${secrets[0].metadata.name}`, { ...secrets[0], metadata: { ...secrets[0].metadata, namespace: 'default' } });
    expect(res.status, res.text).toBe(201);
  });

  it.each(['v1beta2', 'v1beta1'])('KubeadmControlPlane %s passes a strict server-side dry-run apply, nothing pruned', async (version) => {
    const kcp = parse(read(`cluster-api/kubeadm-control-plane.${version}.yaml`)) as Obj;
    expect(kcp.apiVersion).toBe(`${GROUP}/${version}`);
    const obj = completed(kcp);
    const res = await dryRunApply(`/apis/${GROUP}/${version}/namespaces/default/kubeadmcontrolplanes/demo-control-plane`, obj);
    expect(res.status, res.text).toBe(201);
    // Strict validation refuses unknown fields outright; the only warning allowed is v1beta1's deprecation.
    const warnings = [res.headers.warning ?? []].flat();
    expect(warnings).toEqual(version === 'v1beta1' ? [`299 - "${GROUP}/v1beta1 KubeadmControlPlane is deprecated; use ${GROUP}/v1beta2 KubeadmControlPlane"`] : []);
    if (version === 'v1beta2') {
      // What the apiserver would store (v1beta2 is the storage version) holds every generated field as written.
      expect(res.body!.spec.kubeadmConfigSpec).toMatchObject(kcp.spec.kubeadmConfigSpec);
      expect(res.body!.spec.rollout).toEqual({ after: '2026-03-09T09:00:00Z' });
    }
    // v1beta1 was validated against its own schema (201 above). Its response is not compared: the CRD from
    // crd/bases has no conversion webhook (Cluster API's controller serves it in a real management cluster),
    // so the apiserver relabels the object as v1beta2 for storage and the v1beta2 schema prunes the map.
  });

  it('the schema judges: each version refuses the other\'s extraArgs shape, and inline content over 10,240 characters are refused', async () => {
    const v2 = completed(parse(read('cluster-api/kubeadm-control-plane.v1beta2.yaml')));
    const v1 = parse(read('cluster-api/kubeadm-control-plane.v1beta1.yaml')) as Obj;
    const mapForm = structuredClone(v2);
    mapForm.spec.kubeadmConfigSpec.clusterConfiguration.apiServer.extraArgs = v1.spec.kubeadmConfigSpec.clusterConfiguration.apiServer.extraArgs;
    const ok = await dryRunCreate(v2);
    expect(ok.status, ok.text).toBe(201);
    const a = await dryRunCreate(mapForm);
    expect([400, 422], a.text).toContain(a.status);
    expect(a.text).toMatch(/extraArgs/);
    const listForm = completed(structuredClone(v1));
    listForm.spec.kubeadmConfigSpec.clusterConfiguration.apiServer.extraArgs = v2.spec.kubeadmConfigSpec.clusterConfiguration.apiServer.extraArgs;
    const okV1 = await dryRunCreate(completed(v1));
    expect(okV1.status, okV1.text).toBe(201);
    const c = await dryRunCreate(listForm);
    expect([400, 422], c.text).toContain(c.status);
    expect(c.text).toMatch(/extraArgs/);
    const inline = structuredClone(v2);
    inline.spec.kubeadmConfigSpec.files[0] = { path: '/etc/kubernetes/audit/policy.yaml', content: `${read('rootfs/etc/kubernetes/audit/policy.yaml')}\n${'#'.repeat(10_240)}\n` };
    const b = await dryRunCreate(inline);
    expect(b.status, b.text).toBe(422);
    expect(b.text).toMatch(/files\[0\]\.content.*10240/);
  });

  it('the embedded clusterConfiguration is the kubeadm fragment the kind suite proves; files are where the flags read them', () => {
    const kindPatch = parse(parse(read('kind-cluster.yaml')).nodes[0].kubeadmConfigPatches[0]);
    const kubeadm = parse(read('kubeadm-config.yaml'));
    const v2 = parse(read('cluster-api/kubeadm-control-plane.v1beta2.yaml'));
    expect(kindPatch.apiVersion).toBe('kubeadm.k8s.io/v1beta4');
    expect(v2.spec.kubeadmConfigSpec.clusterConfiguration.apiServer).toEqual(kindPatch.apiServer);
    expect(v2.spec.kubeadmConfigSpec.clusterConfiguration.apiServer).toEqual(kubeadm.apiServer);
    // v1beta1: the same flags as a map.
    const v1 = parse(read('cluster-api/kubeadm-control-plane.v1beta1.yaml'));
    expect(v1.spec.kubeadmConfigSpec.clusterConfiguration.apiServer.extraArgs).toEqual(Object.fromEntries(kubeadm.apiServer.extraArgs.map((a: Obj) => [a.name, a.value])));
    expect(v1.spec.kubeadmConfigSpec.clusterConfiguration.apiServer.extraVolumes).toEqual(kubeadm.apiServer.extraVolumes);
    const args = Object.fromEntries(kubeadm.apiServer.extraArgs.map((a: Obj) => [a.name, a.value]));
    const paths = v2.spec.kubeadmConfigSpec.files.map((f: Obj) => f.path);
    expect(paths).toEqual([
      args['audit-policy-file'],
      args['audit-webhook-config-file'],
      '/etc/kubernetes/audit-webhook/ca.crt',
      '/etc/kubernetes/audit-webhook/apiserver-client.crt',
      '/etc/kubernetes/audit-webhook/apiserver-client.key',
    ]);
    expect(v2.spec.kubeadmConfigSpec.files.find((f: Obj) => f.path.endsWith('.key')).permissions).toBe('0600');
  });
});
