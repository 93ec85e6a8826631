/**
 * Seeded random audit policies, valid and broken in the ways people break them, for the differential
 * check against the real apiserver. The same seed gives the same policies (the seed is printed).
 */
import { stringify as yamlStringify } from 'yaml';
import { Rng } from '../../support/rng';

type Json = any; // generated policies are deliberately not always well-typed

const LEVELS = ['None', 'Metadata', 'Request', 'RequestResponse'];
const STAGES = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'];
const USERS = ['alice', 'system:apiserver', 'system:kube-proxy', 'system:serviceaccount:kube-system:default', ''];
const GROUPS = ['system:masters', 'system:authenticated', 'system:unauthenticated', 'dev'];
const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection', 'impersonate', '*'];
const API_GROUPS = ['', 'apps', 'rbac.authorization.k8s.io', 'e2e.example.com', 'x-y.z9.io', 'batch'];
const RESOURCES = ['pods', 'pods/log', 'pods/*', '*/scale', '*', 'secrets', 'deployments/status', 'configmaps', 'serviceaccounts/token'];
const NAMESPACES = ['', 'kube-system', 'default', 'team-a'];
const URLS = ['/healthz', '/healthz*', '*', '/api*', '/version', '/metrics', '/'];

export function validRule(rng: Rng): Json {
  const rule: Json = { level: rng.pick(LEVELS) };
  if (rng.chance(0.3)) rule.users = rng.subset(USERS, 3);
  if (rng.chance(0.3)) rule.userGroups = rng.subset(GROUPS, 2);
  if (rng.chance(0.4)) rule.verbs = rng.subset(VERBS, 4);
  const shape = rng.pick(['resources', 'nonResource', 'plain', 'namespaces']);
  if (shape === 'resources' || (shape === 'namespaces' && rng.chance(0.5))) {
    rule.resources = Array.from({ length: 1 + rng.int(3) }, () => {
      const gr: Json = {};
      if (rng.chance(0.8)) gr.group = rng.pick(API_GROUPS);
      if (rng.chance(0.7)) {
        gr.resources = rng.subset(RESOURCES, 3);
        if (rng.chance(0.25)) gr.resourceNames = rng.subset(['web', 'a.b', 'kube-root-ca.crt'], 2);
      }
      return gr;
    });
  }
  if (shape === 'namespaces') rule.namespaces = rng.subset(NAMESPACES, 2);
  if (shape === 'nonResource') rule.nonResourceURLs = rng.subset(URLS, 3);
  if (rng.chance(0.3)) rule.omitStages = rng.subset(STAGES, 2);
  if (rng.chance(0.2)) rule.omitManagedFields = rng.chance(0.5);
  return rule;
}

export function validPolicy(rng: Rng): Json {
  const policy: Json = { apiVersion: 'audit.k8s.io/v1', kind: 'Policy' };
  if (rng.chance(0.2)) policy.metadata = { name: 'generated' };
  if (rng.chance(0.3)) policy.omitStages = rng.subset(STAGES, 2);
  if (rng.chance(0.2)) policy.omitManagedFields = rng.chance(0.5);
  policy.rules = Array.from({ length: 1 + rng.int(4) }, () => validRule(rng));
  return policy;
}

/** A change to a policy object; `textOnly` ones need JSON text and are applied by `render`. */
interface Mutation {
  readonly name: string;
  apply(policy: Json, rng: Rng): void;
}

/**
 * An object element of `owner[key]` to mutate, added when there is none: earlier mutations may have left
 * a null, an array or a string where a list of objects was, or null elements in it.
 */
function someObjectIn(owner: Json, key: string, fresh: () => Json, rng: Rng): Json {
  if (!Array.isArray(owner[key])) owner[key] = [];
  const objects = owner[key].filter((item: Json) => item !== null && typeof item === 'object' && !Array.isArray(item));
  if (objects.length > 0) return rng.pick(objects);
  const item = fresh();
  owner[key].push(item);
  return item;
}

function someRule(policy: Json, rng: Rng): Json {
  return someObjectIn(policy, 'rules', () => ({ level: 'Metadata' }), rng);
}

function someGroupResources(policy: Json, rng: Rng): Json {
  const rule = someRule(policy, rng);
  delete rule.nonResourceURLs;
  return someObjectIn(rule, 'resources', () => ({ group: '' }), rng);
}

