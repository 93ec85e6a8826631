/**
 * Asks a REAL kube-apiserver binary whether it loads a policy, in about a quarter of a second instead of
 * a full start. The apiserver builds its audit backends right after loading the policy
 * (pkg/server/options/audit.go AuditOptions.ApplyTo: 1. policy, 2. log writer, 3. webhook): we point
 * --audit-log-path below a regular file, so a policy that loads makes the very next step fail with
 * "ensureLogFile: … not a directory", and one that does not fails with "loading audit policy file: …".
 * The process exits either way; nothing else in the start-up differs from a real start.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueServingCertificate, createCertificateAuthority } from '../../../src/tls/certs';
import { apiserverErrorLines } from './apiserver-errors';
import { apiserverBinary } from './binaries';
import { baseApiserverArgs, tokenFileLine } from './control-plane';
import { Etcd, startEtcd } from './etcd';
import { freePort, makeTempDir, removeTempDir, startProcess, stopProcess } from './processes';
import { generateKeyPairSync, randomBytes } from 'node:crypto';

export interface ProbeVerdict {
  readonly accepted: boolean;
  /** The apiserver's own "command failed" line. */
  readonly errorLine: string;
  readonly ms: number;
}

export class PolicyProbe {
  private counter = 0;
  private constructor(
    private readonly dir: string,
    private readonly etcd: Etcd,
    private readonly files: { tokenFile: string; serviceAccountKey: string; tlsCert: string; tlsKey: string; notADirectory: string },
  ) {}

  static async start(): Promise<PolicyProbe> {
    const dir = makeTempDir('probe');
    const etcd = await startEtcd();
    const tokenFile = join(dir, 'tokens.csv');
    writeFileSync(tokenFile, tokenFileLine({ name: 'e2e-admin', uid: 'admin', groups: ['system:masters'], token: randomBytes(24).toString('hex') }) + '\n', { mode: 0o600 });
    const serviceAccountKey = join(dir, 'sa.key');
    writeFileSync(serviceAccountKey, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    // Serving certificate made once: without it every probe would generate its own self-signed pair.
    const ca = await createCertificateAuthority({ commonName: 'probe-ca' });
    const serving = await issueServingCertificate(ca, { ipAddresses: ['127.0.0.1'] });
    const tlsCert = join(dir, 'serving.crt');
    const tlsKey = join(dir, 'serving.key');
    writeFileSync(tlsCert, serving.certPem + ca.certPem);
    writeFileSync(tlsKey, serving.keyPem, { mode: 0o600 });
    const notADirectory = join(dir, 'not-a-directory');
    writeFileSync(notADirectory, 'a regular file: --audit-log-path below it cannot be created\n');
    return new PolicyProbe(dir, etcd, { tokenFile, serviceAccountKey, tlsCert, tlsKey, notADirectory });
  }

  /** Loads `policyText` with kube-apiserver `version` and reports whether it was accepted. */
  async probe(version: string, policyText: string, extension = 'yaml'): Promise<ProbeVerdict> {
    const id = ++this.counter;
    const policyFile = join(this.dir, `policy-${id}.${extension}`);
    writeFileSync(policyFile, policyText);
    const args = [
      ...baseApiserverArgs({
        dir: join(this.dir, `run-${id}`),
        securePort: await freePort(),
        etcdUrl: this.etcd.clientUrl,
        tokenFile: this.files.tokenFile,
        serviceAccountKey: this.files.serviceAccountKey,
      }),
      `--tls-cert-file=${this.files.tlsCert}`,
      `--tls-private-key-file=${this.files.tlsKey}`,
      `--audit-policy-file=${policyFile}`,
      `--audit-log-path=${join(this.files.notADirectory, 'audit.log')}`,
    ];
    const started = Date.now();
    const proc = startProcess(`probe-${id}-v${version}`, apiserverBinary(version), args, this.dir);
    const timer = setTimeout(() => void stopProcess(proc, 5_000, 'SIGKILL').catch(() => undefined), 60_000);
    const status = await proc.exited;
    clearTimeout(timer);
    const ms = Date.now() - started;
    const lines = apiserverErrorLines(proc.stderr());
    const failed = lines.find((l) => l.includes('command failed')) ?? lines[lines.length - 1] ?? '';
    if (/loading audit policy file/.test(failed)) return { accepted: false, errorLine: failed, ms };
    if (/ensureLogFile/.test(failed) && /not a directory/.test(failed)) return { accepted: true, errorLine: failed, ms };
    throw new Error(
      `policy probe ${id} (kube-apiserver v${version}, --audit-policy-file=${policyFile}) ended (status ${status}) without a verdict; ` +
        `its errors:\n  ${lines.join('\n  ') || '(none)'}`,
    );
  }

  async stop(): Promise<void> {
    try {
      await this.etcd.stop();
    } finally {
      removeTempDir(this.dir);
    }
  }
}

/** Runs `tasks` with at most `limit` in flight, keeping result order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
