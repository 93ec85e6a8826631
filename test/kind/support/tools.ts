/**
 * What the kind suite needs from this repository's scripts: the kind binary, the offline node image
 * and the matching kubectl (scripts/kind-prepare.sh builds them). A missing one fails with the
 * command that provides it. Running commands, clusters, the sink and the assertions come from the
 * package's own `cdk8s-audit/testing` (src/testing), as a user's suite would use them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const REPO = resolve(__dirname, '../../..');

function printed(script: string, hint: string): string {
  const res = spawnSync('bash', [join(REPO, 'scripts', script), '--print'], { encoding: 'utf8', cwd: REPO });
  const value = res.stdout.trim().split('\n').pop() ?? '';
  if (res.status !== 0 || !value) throw new Error(`${script} --print: ${value || '(nothing)'} is missing. ${hint}`);
  return value;
}

/** The kind binary scripts/install-kind.sh installed. */
export function kindBinary(): string {
  return printed('install-kind.sh', 'Run `bash scripts/install-kind.sh` (or `npm run test:kind`, which prepares everything).');
}

/** The node image scripts/build-node-image.sh built (or the official one with KIND_NODE_IMAGE=official). */
export function nodeImage(): string {
  return printed('build-node-image.sh', 'Run `bash scripts/build-node-image.sh` (or `npm run test:kind`, which prepares everything).');
}

/** The kubectl built for the node image, used from the host against the cluster's 127.0.0.1 port. */
export function kubectlBinary(): string {
  const versions = readFileSync(join(REPO, 'scripts', 'versions.env'), 'utf8');
  const v = /^KIND_K8S_VERSION="([^"]+)"/m.exec(versions)?.[1];
  if (!v) throw new Error('scripts/versions.env has no KIND_K8S_VERSION');
  const cache = process.env.CDK8S_AUDIT_CACHE || join(process.env.HOME ?? '/root', '.cache', 'cdk8s-audit');
  const bin = join(cache, 'bin', `kubectl-v${v}`);
  if (!existsSync(bin)) throw new Error(`${bin} is missing. Run \`bash scripts/build-node-image.sh\` (it builds kubectl).`);
  return bin;
}

/** The environment `cdk8s-audit prove` and the testing helpers find kind and kubectl in. */
export function toolEnv(): NodeJS.ProcessEnv {
  return { ...process.env, CDK8S_AUDIT_KIND: kindBinary(), CDK8S_AUDIT_KUBECTL: kubectlBinary(), CDK8S_CHECK_UPGRADE: 'false' };
}

/**
 * Remembers whether any test of a file failed, so its afterAll prints the cluster's diagnostics only then:
 * wrap each test body in `check`, or call `fail()` where a beforeAll gives up.
 */
export class FailureRecorder {
  private _failed = false;

  public get failed(): boolean {
    return this._failed;
  }

  public fail(): void {
    this._failed = true;
  }

  public readonly check =
    <T>(fn: () => Promise<T>) =>
    async (): Promise<T> => {
      try {
        return await fn();
      } catch (error) {
        this._failed = true;
        throw error;
      }
    };
}
