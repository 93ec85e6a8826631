/**
 * An RFC 6902 JSON patch that adds auditing to an existing kube-apiserver static pod manifest
 * (/etc/kubernetes/manifests/kube-apiserver.yaml): the flags, the hostPath volumes (directories)
 * and their volumeMounts.
 *
 * Without the manifest the patch only appends, guarded by a `test` that container 0 is the
 * kube-apiserver. With the manifest it replaces flags and volumes that are already there, so
 * applying it twice gives the same pod.
 */
import { ApiserverAudit } from '../backends/apiserver-audit';
import { AuditConfigError } from '../backends/errors';

/** One RFC 6902 operation. */
export type JsonPatchOperation =
  | { readonly op: 'add' | 'replace' | 'test'; readonly path: string; readonly value: unknown }
  | { readonly op: 'remove'; readonly path: string };

interface Container {
  name?: string;
  command?: string[];
  args?: string[];
  volumeMounts?: { name?: string; mountPath?: string }[];
}

interface PodManifest {
  spec?: { containers?: Container[]; volumes?: { name?: string }[] };
}

export interface StaticPodPatchOptions {
  /**
   * The current manifest (parsed YAML). When given, existing audit flags and same-named volumes
   * are replaced instead of appended.
   * @default - append-only patch
   */
  readonly manifest?: unknown;
}

/** The JSON patch. @throws AuditConfigError when the manifest is not a kube-apiserver pod */
export function staticPodPatch(audit: ApiserverAudit, options: StaticPodPatchOptions = {}): JsonPatchOperation[] {
  const args = audit.commandLine();
  const volumes = audit.mounts.map((m) => ({ name: m.name, hostPath: { path: m.path, type: m.pathType } }));
  const volumeMounts = audit.mounts.map((m) => ({ name: m.name, mountPath: m.path, readOnly: m.readOnly }));
  const ops: JsonPatchOperation[] = [];

  if (options.manifest === undefined) {
    const c = '/spec/containers/0';
    ops.push({ op: 'test', path: `${c}/name`, value: 'kube-apiserver' });
    for (const a of args) ops.push({ op: 'add', path: `${c}/command/-`, value: a });
    for (const vm of volumeMounts) ops.push({ op: 'add', path: `${c}/volumeMounts/-`, value: vm });
    for (const v of volumes) ops.push({ op: 'add', path: '/spec/volumes/-', value: v });
    return ops;
  }

  const pod = options.manifest as PodManifest;
  const containers = pod?.spec?.containers;
  const index = Array.isArray(containers) ? containers.findIndex((c) => c?.name === 'kube-apiserver') : -1;
  if (!Array.isArray(containers) || index < 0) {
    throw new AuditConfigError([
      'manifest: has no container named "kube-apiserver" in spec.containers; pass the kube-apiserver static pod manifest (/etc/kubernetes/manifests/kube-apiserver.yaml)',
    ]);
  }
  const container = containers[index];
  const c = `/spec/containers/${index}`;
  const listKey = Array.isArray(container.command) && container.command.some((x) => x.startsWith('--')) ? 'command' : Array.isArray(container.args) ? 'args' : 'command';
  const list = container[listKey] ?? [];
  if (!Array.isArray(container[listKey])) ops.push({ op: 'add', path: `${c}/${listKey}`, value: [] });
  for (const a of args) {
    const name = a.slice(0, a.indexOf('=') + 1);
    const at = list.findIndex((x) => x === name.slice(0, -1) || x.startsWith(name));
    ops.push(at >= 0 ? { op: 'replace', path: `${c}/${listKey}/${at}`, value: a } : { op: 'add', path: `${c}/${listKey}/-`, value: a });
  }
  const mounts = container.volumeMounts;
  if (!Array.isArray(mounts)) ops.push({ op: 'add', path: `${c}/volumeMounts`, value: [] });
  for (const vm of volumeMounts) {
    const at = Array.isArray(mounts) ? mounts.findIndex((x) => x?.name === vm.name || x?.mountPath === vm.mountPath) : -1;
    ops.push(at >= 0 ? { op: 'replace', path: `${c}/volumeMounts/${at}`, value: vm } : { op: 'add', path: `${c}/volumeMounts/-`, value: vm });
  }
  const podVolumes = pod.spec!.volumes;
  if (!Array.isArray(podVolumes)) ops.push({ op: 'add', path: '/spec/volumes', value: [] });
  for (const v of volumes) {
    const at = Array.isArray(podVolumes) ? podVolumes.findIndex((x) => x?.name === v.name) : -1;
    ops.push(at >= 0 ? { op: 'replace', path: `/spec/volumes/${at}`, value: v } : { op: 'add', path: '/spec/volumes/-', value: v });
  }
  return ops;
}
