/**
 * Finds the kube-apiserver and etcd binaries that scripts/build-k8s.sh caches, the same way the script
 * does: versions from scripts/versions.env, directory from CDK8S_AUDIT_CACHE (default ~/.cache/cdk8s-audit).
 * A missing binary is a hard failure: an e2e suite that silently skips proves nothing.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO_ROOT = resolve(__dirname, '..', '..', '..');
const VERSIONS_FILE = join(REPO_ROOT, 'scripts', 'versions.env');

export interface ToolVersions {
  /** Kubernetes versions in versions.env order (newest first by convention). */
  readonly kubernetes: string[];
  readonly etcd: string;
}

/** Parses the shell-style `KEY="value"` lines of versions.env. */
export function parseVersionsEnv(text: string): ToolVersions {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Z0-9_]+)=(?:"([^"]*)"|(\S*))\s*$/.exec(line);
    if (match) values.set(match[1], match[2] ?? match[3] ?? '');
  }
  const kubernetes = (values.get('K8S_VERSIONS') ?? '').split(/\s+/).filter(Boolean);
  const etcd = values.get('ETCD_VERSION') ?? '';
  if (kubernetes.length === 0 || !etcd) {
    throw new Error(`${VERSIONS_FILE} must set K8S_VERSIONS and ETCD_VERSION`);
  }
  return { kubernetes, etcd };
}

export function toolVersions(): ToolVersions {
  return parseVersionsEnv(readFileSync(VERSIONS_FILE, 'utf8'));
}

/** Every Kubernetes version the suite runs against (versions.env, as the build script builds them). */
export function kubernetesVersions(): string[] {
  const override = process.env.K8S_VERSIONS_OVERRIDE;
  return override ? override.split(/\s+/).filter(Boolean) : toolVersions().kubernetes;
}

export function cacheDir(): string {
  return process.env.CDK8S_AUDIT_CACHE || join(homedir(), '.cache', 'cdk8s-audit');
}

function requireExecutable(path: string, what: string): string {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(
      `${what} is missing: ${path} does not exist or is not executable. ` +
        'Run `bash scripts/build-k8s.sh` to build and cache it (it takes several minutes the first time).',
    );
  }
  return path;
}

export function apiserverBinary(version: string): string {
  return requireExecutable(join(cacheDir(), 'bin', `kube-apiserver-v${version}`), `kube-apiserver v${version}`);
}

export function etcdBinary(): string {
  const { etcd } = toolVersions();
  return requireExecutable(join(cacheDir(), 'bin', `etcd-v${etcd}`), `etcd v${etcd}`);
}
