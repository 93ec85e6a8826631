import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderGoYaml } from '../../core/go-yaml';
import { Command, ExitCode, InputError, UsageError, booleanOption, choiceOption, stringOption } from '../command';
import { readInput, write } from '../io';
import { AuditConfigError } from '../../backends/errors';
import { WebhookKubeconfigProps, buildWebhookKubeconfig } from '../../backends/kubeconfig';
import { formatProblems, writeOutput } from './flags';

const CERT_FILES = { ca: 'ca.crt', cert: 'apiserver-client.crt', key: 'apiserver-client.key' } as const;

export const kubeconfigCommand: Command = {
  name: 'kubeconfig',
  summary: 'render the webhook kubeconfig (--audit-webhook-config-file) for the remote sink',
  help: `Usage: cdk8s-audit kubeconfig --server URL [options]

Renders the kubeconfig the kube-apiserver's webhook backend reads: the sink's URL and CA, and the
apiserver's client certificate (or a bearer token). The apiserver runs on the host network and
resolves names with the node's resolver, so Service DNS names (name.namespace.svc…) are refused:
use a fixed ClusterIP, a NodePort or a host address.

Options:
  --server URL               where the apiserver POSTs events, e.g. https://10.96.0.50:8443/audit (required)
  --certs-dir DIR            embed ${CERT_FILES.ca}, ${CERT_FILES.cert} and ${CERT_FILES.key} from DIR
                             (the files 'cdk8s-audit certs --out DIR' writes)
  --ca FILE                  embed this CA certificate (PEM)
  --client-cert FILE         embed this client certificate (PEM); needs --client-key
  --client-key FILE          embed this client key (PEM)
  --ca-path PATH             refer to the CA by its path in the apiserver pod instead of embedding it
  --client-cert-path PATH    refer to the client certificate by path
  --client-key-path PATH     refer to the client key by path
  --token-file PATH          a bearer token file in the apiserver pod
  --tls-server-name NAME     server name to verify when it differs from the URL's host
  --allow-http               permit an http:// URL (only for a sink on 127.0.0.1 or tests)
  --host-resolvable          the host name is in the node's /etc/hosts or DNS though it looks like a
                             Service short name (never admits .svc names)
  --format yaml|json         output format (default yaml)
  --out FILE                 write to FILE instead of standard output (mode 0600: it may hold a key)
  -h, --help                 show this help

Bearer tokens are not taken on the command line (they would land in shell history); use --token-file.

Exit codes: 0 ok, 1 invalid input (the message names the field, the value, the rule and the fix), 2 usage error.

Example:
  cdk8s-audit certs --out tls --sans 10.96.0.50
  cdk8s-audit kubeconfig --server https://10.96.0.50:8443/audit --certs-dir tls --out webhook/kubeconfig.yaml`,
  // buildWebhookKubeconfig's messages name WebhookKubeconfigProps; the user wrote these flags.
  fieldFlags: {
    server: '--server',
    certificateAuthorityPem: '--ca (or ca.crt in --certs-dir)',
    clientCertificatePem: '--client-cert (or apiserver-client.crt in --certs-dir)',
    clientKeyPem: '--client-key (or apiserver-client.key in --certs-dir)',
    certificateAuthorityFile: '--ca-path',
    clientCertificateFile: '--client-cert-path',
    clientKeyFile: '--client-key-path',
    tokenFile: '--token-file',
    tlsServerName: '--tls-server-name',
    allowInsecureHttp: '--allow-http',
    hostResolvableFromNode: '--host-resolvable',
  },
  options: {
    server: { type: 'string' },
    'certs-dir': { type: 'string' },
    ca: { type: 'string' },
    'client-cert': { type: 'string' },
    'client-key': { type: 'string' },
    'ca-path': { type: 'string' },
    'client-cert-path': { type: 'string' },
    'client-key-path': { type: 'string' },
    'token-file': { type: 'string' },
    'tls-server-name': { type: 'string' },
    'allow-http': { type: 'boolean' },
    'host-resolvable': { type: 'boolean' },
    format: { type: 'string' },
    out: { type: 'string' },
  },
  async run(args, io) {
    if (args.positionals.length) throw new UsageError(`kubeconfig takes no arguments, got ${args.positionals.map((p) => JSON.stringify(p)).join(' ')}`);
    const server = stringOption(args, 'server');
    if (server === undefined) throw new UsageError('kubeconfig needs --server URL, e.g. --server https://10.96.0.50:8443/audit');
    const format = choiceOption(args, 'format', ['yaml', 'json'] as const, 'yaml');
    const dir = stringOption(args, 'certs-dir');
    for (const o of ['ca', 'client-cert', 'client-key']) {
      if (dir !== undefined && stringOption(args, o) !== undefined) throw new UsageError(`--${o} and --certs-dir both name the ${o}; give one`);
    }
    const read = async (option: string, path: string | undefined): Promise<string | undefined> => {
      if (path === undefined) return undefined;
      try {
        return await readInput(path === '-' ? '-' : resolve(io.cwd, path), io.stdin, { maxBytes: 1024 * 1024, what: 'a PEM certificate or key' });
      } catch (e) {
        throw new InputError(`--${option}: ${(e as Error).message}`);
      }
    };
    const fromDir = (file: string): string | undefined => {
      if (dir === undefined) return undefined;
      const path = join(resolve(io.cwd, dir), file);
      try {
        return readFileSync(path, 'utf8');
      } catch {
        throw new InputError(`--certs-dir: ${path} is missing; run 'cdk8s-audit certs --out ${dir}' first, or name the files with --ca/--client-cert/--client-key`);
      }
    };
    const props: WebhookKubeconfigProps = {
      server,
      certificateAuthorityPem: dir !== undefined ? fromDir(CERT_FILES.ca) : await read('ca', stringOption(args, 'ca')),
      clientCertificatePem: dir !== undefined ? fromDir(CERT_FILES.cert) : await read('client-cert', stringOption(args, 'client-cert')),
      clientKeyPem: dir !== undefined ? fromDir(CERT_FILES.key) : await read('client-key', stringOption(args, 'client-key')),
      certificateAuthorityFile: stringOption(args, 'ca-path'),
      clientCertificateFile: stringOption(args, 'client-cert-path'),
      clientKeyFile: stringOption(args, 'client-key-path'),
      tokenFile: stringOption(args, 'token-file'),
      tlsServerName: stringOption(args, 'tls-server-name'),
      allowInsecureHttp: booleanOption(args, 'allow-http'),
      hostResolvableFromNode: booleanOption(args, 'host-resolvable'),
    };
    let doc;
    try {
      doc = buildWebhookKubeconfig(props);
    } catch (e) {
      if (e instanceof AuditConfigError) throw new InputError(formatProblems(e.problems));
      throw e;
    }
    const text = format === 'json' ? JSON.stringify(doc, null, 2) : renderGoYaml(doc);
    const out = stringOption(args, 'out');
    if (out === undefined) write(io.stdout, text);
    else write(io.stderr, `wrote ${writeOutput(out, text, io, 0o600)}`);
    return ExitCode.OK;
  },
};
