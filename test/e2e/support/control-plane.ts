/**
 * A real local control plane: etcd + kube-apiserver on 127.0.0.1, started the way envtest does, plus
 * caller-supplied audit flags. Nothing is mocked; the suite asserts on what this apiserver writes and sends.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiserverStartError, apiserverErrorLines, flagsNamedBy } from './apiserver-errors';
import { apiserverBinary, kubernetesVersions } from './binaries';
import { Etcd, startEtcd } from './etcd';
import { Caller, KubeClient } from './kube-client';
import { freePort, makeTempDir, RunningProcess, removeTempDir, sleep, startProcess, stopProcess } from './processes';

/** A user the token authenticator knows. The apiserver adds `system:authenticated` to every token user. */
export interface TestUser {
  readonly name: string;
  readonly uid: string;
  /** Groups from the token file, without the implicit system:authenticated. */
  readonly groups: string[];
  readonly token: string;
}

export interface TestUsers {
  /** Cluster admin (group system:masters). */
  readonly admin: TestUser;
  /** Non-admin users without any RBAC grants: their resource requests are forbidden. */
  readonly alice: TestUser;
  readonly bob: TestUser;
}

export interface ControlPlaneOptions {
  /** Kubernetes version (one of versions.env); default the first (newest). */
  readonly version?: string;
  /** Extra kube-apiserver arguments, typically the audit flags. */
  readonly extraArgs?: readonly string[];
  readonly readyTimeoutMs?: number;
}

export interface ControlPlane {
  readonly version: string;
  readonly url: string;
  readonly users: TestUsers;
  /** Admin client; pass `{ caller }` per request for other identities. */
  readonly client: KubeClient;
  readonly apiserver: RunningProcess;
  readonly etcd: Etcd;
  /** Every argument the apiserver was started with. */
  readonly args: readonly string[];
  /** Milliseconds from spawning the apiserver to /readyz = 200. */
  readonly readyAfterMs: number;
  callerFor(user: TestUser, impersonate?: { user: string; groups?: string[] }): Caller;
  /** One SIGTERM to the apiserver (it flushes buffered audit events), wait, then etcd, then temp dirs. */
  stop(): Promise<void>;
}

function makeUser(name: string, groups: string[]): TestUser {
  return { name, uid: `${name}-uid`, groups, token: randomBytes(24).toString('hex') };
}

/** token,user,uid,"group1,group2" — the --token-auth-file format. */
export function tokenFileLine(user: TestUser): string {
  return `${user.token},${user.name},${user.uid},"${user.groups.join(',')}"`;
}

function writeServiceAccountKey(dir: string): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const path = join(dir, 'sa.key');
  writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return path;
}

export interface BaseArgsInput {
  readonly dir: string;
  readonly securePort: number;
  readonly etcdUrl: string;
  readonly tokenFile: string;
  readonly serviceAccountKey: string;
}

/** The non-audit flags of a standalone apiserver, as envtest starts one. */
export function baseApiserverArgs(input: BaseArgsInput): string[] {
  return [
    '--bind-address=127.0.0.1',
    // A loopback advertise address is only allowed without the endpoint reconciler; it keeps the apiserver
    // from publishing (and ever dialing) the host's external address.
    '--advertise-address=127.0.0.1',
    '--endpoint-reconciler-type=none',
    `--secure-port=${input.securePort}`,
    `--cert-dir=${join(input.dir, 'certs')}`,
    `--etcd-servers=${input.etcdUrl}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${input.serviceAccountKey}`,
    `--service-account-signing-key-file=${input.serviceAccountKey}`,
    '--authorization-mode=RBAC',
    `--token-auth-file=${input.tokenFile}`,
    '--anonymous-auth=true',
  ];
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const version = options.version ?? kubernetesVersions()[0];
  const binary = apiserverBinary(version);
  const etcd = await startEtcd();
  const dir = makeTempDir(`apiserver-${version}`);
  let apiserver: RunningProcess | undefined;
  try {
    const users: TestUsers = {
      admin: makeUser('e2e-admin', ['system:masters']),
      alice: makeUser('alice', ['dev']),
      bob: makeUser('bob', ['dev', 'qa']),
    };
    const tokenFile = join(dir, 'tokens.csv');
    writeFileSync(tokenFile, Object.values(users).map(tokenFileLine).join('\n') + '\n', { mode: 0o600 });
    const securePort = await freePort();
    const args = [
      ...baseApiserverArgs({ dir, securePort, etcdUrl: etcd.clientUrl, tokenFile, serviceAccountKey: writeServiceAccountKey(dir) }),
      ...(options.extraArgs ?? []),
    ];
    const started = Date.now();
    apiserver = startProcess('kube-apiserver', binary, args, dir);
    const url = `https://127.0.0.1:${securePort}`;
    const client = await waitUntilReady(apiserver, version, url, dir, users.admin, args, options.readyTimeoutMs ?? 120_000);
    const readyAfterMs = Date.now() - started;
    const proc = apiserver;
    let stopped: Promise<void> | undefined;
    return {
      version,
      url,
      users,
      client,
      apiserver: proc,
      etcd,
      args,
      readyAfterMs,
      callerFor: (user, impersonate) => ({ token: user.token, impersonate }),
      stop: () => (stopped ??= stopAll(proc, client, etcd, dir)),
    };
  } catch (error) {
    if (apiserver) await stopProcess(apiserver, 30_000, 'SIGKILL').catch(() => undefined);
    await etcd.stop().catch(() => undefined);
    removeTempDir(dir);
    throw error;
  }
}

