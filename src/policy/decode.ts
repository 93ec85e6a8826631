import { AUDIT_API_VERSION, PolicyDocument } from './model';
import { PolicyIssue, didYouMean, quote } from './issue';

/**
 * Decodes a parsed policy object the way the kube-apiserver's loader does
 * (k8s.io/apiserver/pkg/audit/policy/reader.go): a wrong type, a missing or unknown
 * apiVersion/kind stops the load; an unknown field fails the strict decoder, after which the
 * apiserver decodes leniently and silently DROPS the field. cdk8s-audit reports those drops
 * separately, because a dropped field usually widens a rule (`resource:` for `resources:`).
 */
export interface DecodeResult {
  /** The policy as the apiserver sees it (unknown fields dropped); undefined when decoding failed. */
  readonly document?: PolicyDocument;
  /** Problems that make the apiserver refuse the policy. */
  readonly fatal: PolicyIssue[];
  /** Fields the apiserver would silently drop. */
  readonly unknownFields: PolicyIssue[];
  /** Other things the apiserver tolerates silently (a missing kind): reported in strict mode. */
  readonly tolerated?: PolicyIssue[];
}

type FieldType = 'string' | 'bool' | 'stringList' | 'objectMeta' | { readonly listOf: Schema };
interface Schema {
  readonly name: string;
  readonly fields: Readonly<Record<string, FieldType>>;
}

const GROUP_RESOURCES: Schema = {
  name: 'GroupResources',
  fields: { group: 'string', resources: 'stringList', resourceNames: 'stringList' },
};

const POLICY_RULE: Schema = {
  name: 'PolicyRule',
  fields: {
    level: 'string',
    users: 'stringList',
    userGroups: 'stringList',
    verbs: 'stringList',
    resources: { listOf: GROUP_RESOURCES },
    namespaces: 'stringList',
    nonResourceURLs: 'stringList',
    omitStages: 'stringList',
    omitManagedFields: 'bool',
  },
};

const POLICY: Schema = {
  name: 'Policy',
  fields: {
    apiVersion: 'string',
    kind: 'string',
    metadata: 'objectMeta',
    rules: { listOf: POLICY_RULE },
    omitStages: 'stringList',
    omitManagedFields: 'bool',
  },
};

/** metav1.ObjectMeta's JSON fields; any other key under metadata is dropped like any unknown field. */
const OBJECT_META_FIELDS = [
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
];

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'object' ? 'object' : typeof value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return jsonType(value) === 'object';
}

class Decoder {
  readonly fatal: PolicyIssue[] = [];
  readonly unknownFields: PolicyIssue[] = [];

  private typeError(path: string, value: unknown, want: string): void {
    this.fatal.push({
      path,
      message: `cannot decode ${jsonType(value)} ${quote(value)} into ${want}; the apiserver refuses to load the policy`,
      fix: want === 'a boolean' ? 'write true or false without quotes' : want === 'a string' ? 'quote the value' : `write ${want}`,
    });
  }

  private unknown(path: string, key: string, known: readonly string[], where: string): void {
    const hint = didYouMean(key, known);
    this.unknownFields.push({
      path,
      message: `unknown field ${quote(key)} in ${where}: the apiserver's lenient decoder silently drops it, which can widen the rule`,
      fix: hint ?? `remove it; ${where} has only: ${known.join(', ')}`,
    });
  }

  object(raw: unknown, schema: Schema, path: string): Record<string, unknown> | undefined {
    if (raw === null || raw === undefined) return undefined;
    if (!isObject(raw)) {
      this.typeError(path || '(document)', raw, `a ${schema.name} object`);
      return undefined;
    }
    const out: Record<string, unknown> = {};
    const known = Object.keys(schema.fields);
    for (const [key, value] of Object.entries(raw)) {
      const at = path ? `${path}.${key}` : key;
      const type = schema.fields[key];
      if (type === undefined) {
        this.unknown(at, key, known, schema.name);
        continue;
      }
      const decoded = this.field(value, type, at);
      if (decoded !== undefined) out[key] = decoded;
    }
    // Canonical key order, as the apiserver would serialise it.
    return Object.fromEntries(known.filter((k) => k in out).map((k) => [k, out[k]]));
  }