export const MUTATIONS: readonly Mutation[] = [
  { name: 'bad level', apply: (p, r) => (someRule(p, r).level = r.pick(['metadata', 'Foo', 'NONE', 'Request ', 'requestresponse'])) },
  { name: 'empty level', apply: (p, r) => (someRule(p, r).level = '') },
  { name: 'missing level', apply: (p, r) => delete someRule(p, r).level },
  { name: 'null level', apply: (p, r) => (someRule(p, r).level = null) },
  { name: 'bad rule stage', apply: (p, r) => (someRule(p, r).omitStages = ['ResponseComplete', r.pick(['RequestRecieved', 'Complete', '', 'panic'])]) },
  { name: 'bad policy stage', apply: (p, r) => (p.omitStages = [r.pick(['Started', 'requestReceived', 'ResponseCompleted'])]) },
  { name: 'nonResourceURL without slash', apply: (p, r) => Object.assign(stripResources(someRule(p, r)), { nonResourceURLs: [r.pick(['healthz', 'api/*', 'metrics'])] }) },
  { name: 'nonResourceURL inner star', apply: (p, r) => Object.assign(stripResources(someRule(p, r)), { nonResourceURLs: [r.pick(['/a*/b', '/*x', '**', '/api/*/v1'])] }) },
  { name: 'empty nonResourceURL', apply: (p, r) => Object.assign(stripResources(someRule(p, r)), { nonResourceURLs: ['/healthz', ''] }) },
  { name: 'nonResourceURLs with resources', apply: (p, r) => Object.assign(someRule(p, r), { nonResourceURLs: ['/healthz'], resources: [{ group: '', resources: ['pods'] }] }) },
  { name: 'nonResourceURLs with namespaces', apply: (p, r) => Object.assign(someRule(p, r), { nonResourceURLs: ['/metrics'], namespaces: ['default'] }) },
  { name: 'invalid group', apply: (p, r) => (someGroupResources(p, r).group = r.pick(['Apps', 'apps/v1', '-bad', 'a..b', 'x'.repeat(254), 'a_b', 'UPPER.io', 'rbac.authorization.k8s.io/v1'])) },
  { name: 'wildcard group (1.36+)', apply: (p, r) => (someGroupResources(p, r).group = '*') },
  { name: 'wildcard group with resources (1.36+)', apply: (p, r) => Object.assign(someGroupResources(p, r), { group: '*', resources: ['pods', 'secrets'] }) },
  { name: 'resourceNames without resources', apply: (p, r) => Object.assign(someGroupResources(p, r), { resources: undefined, resourceNames: ['web'] }) },
  { name: 'resourceNames with empty resources', apply: (p, r) => Object.assign(someGroupResources(p, r), { resources: [], resourceNames: ['web'] }) },
  { name: 'zero rules', apply: (p) => (p.rules = []) },
  { name: 'missing rules', apply: (p) => delete p.rules },
  { name: 'null rules', apply: (p) => (p.rules = null) },
  { name: 'wrong apiVersion', apply: (p, r) => (p.apiVersion = r.pick(['audit.k8s.io/v1beta1', 'audit.k8s.io/v1alpha1', 'v1', 'audit.k8s.io/v2', 'audit.k8s.io'])) },
  { name: 'missing apiVersion', apply: (p) => delete p.apiVersion },
  { name: 'wrong kind', apply: (p, r) => (p.kind = r.pick(['AuditPolicy', 'policy', 'Event', 'PolicyList'])) },
  { name: 'missing kind', apply: (p) => delete p.kind },
  { name: 'level is a number', apply: (p, r) => (someRule(p, r).level = 5) },
  { name: 'rules is an object', apply: (p) => (p.rules = { level: 'Metadata' }) },
  { name: 'users is a string', apply: (p, r) => (someRule(p, r).users = 'alice') },
  { name: 'users holds a number', apply: (p, r) => (someRule(p, r).users = ['alice', 7]) },
  { name: 'omitManagedFields is a string', apply: (p, r) => (someRule(p, r).omitManagedFields = 'true') },
  { name: 'omitStages is a string', apply: (p) => (p.omitStages = 'RequestReceived') },
  { name: 'resources is a string', apply: (p, r) => (stripNonResource(someRule(p, r)).resources = 'pods') },
  { name: 'inner resources is a string', apply: (p, r) => (someGroupResources(p, r).resources = 'pods') },
  { name: 'typo resource: (dropped by lenient decoding)', apply: (p, r) => renameKey(someRule(p, r), 'resources', 'resource', [{ group: '', resources: ['secrets'] }]) },
  { name: 'typo users → user (dropped)', apply: (p, r) => renameKey(someRule(p, r), 'users', 'user', ['alice']) },
  { name: 'typo level → levl', apply: (p, r) => renameKey(someRule(p, r), 'level', 'levl', 'Metadata') },
  { name: 'unknown top-level field', apply: (p) => (p.spec = { rules: [] }) },
  { name: 'unknown field in resources', apply: (p, r) => (someGroupResources(p, r).version = 'v1') },
  { name: 'Level with capital L', apply: (p, r) => renameKey(someRule(p, r), 'level', 'Level', 'Metadata') },
  { name: 'Rules with capital R', apply: (p) => renameKey(p, 'rules', 'Rules', [{ level: 'Metadata' }]) },
  { name: 'null rule', apply: (p) => (Array.isArray(p.rules) ? p.rules.push(null) : (p.rules = [null])) },
  { name: 'empty rule', apply: (p) => (Array.isArray(p.rules) ? p.rules.push({}) : (p.rules = [{}])) },
  { name: 'metadata is a string', apply: (p) => (p.metadata = 'audit') },
  { name: 'metadata.name is a number', apply: (p) => (p.metadata = { name: 5 }) },
  { name: 'metadata with labels', apply: (p) => (p.metadata = { name: 'p', labels: { team: 'sec' }, annotations: { note: 'x' } }) },
  { name: 'odd but legal values', apply: (p, r) => Object.assign(someRule(p, r), { verbs: ['GET', 'frobnicate'], users: [''], namespaces: ['No-Such_Namespace'] }) },
  { name: 'policy is a list', apply: (p) => Object.assign(p, { kind: 'Policy', rules: [[]] }) },
];

