/**
 * Where the user's repository keeps what must never be committed or synthesised: the webhook's keys and
 * certificates. One module says it, so `init` (its .gitignore), `certs` (the file names), the kind config
 * (its mounts) and `prove --kind` (what it mounts and which Secrets it creates) agree.
 *
 * Layout, relative to the app directory (where `cdk8s synth` and `kind create cluster` run):
 *
 *   .cdk8s-audit/secrets/          gitignored; synth never reads or writes it
 *     ca.crt  ca.key               the private CA (keep ca.key; `certs --renew` issues new leaves with it)
 *     tls.crt tls.key              the sink's serving certificate: the sink's TLS Secret takes tls.crt,
 *                                  tls.key and ca.crt under these names (`sink serve --tls-dir` reads them)
 *     apiserver-client.crt/.key    the kube-apiserver's client certificate for the webhook
 *
 * dist/node/kind-cluster.yaml mounts the node's files one by one into the webhook directory of the node
 * (ca.crt, apiserver-client.crt, apiserver-client.key, next to the kubeconfig from dist/), so the CA key
 * and the sink's key never enter the node.
 */
import { posix } from 'node:path';

/** The default secrets directory, relative to the app directory. */
export const DEFAULT_SECRETS_DIR = '.cdk8s-audit/secrets';

/** The file names in the secrets directory (what `cdk8s-audit certs --out DIR` writes). */
export const SECRET_FILES = {
  /** The CA certificate: the node trusts the sink with it, the sink trusts the apiserver with it. */
  caCert: 'ca.crt',
  /** The CA key: only `certs --renew` needs it. */
  caKey: 'ca.key',
  /** The sink's serving certificate (Secret key tls.crt). */
  sinkCert: 'tls.crt',
  /** The sink's serving key (Secret key tls.key). */
  sinkKey: 'tls.key',
  /** The apiserver's webhook client certificate. */
  clientCert: 'apiserver-client.crt',
  /** The apiserver's webhook client key. */
  clientKey: 'apiserver-client.key',
} as const;

/** The files the sink's TLS Secret holds, by Secret key (all from the secrets directory, same names). */
export const SINK_TLS_SECRET_KEYS: readonly string[] = [SECRET_FILES.sinkCert, SECRET_FILES.sinkKey, SECRET_FILES.caCert];

/** The files the control-plane node needs in its webhook directory. */
export const NODE_SECRET_FILES: readonly string[] = [SECRET_FILES.caCert, SECRET_FILES.clientCert, SECRET_FILES.clientKey];

/** Which of the files hold private keys (written 0600). */
export function isPrivateKeyFile(name: string): boolean {
  return name.endsWith('.key');
}

/**
 * Why `secretsDir` cannot hold secrets next to an app whose synth output is `outdir`, or undefined when it
 * can. Both are relative to the app directory or absolute; synth empties outdir, and outdir is committed.
 */
export function secretsDirProblem(secretsDir: string, outdir: string): string | undefined {
  const norm = (p: string) => p.replace(/\\/g, '/').replace(/^\.\//, '').replace(/\/+$/, '');
  const s = norm(secretsDir);
  const o = norm(outdir);
  if (s === '' || s === '.') return `secretsDir: ${JSON.stringify(secretsDir)} is the app directory itself; give a dedicated, gitignored directory such as ${DEFAULT_SECRETS_DIR}`;
  const fromOut = posix.relative(o, s);
  if (fromOut === '' || !(fromOut === '..' || fromOut.startsWith('../') || posix.isAbsolute(fromOut))) {
    return `secretsDir: ${JSON.stringify(secretsDir)} is inside the synth output ${JSON.stringify(outdir)}, which synth empties and git commits; keep keys outside it, e.g. ${DEFAULT_SECRETS_DIR}`;
  }
  return undefined;
}