  private field(value: unknown, type: FieldType, path: string): unknown {
    if (value === null || value === undefined) return undefined; // null decodes to the zero value
    if (type === 'string') {
      if (typeof value !== 'string') return this.typeError(path, value, 'a string');
      return value;
    }
    if (type === 'bool') {
      if (typeof value !== 'boolean') return this.typeError(path, value, 'a boolean');
      return value;
    }
    if (type === 'stringList') {
      if (!Array.isArray(value)) return this.typeError(path, value, 'a list of strings');
      return value.map((item, i) => {
        if (item === null) return '';
        if (typeof item !== 'string') this.typeError(`${path}[${i}]`, item, 'a string');
        return item;
      });
    }
    if (type === 'objectMeta') return this.objectMeta(value, path);
    if (!Array.isArray(value)) return this.typeError(path, value, `a list of ${type.listOf.name} objects`);
    return value.map((item, i) => this.object(item, type.listOf, `${path}[${i}]`) ?? {});
  }

  private objectMeta(value: unknown, path: string): unknown {
    if (!isObject(value)) return this.typeError(path, value, 'an ObjectMeta object');
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      if (!OBJECT_META_FIELDS.includes(key)) {
        this.unknown(`${path}.${key}`, key, OBJECT_META_FIELDS, 'ObjectMeta');
        continue;
      }
      if ((key === 'name' || key === 'namespace' || key === 'generateName') && v !== null && typeof v !== 'string') {
        this.typeError(`${path}.${key}`, v, 'a string');
        continue;
      }
      if ((key === 'labels' || key === 'annotations') && v !== null) {
        if (!isObject(v) || Object.values(v).some((s) => typeof s !== 'string')) {
          this.typeError(`${path}.${key}`, v, 'a map of strings');
          continue;
        }
      }
      out[key] = v;
    }
    return out;
  }
}

/** Decodes an already-parsed (YAML or JSON) value as the apiserver's policy loader would. */
export function decodePolicy(raw: unknown): DecodeResult {
  const d = new Decoder();
  if (!isObject(raw)) {
    d.fatal.push({
      path: '(document)',
      message: raw === undefined || raw === null ? 'the document is empty' : `expected a Policy object, got ${jsonType(raw)}`,
      fix: `start the file with "apiVersion: ${AUDIT_API_VERSION}" and "kind: Policy"`,
    });
    return { fatal: d.fatal, unknownFields: [] };
  }
  const typeMeta = checkTypeMeta(raw);
  if (typeMeta.length > 0) return { fatal: typeMeta, unknownFields: [] };
  const obj = d.object(raw, POLICY, '') as Record<string, unknown>;
  if (d.fatal.length > 0) return { fatal: d.fatal, unknownFields: d.unknownFields };
  const tolerated: PolicyIssue[] = [];
  if (isMissing(raw.kind)) {
    // The decoder takes the kind from the target type and checks only the apiVersion.
    tolerated.push({ path: 'kind', message: 'missing: the apiserver assumes Policy and loads the file', fix: 'add "kind: Policy" so every reader knows what the file is' });
  }
  const document = { ...obj, kind: 'Policy', rules: (obj.rules as unknown[] | undefined) ?? [] } as unknown as PolicyDocument;
  return { document, fatal: [], unknownFields: d.unknownFields, tolerated };
}

function isMissing(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/** The universal decoder picks the Go type from apiVersion and kind before anything else. */
function checkTypeMeta(raw: Record<string, unknown>): PolicyIssue[] {
  const fix = `set "apiVersion: ${AUDIT_API_VERSION}" and "kind: Policy" (the only version the apiserver loads)`;
  if (isMissing(raw.apiVersion)) return [{ path: 'apiVersion', message: "Object 'apiVersion' is missing", fix }];
  if (typeof raw.apiVersion !== 'string') return [{ path: 'apiVersion', message: `must be a string, got ${quote(raw.apiVersion)}`, fix }];
  if (!isMissing(raw.kind) && typeof raw.kind !== 'string') return [{ path: 'kind', message: `must be a string, got ${quote(raw.kind)}`, fix }];
  if (raw.apiVersion !== AUDIT_API_VERSION) {
    const old = raw.apiVersion.startsWith('audit.k8s.io/') ? ' (audit.k8s.io/v1alpha1 and v1beta1 were removed in Kubernetes 1.24)' : '';
    return [{ path: 'apiVersion', message: `${quote(raw.apiVersion)} is not loaded by the apiserver${old}`, fix }];
  }
  if (!isMissing(raw.kind) && raw.kind !== 'Policy') {
    return [{ path: 'kind', message: `no kind ${quote(raw.kind)} is registered for version ${AUDIT_API_VERSION}`, fix }];
  }
  return [];
}
