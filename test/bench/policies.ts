/**
 * The policies the volume figures compare: every preset (src/presets) and four reference policies.
 *
 * "GKE-style" and "Falco-style" are written by hand for this benchmark from the descriptions in
 * shared/FACTS.md §5 (the shape of GKE's generated master audit policy; Falco's k8saudit policy "of a
 * similar shape"). They are NOT copies of the upstream files: rule lists, user names and group lists are
 * our own reading of that shape, and the figures label them "-style" for that reason.
 */
import { getPreset, Level, PolicyDocument, PolicyRule, PRESET_NAMES, Stage } from '../../src';
import { KubernetesVersion } from '../../src/core/kubernetes-version';

const READS = ['get', 'list', 'watch'];

/** The built-in API groups (the "known groups" a GKE-style policy records bodies for). */
const BUILTIN_GROUPS = [
  '', 'admissionregistration.k8s.io', 'apiextensions.k8s.io', 'apiregistration.k8s.io', 'apps', 'authentication.k8s.io',
  'authorization.k8s.io', 'autoscaling', 'batch', 'certificates.k8s.io', 'coordination.k8s.io', 'discovery.k8s.io',
  'events.k8s.io', 'flowcontrol.apiserver.k8s.io', 'networking.k8s.io', 'node.k8s.io', 'policy', 'rbac.authorization.k8s.io',
  'resource.k8s.io', 'scheduling.k8s.io', 'storage.k8s.io',
];
const builtinGroups = () => BUILTIN_GROUPS.map((group) => ({ group }));

const HEALTH_URLS = ['/healthz*', '/livez*', '/readyz*', '/version'];
const EVENTS = [{ group: '', resources: ['events'] }, { group: 'events.k8s.io', resources: ['events'] }];
const SECRETISH = [{ group: '', resources: ['secrets', 'configmaps', 'serviceaccounts/token'] }, { group: 'authentication.k8s.io', resources: ['tokenreviews'] }];

/** None for the constant reads of node and control-plane components. */
function noisySystemReads(): PolicyRule[] {
  return [
    { level: Level.NONE, users: ['system:kube-proxy'], verbs: ['watch'], resources: [{ group: '', resources: ['endpoints', 'services', 'services/status'] }, { group: 'discovery.k8s.io', resources: ['endpointslices'] }] },
    { level: Level.NONE, userGroups: ['system:nodes'], verbs: ['get'], resources: [{ group: '', resources: ['nodes', 'nodes/status'] }] },
    { level: Level.NONE, users: ['system:kube-controller-manager', 'system:kube-scheduler'], verbs: ['get'], namespaces: ['kube-system'], resources: [{ group: '', resources: ['endpoints'] }] },
    { level: Level.NONE, users: ['system:apiserver'], verbs: ['get'], resources: [{ group: '', resources: ['namespaces', 'namespaces/status', 'namespaces/finalize'] }] },
  ];
}

/** The shape both share: noise dropped, secret-like objects at Metadata, then `bodies`, then Metadata for the rest. */
function shapedPolicy(bodies: PolicyRule[]): PolicyDocument {
  return {
    apiVersion: 'audit.k8s.io/v1',
    kind: 'Policy',
    omitStages: [Stage.REQUEST_RECEIVED],
    rules: [
      ...noisySystemReads(),
      { level: Level.NONE, nonResourceURLs: HEALTH_URLS },
      { level: Level.NONE, resources: EVENTS },
      { level: Level.METADATA, resources: SECRETISH },
      ...bodies,
      { level: Level.METADATA },
    ],
  };
}

/**
 * GKE-style: None for noisy system reads, health URLs and events; Metadata for secrets, configmaps,
 * serviceaccounts/token and tokenreviews; Request for reads of the built-in groups; RequestResponse for
 * every other call to them; Metadata for everything else; RequestReceived omitted.
 */
export function gkeStylePolicy(): PolicyDocument {
  return shapedPolicy([
    { level: Level.REQUEST, verbs: READS, resources: builtinGroups() },
    { level: Level.REQUEST_RESPONSE, resources: builtinGroups() },
  ]);
}

/**
 * Falco-style: the same shape, tuned for detection (Falco's rules read request and response objects):
 * bodies for every group (custom resources too), interactive access with bodies, Metadata catch-all.
 */
export function falcoStylePolicy(): PolicyDocument {
  return shapedPolicy([
    { level: Level.REQUEST_RESPONSE, resources: [{ group: '', resources: ['pods/exec', 'pods/attach', 'pods/portforward'] }] },
    { level: Level.REQUEST, verbs: READS },
    { level: Level.REQUEST_RESPONSE, verbs: ['create', 'update', 'patch', 'delete', 'deletecollection'] },
  ]);
}

/** One rule for every request (RequestReceived omitted, like every other policy compared here). */
export function everythingAt(level: Level): PolicyDocument {
  return { apiVersion: 'audit.k8s.io/v1', kind: 'Policy', omitStages: [Stage.REQUEST_RECEIVED], rules: [{ level }] };
}

export interface BenchPolicy {
  /** Short id used in figure names and --policies. */
  readonly id: string;
  readonly label: string;
  readonly kind: 'preset' | 'reference';
  readonly policy: PolicyDocument;
  /** The preset's own backend flags (presets only). */
  readonly preset?: string;
}

export const GKE_STYLE = 'gke-style';

export function benchPolicies(kubernetesVersion: string): BenchPolicy[] {
  const presets = PRESET_NAMES.map((name): BenchPolicy => ({
    id: name,
    label: `preset ${name}`,
    kind: 'preset',
    policy: getPreset(name, { kubernetesVersion: KubernetesVersion.of(kubernetesVersion) }).policy,
    preset: name,
  }));
  return [
    ...presets,
    // The volume cost of `detections: ['falco']` (src/detections): the same preset with the rules Falco's conditions need.
    { id: 'pci-dss-falco', label: "preset pci-dss with detections: ['falco']", kind: 'preset', policy: getPreset('pci-dss', { kubernetesVersion: KubernetesVersion.of(kubernetesVersion), detections: ['falco'] }).policy, preset: 'pci-dss' },
    { id: GKE_STYLE, label: 'GKE-style (hand-written)', kind: 'reference', policy: gkeStylePolicy() },
    { id: 'falco-style', label: 'Falco-style (hand-written)', kind: 'reference', policy: falcoStylePolicy() },
    { id: 'metadata-all', label: 'Metadata for everything', kind: 'reference', policy: everythingAt(Level.METADATA) },
    { id: 'request-response-all', label: 'RequestResponse for everything', kind: 'reference', policy: everythingAt(Level.REQUEST_RESPONSE) },
  ];
}