async function stopAll(apiserver: RunningProcess, client: KubeClient, etcd: Etcd, dir: string): Promise<void> {
  client.close();
  try {
    await stopProcess(apiserver, 90_000, 'SIGTERM');
  } finally {
    apiserver.stderr(); // read once more before the temp dir goes, so callers can still inspect it
    await etcd.stop();
    removeTempDir(dir);
  }
}

/**
 * Polls /readyz with the admin token. The client trusts only the serving certificate the apiserver
 * generated in its --cert-dir, which exists once the apiserver has got far enough to serve.
 */
async function waitUntilReady(
  apiserver: RunningProcess,
  version: string,
  url: string,
  dir: string,
  admin: TestUser,
  args: readonly string[],
  timeoutMs: number,
): Promise<KubeClient> {
  const deadline = Date.now() + timeoutMs;
  const certPath = join(dir, 'certs', 'apiserver.crt');
  let client: KubeClient | undefined;
  let lastProblem = 'no serving certificate yet';
  for (;;) {
    if (!apiserver.isRunning()) {
      client?.close();
      const exitStatus = await apiserver.exited;
      throw startError(apiserver, version, args, exitStatus, `exited (status ${exitStatus}) before becoming ready`);
    }
    if (Date.now() > deadline) {
      client?.close();
      await stopProcess(apiserver, 30_000, 'SIGKILL').catch(() => undefined);
      throw startError(apiserver, version, args, undefined, `was not ready after ${timeoutMs} ms (last /readyz: ${lastProblem})`);
    }
    if (!client) {
      const ca = readCert(certPath);
      if (ca) client = new KubeClient(url, ca, { token: admin.token });
    }
    if (client) {
      try {
        const res = await client.request('GET', '/readyz', undefined, { timeoutMs: 5_000 });
        if (res.status === 200) return client;
        lastProblem = `HTTP ${res.status}: ${failedChecks(res.text)}`;
      } catch (error) {
        lastProblem = (error as Error).message;
      }
    }
    await sleep(200);
  }
}

function readCert(path: string): string | undefined {
  try {
    const pem = readFileSync(path, 'utf8');
    return pem.includes('END CERTIFICATE') ? pem : undefined;
  } catch {
    return undefined;
  }
}

/** The `[-]check failed` lines of a /readyz body. */
function failedChecks(text: string): string {
  const failed = text.split('\n').filter((l) => l.startsWith('[-]'));
  return failed.length ? failed.join('; ') : text.slice(0, 200);
}

function startError(apiserver: RunningProcess, version: string, args: readonly string[], exitStatus: number | string | undefined, reason: string): ApiserverStartError {
  const stderr = apiserver.stderr();
  const errorLines = apiserverErrorLines(stderr);
  return new ApiserverStartError(version, exitStatus, errorLines, flagsNamedBy(errorLines.join('\n'), args), apiserver.stderrPath, reason);
}
