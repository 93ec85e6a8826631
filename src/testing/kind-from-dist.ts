/**
 * A kind cluster from what synth wrote: dist/node/kind-cluster.yaml with its mounted host
 * directories copied to a temp directory and the separately provisioned files (webhook CA, client
 * certificate and key) made fresh there, so nothing is written into the user's tree and no key is
 * reused beyond the cluster's life.
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, posix } from 'node:path';
import { renderGoYaml } from '../core/go-yaml';
import { createWebhookTlsBundle } from '../tls/certs';
import { KindConfig, SynthesizedAudit, readSynthesizedAudit } from './dist';
import { KindCluster, KindToolOptions } from './kind';

/** PEM files as `cdk8s-audit certs` names them. */
export type TlsFiles = Readonly<Record<'ca.crt' | 'sink.crt' | 'sink.key' | 'apiserver-client.crt' | 'apiserver-client.key', string>>;

export interface MountPlan {
  /** The kind config with every extraMount's hostPath replaced by an absolute temp path. */
  readonly config: KindConfig;
  /** Host directories to copy: from (as the user's config resolves it) → to (the temp path). */
  readonly copies: { readonly from: string; readonly to: string; readonly containerPath: string }[];
}

/** Pure: where each mounted host directory goes under `workDir`. Relative hostPaths resolve against appDir, as kind does from there. */
export function planKindMounts(config: KindConfig, appDir: string, workDir: string): MountPlan {
  const copies: MountPlan['copies'][number][] = [];
  const nodes = config.nodes.map((node, n) => ({
    ...node,
    ...(node.extraMounts
      ? {
          extraMounts: node.extraMounts.map((m, i) => {
            // The base name keeps a file mount (H3's one-file-per-mount webhook layout) a file of the same name.
            const to = join(workDir, `node${n}-mount${i}`, posix.basename(m.containerPath) || 'root');
            copies.push({ from: isAbsolute(m.hostPath) ? m.hostPath : join(appDir, m.hostPath), to, containerPath: m.containerPath });
            return { ...m, hostPath: to };
          }),
        }
      : {}),
  }));
  return { config: { ...config, nodes }, copies };
}

/** Pure: the host file each separately provisioned node file goes to, through the mount that holds it. */
export function placeProvisionedFiles(plan: MountPlan, nodePaths: readonly string[]): { nodePath: string; hostFile: string; source: keyof TlsFiles }[] {
  return nodePaths.map((nodePath) => {
    const mount = plan.copies.find((c) => c.containerPath === nodePath) ?? plan.copies.find((c) => nodePath.startsWith(c.containerPath.replace(/\/?$/, '/')));
    if (!mount) throw new Error(`dist/node/files.yaml provisionSeparately names ${nodePath}, but no extraMount of dist/node/kind-cluster.yaml holds it`);
    const name = basename(nodePath) as keyof TlsFiles;
    if (!['ca.crt', 'apiserver-client.crt', 'apiserver-client.key'].includes(name)) {
      throw new Error(`dist/node/files.yaml provisionSeparately names ${nodePath}; only ca.crt, apiserver-client.crt and apiserver-client.key (the names \`cdk8s-audit certs\` writes) can be made for a test cluster`);
    }
    return { nodePath, hostFile: mount.containerPath === nodePath ? mount.to : join(mount.to, posix.relative(mount.containerPath, nodePath)), source: name };
  });
}

export interface KindFromDistOptions extends KindToolOptions {
  /** The app directory (holds cdk8s.yaml and dist/). */
  readonly appDir: string;
  /** @default `<appDir>/dist` */
  readonly distDir?: string;
  /** Cluster name. @default the config's name, else `cdk8s-audit` */
  readonly name?: string;
  /** Node image. @default the config's, else kind's default */
  readonly image?: string;
}

export interface KindFromDist {
  readonly cluster: KindCluster;
  readonly audit: SynthesizedAudit;
  /** The webhook TLS material made for this cluster (the sink's Secret needs sink.* and ca.crt). */
  readonly tls: TlsFiles;
  /** The kind config the cluster was created from (absolute hostPaths into the temp directory). */
  readonly configFile: string;
  /** Removes the cluster and the temp directory. */
  delete(): Promise<void>;
}

/** Creates a kind cluster from dist/ (see the file comment). The cluster is deleted again if creation fails. */
export async function createKindClusterFromDist(options: KindFromDistOptions): Promise<KindFromDist> {
  const audit = readSynthesizedAudit(options.appDir, options.distDir);
  const work = mkdtempSync(join(tmpdir(), 'cdk8s-audit-kind-dist-'));
  const name = options.name ?? (typeof audit.kindConfig.name === 'string' ? audit.kindConfig.name : 'cdk8s-audit');
  const cluster = new KindCluster(name, options);
  const cleanup = async () => {
    await cluster.delete();
    rmSync(work, { recursive: true, force: true });
  };
  try {
    const plan = planKindMounts(audit.kindConfig, options.appDir, work);
    const provisioned = placeProvisionedFiles(plan, (audit.manifest.provisionSeparately ?? []).map((x) => x.nodePath));
    for (const c of plan.copies) {
      if (provisioned.some((p) => p.hostFile === c.to)) continue; // a file mount made fresh below
      if (existsSync(c.from) && statSync(c.from).isFile()) {
        mkdirSync(dirname(c.to), { recursive: true });
        copyFileSync(c.from, c.to);
      } else {
        mkdirSync(c.to, { recursive: true });
        if (existsSync(c.from)) cpSync(c.from, c.to, { recursive: true });
      }
    }
    const sans = audit.webhookServer ? [audit.webhookServer.hostname.replace(/^\[|\]$/g, '')] : ['localhost'];
    const bundle = await createWebhookTlsBundle({ sans });
    const tls: TlsFiles = {
      'ca.crt': bundle.ca.certPem, 'sink.crt': bundle.sink.certPem, 'sink.key': bundle.sink.keyPem,
      'apiserver-client.crt': bundle.apiserverClient.certPem, 'apiserver-client.key': bundle.apiserverClient.keyPem,
    };
    for (const p of provisioned) {
      mkdirSync(dirname(p.hostFile), { recursive: true });
      writeFileSync(p.hostFile, tls[p.source], { mode: p.source.endsWith('.key') ? 0o600 : 0o644 });
    }
    const configFile = join(work, 'kind-cluster.yaml');
    writeFileSync(configFile, renderGoYaml({ ...plan.config, name }));
    await cluster.create({ configFile, image: options.image, cwd: options.appDir });
    return { cluster, audit, tls, configFile, delete: cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** Writes TLS files to a directory (for tools that read files), mode 0600 for keys. */
export function writeTlsFiles(dir: string, tls: TlsFiles): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, pem] of Object.entries(tls)) writeFileSync(join(dir, name), pem, { mode: name.endsWith('.key') ? 0o600 : 0o644 });
}