function stripResources(rule: Json): Json {
  delete rule.resources;
  delete rule.namespaces;
  return rule;
}

function stripNonResource(rule: Json): Json {
  delete rule.nonResourceURLs;
  return rule;
}

function renameKey(target: Json, from: string, to: string, fallback: unknown): void {
  target[to] = target[from] ?? fallback;
  delete target[from];
}

/** Text-level breakage that cannot be expressed as an object. */
export const TEXT_MUTATIONS: ReadonlyArray<{ name: string; apply(json: string, rng: Rng): string }> = [
  {
    name: 'duplicate level key, last one wins',
    apply: (json, r) => json.replace(/"level":("[^"]*")/, (_m, value) => (r.chance(0.5) ? `"level":"Bogus","level":${value}` : `"level":${value},"level":"Bogus"`)),
  },
  { name: 'truncated document', apply: (json) => json.slice(0, Math.max(10, Math.floor(json.length / 2))) },
  { name: 'trailing garbage', apply: (json) => `${json} }` },
];

/** YAML-only breakage: YAML 1.1 (what the apiserver's YAML reader implements) reads bare yes/on/no as booleans. */
export const YAML_MUTATIONS: ReadonlyArray<{ name: string; apply(policy: Json, rng: Rng): void }> = [
  { name: 'bare yes/on as a verb (YAML 1.1 boolean)', apply: (p, r) => (someRule(p, r).verbs = ['get', r.pick(['yes', 'on', 'no', 'off', 'y'])]) },
  { name: 'bare yes as a user name', apply: (p, r) => (someRule(p, r).users = [r.pick(['yes', 'No', 'ON'])]) },
];

export interface GeneratedPolicy {
  readonly index: number;
  readonly text: string;
  readonly format: 'json' | 'yaml';
  /** Mutations applied (empty: a valid-by-construction policy). */
  readonly mutations: string[];
  /** The object form, when the text is unambiguous JSON (no duplicate keys, not truncated). */
  readonly object: unknown | undefined;
}

/** `count` policies from `seed`: about 40% untouched, the rest with one or two mutations. */
export function generatePolicies(seed: number, count: number): GeneratedPolicy[] {
  const rng = new Rng(seed);
  const out: GeneratedPolicy[] = [];
  for (let index = 0; index < count; index++) {
    const policy = validPolicy(rng);
    const mutations: string[] = [];
    const roll = rng.float();
    if (roll < 0.08) {
      const m = rng.pick(TEXT_MUTATIONS);
      mutations.push(m.name);
      out.push({ index, text: m.apply(JSON.stringify(policy), rng), format: 'json', mutations, object: undefined });
      continue;
    }
    if (roll < 0.14) {
      const m = rng.pick(YAML_MUTATIONS);
      m.apply(policy, rng);
      mutations.push(m.name);
      out.push({ index, text: yamlStringify(policy), format: 'yaml', mutations, object: undefined });
      continue;
    }
    if (roll >= 0.54) {
      for (let n = 1 + (rng.chance(0.3) ? 1 : 0); n > 0; n--) {
        const m = rng.pick(MUTATIONS);
        m.apply(policy, rng);
        mutations.push(m.name);
      }
    }
    // JSON.stringify drops undefined fields, as a user's file would not have them.
    const json = JSON.stringify(policy);
    const asYaml = rng.chance(0.25);
    out.push({
      index,
      text: asYaml ? yamlStringify(JSON.parse(json)) : JSON.stringify(JSON.parse(json), null, 2),
      format: asYaml ? 'yaml' : 'json',
      mutations,
      object: JSON.parse(json),
    });
  }
  return out;
}
