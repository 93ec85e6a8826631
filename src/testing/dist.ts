/**
 * What `cdk8s synth` wrote for a ClusterAudit, read back: dist/node/files.yaml (where each node file
 * goes, the presets, what is provisioned separately), the apiserver flags, the policy the node
 * loads, the kind config, the webhook's server address.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { parsePolicy } from '../policy/parse';
import type { PolicyDocument } from '../policy/model';
import type { CompositionOptions } from '../presets/compose';

export interface NodeFilesManifest {
  readonly kubernetesVersion?: string;
  readonly presets?: string[];
  /** The preset options that change the requirement table (written only when set). */
  readonly presetOptions?: CompositionOptions;
  readonly files: { file: string; nodePath?: string; description?: string }[];
  readonly provisionSeparately?: { nodePath: string; description?: string }[];
}

export interface KindConfig {
  readonly nodes: { role: string; extraMounts?: { hostPath: string; containerPath: string; readOnly?: boolean }[] }[];
  readonly [key: string]: unknown;
}

export interface SynthesizedAudit {
  /** The app directory (where synth ran: relative paths in files.yaml resolve against it). */
  readonly appDir: string;
  readonly distDir: string;
  readonly manifest: NodeFilesManifest;
  /** `--name=value` lines of dist/node/apiserver-args.txt. */
  readonly args: string[];
  readonly policyText: string;
  readonly policy: PolicyDocument;
  readonly kindConfigFile: string;
  readonly kindConfig: KindConfig;
  /** The webhook kubeconfig's server URL, if a webhook backend is configured. */
  readonly webhookServer?: URL;
}

/** The value of `--name=value` in apiserver args. */
export function flagValue(args: readonly string[], name: string): string | undefined {
  const line = args.find((a) => a.startsWith(`--${name}=`));
  return line?.slice(name.length + 3);
}

/** Reads dist/ (default `<appDir>/dist`, node files in `<distDir>/node`). Throws naming the file that is missing or wrong. */
export function readSynthesizedAudit(appDir: string, distDir = join(appDir, 'dist')): SynthesizedAudit {
  const nodeDir = join(distDir, 'node');
  const read = (file: string, hint = 'run `npm run synth` (cdk8s synth) first') => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      throw new Error(`${file} is missing; ${hint}`);
    }
  };
  const at = (p: string) => (isAbsolute(p) ? p : join(appDir, p));
  const manifest = parse(read(join(nodeDir, 'files.yaml'))) as NodeFilesManifest;
  const args = read(join(nodeDir, 'apiserver-args.txt')).split('\n').filter(Boolean);
  const fileFor = (flag: string) => {
    const nodePath = flagValue(args, flag);
    if (nodePath === undefined) return undefined;
    const entry = manifest.files.find((f) => f.nodePath === nodePath);
    if (!entry) throw new Error(`${join(nodeDir, 'files.yaml')} lists no file for --${flag}=${nodePath}`);
    return at(entry.file);
  };
  const policyFile = fileFor('audit-policy-file');
  if (!policyFile) throw new Error(`${join(nodeDir, 'apiserver-args.txt')} has no --audit-policy-file`);
  const policyText = read(policyFile);
  const kubeconfigFile = fileFor('audit-webhook-config-file');
  const server = kubeconfigFile ? parse(read(kubeconfigFile))?.clusters?.[0]?.cluster?.server : undefined;
  const kindConfigFile = join(nodeDir, 'kind-cluster.yaml');
  return {
    appDir,
    distDir,
    manifest,
    args,
    policyText,
    policy: parsePolicy(policyText),
    kindConfigFile,
    kindConfig: parse(read(kindConfigFile)) as KindConfig,
    webhookServer: server ? new URL(server) : undefined,
  };
}
