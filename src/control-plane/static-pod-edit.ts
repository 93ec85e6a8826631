/**
 * An idempotent, structural edit of a kube-apiserver static pod manifest: the audit flags, hostPath
 * volumes and volumeMounts are put in place of any earlier audit settings instead of appended after
 * them. Applying it twice gives the same manifest byte for byte; what it replaced or removed is
 * reported, so an operator sees when earlier audit settings conflicted.
 *
 * Why not an append-only JSON patch: applied twice it gives two `--audit-policy-file` flags and two
 * volumes of the same name, and the kubelet refuses a pod with duplicate volume names, so the
 * apiserver does not come back. JSON patch cannot test that something is absent.
 *
 * The document is edited in place (yaml's Document model), so untouched parts keep their layout and
 * a diff shows only the audit lines.
 */
import { Document, Scalar, YAMLMap, YAMLSeq, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { ApiserverAudit } from '../backends/apiserver-audit';
import { AuditConfigError } from '../backends/errors';
import { FlagType, getFlag } from '../backends/flag-table';

/** A hostPath volume of the apiserver pod. */
export interface StaticPodVolume {
  readonly name: string;
  readonly hostPath: { readonly path: string; readonly type?: string };
}

/** A volumeMount of the kube-apiserver container. */
export interface StaticPodVolumeMount {
  readonly name: string;
  readonly mountPath: string;
  readonly readOnly?: boolean;
}

/** What the audit needs in the static pod: flags (`--name=value`), volumes and mounts. */
export interface StaticPodAuditSpec {
  readonly args: readonly string[];
  readonly volumes: readonly StaticPodVolume[];
  readonly volumeMounts: readonly StaticPodVolumeMount[];
}

/** One thing the edit did to the manifest. */
export interface StaticPodChange {
  /** added: new; replaced: same name, other value; removed: an earlier audit setting not in the new set, or a duplicate. */
  readonly action: 'added' | 'replaced' | 'removed';
  /** `flag`, `volume` or `volumeMount`. */
  readonly kind: 'flag' | 'volume' | 'volumeMount';
  /** The flag (`--audit-log-path`) or the volume/mount name. */
  readonly name: string;
  readonly from?: string;
  readonly to?: string;
  /** Why, for removals. */
  readonly reason?: string;
}

export interface StaticPodEditResult {
  /** The edited manifest. */
  readonly text: string;
  /** False when the manifest already had exactly these audit settings (then `text` equals the input). */
  readonly changed: boolean;
  readonly changes: readonly StaticPodChange[];
}

/** The flags, volumes and mounts of an ApiserverAudit in static-pod form. */
export function staticPodAuditSpec(audit: ApiserverAudit): StaticPodAuditSpec {
  return {
    args: audit.commandLine(),
    volumes: audit.mounts.map((m) => ({ name: m.name, hostPath: { path: m.path, type: m.pathType } })),
    volumeMounts: audit.mounts.map((m) => ({ name: m.name, mountPath: m.path, readOnly: m.readOnly })),
  };
}

/**
 * The same spec read back from a kubeadm ClusterConfiguration fragment (`dist/node/kubeadm-config.yaml`,
 * v1beta3 map-form or v1beta4 list-form extraArgs), so `static-pod apply --from dist/node` uses exactly
 * what kubeadm and kind get.
 * @throws AuditConfigError naming the field
 */
export function staticPodSpecFromKubeadm(config: unknown, source = 'kubeadm-config.yaml'): StaticPodAuditSpec {
  const apiServer = (config as { apiServer?: { extraArgs?: unknown; extraVolumes?: unknown } } | undefined)?.apiServer;
  if (!apiServer || typeof apiServer !== 'object') {
    throw new AuditConfigError([`${source}: has no apiServer; give the kubeadm ClusterConfiguration cdk8s-audit wrote (dist/node/kubeadm-config.yaml)`]);
  }
  const raw = apiServer.extraArgs;
  let pairs: [string, string][];
  if (Array.isArray(raw)) pairs = raw.map((a: { name?: unknown; value?: unknown }) => [String(a?.name), String(a?.value ?? '')]);
  else if (raw && typeof raw === 'object') pairs = Object.entries(raw as Record<string, unknown>).map(([k, v]) => [k, String(v)]);
  else throw new AuditConfigError([`${source}: apiServer.extraArgs is missing; give the kubeadm ClusterConfiguration cdk8s-audit wrote`]);
  const notAudit = pairs.filter(([n]) => !n.startsWith('audit-'));
  if (notAudit.length) {
    throw new AuditConfigError([`${source}: apiServer.extraArgs has ${notAudit.map(([n]) => n).join(', ')}, which are not audit flags; static-pod apply only manages --audit-* flags`]);
  }
  const vols = Array.isArray(apiServer.extraVolumes) ? (apiServer.extraVolumes as { name: string; hostPath: string; mountPath: string; readOnly?: boolean; pathType?: string }[]) : [];
  return {
    args: pairs.map(([n, v]) => `--${n}=${v}`),
    volumes: vols.map((v) => ({ name: v.name, hostPath: { path: v.hostPath, ...(v.pathType ? { type: v.pathType } : {}) } })),
    volumeMounts: vols.map((v) => ({ name: v.name, mountPath: v.mountPath, ...(v.readOnly !== undefined ? { readOnly: v.readOnly } : {}) })),
  };
}

const flagName = (item: string) => (item.includes('=') ? item.slice(0, item.indexOf('=')) : item);

/** Whether `--x` without `=` takes the next item as its value (Go's pflag: every type but bool). */
function takesValue(name: string): boolean {
  try {
    return getFlag(name.replace(/^--/, '')).type !== FlagType.BOOL;
  } catch {
    return true; // an audit flag this version does not know: assume it takes a value, as most do
  }
}

const plain = (node: unknown): unknown => (node && typeof (node as { toJSON?: unknown }).toJSON === 'function' ? (node as { toJSON(): unknown }).toJSON() : node);
const show = (v: unknown) => JSON.stringify(v);

/** Seq of a map's key, created (empty) when absent. */
function seqAt(doc: Document, map: YAMLMap, key: string): YAMLSeq {
  const node = map.get(key, true);
  if (isSeq(node)) return node;
  if (node !== undefined && !(isScalar(node) && (node as Scalar).value === null)) {
    throw new AuditConfigError([`manifest: ${key} is not a list; pass a valid kube-apiserver static pod manifest`]);
  }
  const seq = doc.createNode([]) as YAMLSeq;
  map.set(key, seq);
  return seq;
}

/**
 * Edits the manifest text: removes every `--audit-*` flag and puts the new flags where the first one
 * was (or at the end); replaces volumes and mounts of the same name, mounts at the same path and
 * duplicates; removes volumes whose only mount was replaced.
 * @throws AuditConfigError when the text is not a pod with a kube-apiserver container
 */
export function editStaticPodManifest(text: string, spec: StaticPodAuditSpec): StaticPodEditResult {
  // An interrupted edit or a full disk can leave it empty: the kubelet then runs no apiserver at all.
  if (text.trim() === '') throw new AuditConfigError(['manifest: is empty; restore the kube-apiserver static pod manifest (kubeadm init phase control-plane apiserver writes it) or pass its path with --manifest']);
  const doc = parseDocument(text);
  if (doc.errors.length) throw new AuditConfigError([`manifest: not YAML (${doc.errors[0].message}); pass the kube-apiserver static pod manifest`]);
  const root = doc.contents;
  const podSpec = isMap(root) ? root.get('spec', true) : undefined;
  const containers = isMap(podSpec) ? podSpec.get('containers', true) : undefined;
  const container = isSeq(containers) ? containers.items.find((c) => isMap(c) && c.get('name') === 'kube-apiserver') : undefined;
  if (!isMap(root) || !isMap(podSpec) || !isMap(container)) {
    throw new AuditConfigError([
      'manifest: has no container named "kube-apiserver" in spec.containers; pass the kube-apiserver static pod manifest (/etc/kubernetes/manifests/kube-apiserver.yaml)',
    ]);
  }
  const changes: StaticPodChange[] = [];
  const newByName = new Map(spec.args.map((a) => [flagName(a), a]));

  // Flags: kubeadm puts them in `command`; some manifests use `args`.
  const lists: YAMLSeq[] = [];
  for (const k of ['command', 'args']) {
    const n = container.get(k, true);
    if (isSeq(n)) lists.push(n);
  }
  const target: YAMLSeq = lists.find((l) => l.items.some((i) => String(plain(i)).startsWith('--'))) ?? lists[0] ?? seqAt(doc, container, 'command');
  const seen = new Set<string>();
  let insertAt = -1;
  for (const list of lists.length ? lists : [target]) {
    const kept: unknown[] = [];
    for (let i = 0; i < list.items.length; i++) {
      const item = String(plain(list.items[i]));
      if (!item.startsWith('--audit-')) {
        kept.push(list.items[i]);
        continue;
      }
      const name = flagName(item);
      let old = item;
      if (!item.includes('=') && takesValue(name) && i + 1 < list.items.length && !String(plain(list.items[i + 1])).startsWith('-')) {
        old = `${item}=${String(plain(list.items[++i]))}`;
      }
      if (list === target && insertAt < 0) insertAt = kept.length;
      const next = newByName.get(name);
      if (seen.has(name)) changes.push({ action: 'removed', kind: 'flag', name, from: old, reason: 'duplicate' });
      else if (next === undefined) changes.push({ action: 'removed', kind: 'flag', name, from: old, reason: 'not in the new audit settings' });
      else if (next !== old) changes.push({ action: 'replaced', kind: 'flag', name, from: old, to: next });
      seen.add(name);
    }
    list.items = kept as YAMLSeq['items'];
  }
  for (const [name, a] of newByName) if (!seen.has(name)) changes.push({ action: 'added', kind: 'flag', name, to: a });
  const at = insertAt < 0 ? target.items.length : insertAt;
  target.items.splice(at, 0, ...spec.args.map((a) => doc.createNode(a) as Scalar));

  // Mounts of the kube-apiserver container: same name or same mountPath as a new one goes.
  const mounts = seqAt(doc, container, 'volumeMounts');
  const displaced = new Set<string>();
  replaceItems(doc, mounts, spec.volumeMounts, 'volumeMount', changes, (old, n) => old.name === n.name || old.mountPath === n.mountPath, (old, n) => {
    if (old.name !== n.name && typeof old.name === 'string') displaced.add(old.name);
  });

  // Volumes: same name goes; a volume whose mount was displaced goes when nothing else mounts it.
  const volumes = seqAt(doc, podSpec, 'volumes');
  const stillMounted = new Set<string>();
  for (const kind of ['containers', 'initContainers']) {
    const cs = podSpec.get(kind, true);
    if (!isSeq(cs)) continue;
    for (const c of cs.items) {
      const vm = isMap(c) ? c.get('volumeMounts', true) : undefined;
      if (isSeq(vm)) for (const m of vm.items) if (isMap(m)) stillMounted.add(String(m.get('name')));
    }
  }
  const newVolumeNames = new Set(spec.volumes.map((v) => v.name));
  volumes.items = volumes.items.filter((v) => {
    const name = isMap(v) ? String(v.get('name')) : '';
    if (displaced.has(name) && !stillMounted.has(name) && !newVolumeNames.has(name)) {
      changes.push({ action: 'removed', kind: 'volume', name, from: show(plain(v)), reason: 'its mount was at a path the audit settings now mount' });
      return false;
    }
    return true;
  });
  replaceItems(doc, volumes, spec.volumes, 'volume', changes, (old, n) => old.name === n.name);

  const out = doc.toString({ indentSeq: indentsSequences(text), lineWidth: 0 });
  return { text: out, changed: out !== text, changes };
}

/**
 * Removes every item matching a new one (reporting differing and duplicate ones) and inserts the new
 * items where the first match was, else at the end.
 */
function replaceItems<T extends object>(
  doc: Document,
  seq: YAMLSeq,
  items: readonly T[],
  kind: 'volume' | 'volumeMount',
  changes: StaticPodChange[],
  matches: (old: Record<string, unknown>, next: T) => boolean,
  onMatch?: (old: Record<string, unknown>, next: T) => void,
): void {
  let insertAt = -1;
  const found = new Map<T, number>();
  const kept: unknown[] = [];
  for (const node of seq.items) {
    const old = (plain(node) ?? {}) as Record<string, unknown>;
    const next = items.find((n) => matches(old, n));
    if (next === undefined) {
      kept.push(node);
      continue;
    }
    if (insertAt < 0) insertAt = kept.length;
    onMatch?.(old, next);
    const count = found.get(next) ?? 0;
    found.set(next, count + 1);
    const name = String((next as { name?: unknown }).name);
    if (count > 0) changes.push({ action: 'removed', kind, name, from: show(old), reason: 'duplicate' });
    else if (show(sortKeys(old)) !== show(sortKeys(next))) changes.push({ action: 'replaced', kind, name, from: show(old), to: show(next) });
  }
  for (const n of items) if (!found.has(n)) changes.push({ action: 'added', kind, name: String((n as { name?: unknown }).name), to: show(n) });
  kept.splice(insertAt < 0 ? kept.length : insertAt, 0, ...items.map((n) => doc.createNode(n)));
  seq.items = kept as YAMLSeq['items'];
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

/** kubeadm (Go's yaml) writes `- ` at the key's indentation; keep whichever style the file uses. */
function indentsSequences(text: string): boolean {
  const m = /^( *)[\w-]+:\n( *)- /m.exec(text);
  return m ? m[2].length > m[1].length : false;
}

/** One line per change, for the operator: what was replaced, removed (and why) or added. */
export function describeStaticPodChanges(changes: readonly StaticPodChange[]): string[] {
  return changes.map((c) => {
    switch (c.action) {
      case 'replaced':
        return `replaced ${c.kind} ${c.name}: ${c.from} -> ${c.to}`;
      case 'removed':
        return `removed ${c.kind} ${c.name}: ${c.from} (${c.reason})`;
      default:
        return `added ${c.kind} ${c.name}: ${c.to}`;
    }
  });
}

/** A unified-style line diff (context 2) of two texts, for `--diff`. */
export function lineDiff(before: string, after: string, labels: [string, string] = ['before', 'after']): string {
  const a = before.split('\n');
  const b = after.split('\n');
  // LCS table: manifests are ~100 lines, so O(n·m) is fine.
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) for (let j = b.length - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const ops: { t: ' ' | '-' | '+'; line: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) ops.push({ t: ' ', line: a[i++] }), j++;
    else if (j < b.length && (i === a.length || lcs[i][j + 1] >= lcs[i + 1][j])) ops.push({ t: '+', line: b[j++] });
    else ops.push({ t: '-', line: a[i++] });
  }
  const show = ops.map((o, k) => o.t !== ' ' || ops.slice(Math.max(0, k - 2), k + 3).some((x) => x.t !== ' '));
  const out = [`--- ${labels[0]}`, `+++ ${labels[1]}`];
  let gap = false;
  ops.forEach((o, k) => {
    if (show[k]) {
      if (gap) out.push('@@');
      gap = false;
      out.push(`${o.t}${o.line}`);
    } else gap = true;
  });
  return ops.some((o) => o.t !== ' ') ? out.join('\n') + '\n' : '';
}
