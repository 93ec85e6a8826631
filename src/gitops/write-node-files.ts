import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { App } from 'cdk8s';
import { stringify } from 'yaml';
import { ClusterAudit } from './cluster-audit';

export interface WriteNodeFilesOptions {
  /** Folder (inside the app's outdir) for node-side files. @default 'node' */
  readonly folder?: string;
  /** The working directory kind will be run from, for kind's relative host paths. @default process.cwd() */
  readonly cwd?: string;
  /** Also write `kustomization.yaml` listing only the cluster manifests. @default true */
  readonly kustomization?: boolean;
}

/**
 * Writes every ClusterAudit's node-side files under `<outdir>/<folder>/` and a kustomization that
 * lists only the `*.k8s.yaml` manifests, so Argo CD and Flux never apply node files. Call after
 * `app.synth()` (which empties outdir first).
 * @returns the paths written
 */
export function writeNodeFiles(app: App, options: WriteNodeFilesOptions = {}): string[] {
  const folderName = options.folder ?? 'node';
  const audits = ClusterAudit.of(app);
  if (audits.length > 1) throw new Error(`writeNodeFiles: ${audits.length} ClusterAudit constructs found; a cluster has one apiserver configuration`);
  const written: string[] = [];
  const write = (path: string, content: string, mode = 0o644) => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content, { mode });
    chmodSync(path, mode);
    written.push(path);
  };
  const folder = join(app.outdir, folderName);
  const relFolder = relative(options.cwd ?? process.cwd(), folder) || '.';
  for (const audit of audits) {
    for (const f of audit.nodeFiles()) write(join(folder, f.path), typeof f.content === 'string' ? f.content : f.content(relFolder), f.mode);
    write(join(folder, 'files.yaml'), audit.manifest(relFolder));
  }
  if (options.kustomization ?? true) {
    const manifests = readdirSync(app.outdir).filter((f) => f.endsWith('.k8s.yaml')).sort();
    write(join(app.outdir, 'kustomization.yaml'), stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: manifests }));
  }
  return written;
}

/** A cdk8s App whose synth also writes the node-side files and the kustomization. */
export class AuditApp extends App {
  public synth(): void {
    super.synth();
    writeNodeFiles(this);
  }
}
