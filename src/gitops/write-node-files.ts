import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { App, AppProps } from 'cdk8s';
import { renderGoYaml } from '../core/go-yaml';
import { ClusterAudit } from './cluster-audit';
import { DEFAULT_SECRETS_DIR, secretsDirProblem } from './secrets-layout';

export interface WriteNodeFilesOptions {
  /** Folder (inside the app's outdir) for node-side files. @default 'node' */
  readonly folder?: string;
  /** The working directory kind will be run from, for kind's relative host paths. @default process.cwd() */
  readonly cwd?: string;
  /** Also write `kustomization.yaml` listing only the cluster manifests. @default true */
  readonly kustomization?: boolean;
  /**
   * The gitignored directory holding the webhook's keys and certificates, relative to `cwd` (or absolute).
   * Synth never reads or writes it; the kind config mounts the node's files from it.
   * @default DEFAULT_SECRETS_DIR ('.cdk8s-audit/secrets')
   */
  readonly secretsDir?: string;
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
  const cwd = options.cwd ?? process.cwd();
  const folder = join(app.outdir, folderName);
  const relFolder = relative(cwd, folder) || '.';
  const secretsDir = options.secretsDir ?? DEFAULT_SECRETS_DIR;
  const relSecrets = isAbsolute(secretsDir) ? relative(cwd, secretsDir) || '.' : secretsDir;
  // Only when the kind config mounts files from it (a webhook with TLS files): otherwise it is never used.
  const usesSecrets = audits.some((a) => a.provisionedFiles.some((f) => f.secretsFile));
  const problem = usesSecrets ? secretsDirProblem(relSecrets, relative(cwd, app.outdir) || '.') : undefined;
  if (problem) throw new Error(`writeNodeFiles: ${problem}`);
  for (const audit of audits) {
    for (const f of audit.nodeFiles()) write(join(folder, f.path), typeof f.content === 'string' ? f.content : f.content(relFolder, relSecrets), f.mode);
    write(join(folder, 'files.yaml'), audit.manifest(relFolder, relSecrets));
  }
  if (options.kustomization ?? true) {
    const manifests = readdirSync(app.outdir).filter((f) => f.endsWith('.k8s.yaml')).sort();
    write(join(app.outdir, 'kustomization.yaml'), renderGoYaml({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: manifests }));
  }
  return written;
}

export interface AuditAppProps extends AppProps {
  /** Where node files, the kustomization and the secrets directory go. @default the defaults of writeNodeFiles */
  readonly nodeFiles?: WriteNodeFilesOptions;
}

/** A cdk8s App whose synth also writes the node-side files and the kustomization. */
export class AuditApp extends App {
  private readonly nodeFileOptions: WriteNodeFilesOptions;

  constructor(props: AuditAppProps = {}) {
    const { nodeFiles, ...appProps } = props;
    super(appProps);
    this.nodeFileOptions = nodeFiles ?? {};
  }

  public synth(): void {
    super.synth();
    writeNodeFiles(this, this.nodeFileOptions);
  }
}
