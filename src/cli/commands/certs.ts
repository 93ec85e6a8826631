import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { Command, ExitCode, InputError, ParsedArgs, UsageError, booleanOption, choiceOption, stringOption } from '../command';
import { write } from '../io';
import { DEFAULT_CLIENT_USER, KEY_ALGORITHMS, KeyAlgorithm, createWebhookTlsBundle } from '../../tls/certs';
import { certManagerResources } from '../../tls/cert-manager';
import { writeOutput } from './flags';

/** The files `certs --out DIR` writes, and which hold private keys. */
export const CERT_OUTPUT_FILES = [
  { file: 'ca.crt', key: false },
  { file: 'ca.key', key: true },
  { file: 'sink.crt', key: false },
  { file: 'sink.key', key: true },
  { file: 'apiserver-client.crt', key: false },
  { file: 'apiserver-client.key', key: true },
] as const;

function listOption(args: ParsedArgs, name: string): string[] {
  return (stringOption(args, name) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function daysOption(args: ParsedArgs, name: string): number | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1) throw new InputError(`--${name}: ${JSON.stringify(text)} is not a whole number of days ≥ 1; give e.g. --${name} 365`);
  return v;
}

export const certsCommand: Command = {
  name: 'certs',
  summary: 'create the webhook TLS material: a CA, the sink serving cert, the apiserver client cert',
  help: `Usage: cdk8s-audit certs --out DIR --sans SAN[,SAN...] [options]
       cdk8s-audit certs --cert-manager --namespace NS --sans SAN[,SAN...] [options]

Creates a private CA, a serving certificate for the audit sink (with the DNS and IP SANs the
kube-apiserver dials) and a client certificate for the apiserver (CN = user, O = groups), and writes
them as PEM: ${CERT_OUTPUT_FILES.map((f) => f.file).join(', ')} (keys PKCS#8, mode 0600).
Put ca.crt and apiserver-client.* in the node's webhook directory (see 'cdk8s-audit kubeconfig
--certs-dir'), sink.* and ca.crt in the sink. Existing files are never overwritten without --force.

With --cert-manager, prints cert-manager.io/v1 Issuers and Certificates instead (cert-manager then
renews them; the apiserver still needs the client certificate and CA copied to the node).

Options:
  --out DIR                  directory to write the files to (created if missing)
  --sans LIST                comma-separated DNS names and IP addresses of the sink, e.g. 10.96.0.50,audit-sink.example.com
  --client-user NAME         the apiserver's user name in the client certificate (default ${DEFAULT_CLIENT_USER})
  --client-groups LIST       comma-separated groups (subject O) of the client certificate
  --key-algorithm ALG        ${KEY_ALGORITHMS.join(', ')} (default ${KeyAlgorithm.ECDSA_P256})
  --days N                   validity of the sink and client certificates (default 365)
  --ca-days N                validity of the CA (default 3650)
  --force                    overwrite existing files in --out
  --cert-manager             print cert-manager resources instead of writing files
  --namespace NS             with --cert-manager: namespace of the resources (required)
  --format text|json|yaml    files: text (default) or json listing what was written;
                             --cert-manager: yaml (default) or json
  -h, --help                 show this help

Exit codes: 0 ok, 1 invalid input or files already exist, 2 usage error.

Example:
  cdk8s-audit certs --out ./audit-tls --sans 10.96.0.50,localhost,127.0.0.1 --client-groups audit-writers`,
  options: {
    out: { type: 'string' },
    sans: { type: 'string' },
    'client-user': { type: 'string' },
    'client-groups': { type: 'string' },
    'key-algorithm': { type: 'string' },
    days: { type: 'string' },
    'ca-days': { type: 'string' },
    force: { type: 'boolean' },
    'cert-manager': { type: 'boolean' },
    namespace: { type: 'string' },
    format: { type: 'string' },
  },
  async run(args, io) {
    if (args.positionals.length) throw new UsageError(`certs takes no arguments, got ${args.positionals.map((p) => JSON.stringify(p)).join(' ')}`);
    const sans = listOption(args, 'sans');
    if (sans.length === 0) throw new UsageError('certs needs --sans with the addresses the apiserver dials, e.g. --sans 10.96.0.50,localhost');
    const keyAlgorithm = choiceOption(args, 'key-algorithm', KEY_ALGORITHMS, KeyAlgorithm.ECDSA_P256);
    const common = {
      sans,
      keyAlgorithm,
      clientUser: stringOption(args, 'client-user') ?? DEFAULT_CLIENT_USER,
      clientGroups: listOption(args, 'client-groups'),
      validityDays: daysOption(args, 'days'),
      caValidityDays: daysOption(args, 'ca-days'),
    };

    if (booleanOption(args, 'cert-manager')) {
      if (stringOption(args, 'out') !== undefined || booleanOption(args, 'force')) throw new UsageError('--cert-manager prints resources; --out and --force are for writing files');
      const namespace = stringOption(args, 'namespace');
      if (namespace === undefined) throw new UsageError('--cert-manager needs --namespace NS (the sink namespace)');
      const format = choiceOption(args, 'format', ['yaml', 'json'] as const, 'yaml');
      let resources;
      try {
        resources = certManagerResources({ ...common, namespace });
      } catch (e) {
        throw new InputError((e as Error).message);
      }
      if (format === 'json') write(io.stdout, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: resources }, null, 2));
      else {
        const note =
          '# cert-manager issues and renews these in-cluster. The kube-apiserver reads its client certificate and the CA\n' +
          `# from the node: copy tls.crt/tls.key of Secret ${resources[4] && (resources[4] as { spec: { secretName: string } }).spec.secretName} and ca.crt to the node's\n` +
          '# webhook directory after each renewal (e.g. with a DaemonSet on the control-plane nodes).\n';
        write(io.stdout, note + resources.map((r) => stringify(r, { lineWidth: 0 })).join('---\n'));
      }
      return ExitCode.OK;
    }

    if (stringOption(args, 'namespace') !== undefined) throw new UsageError('--namespace is for --cert-manager');
    const out = stringOption(args, 'out');
    if (out === undefined) throw new UsageError('certs needs --out DIR (or --cert-manager to print cert-manager resources)');
    const format = choiceOption(args, 'format', ['text', 'json'] as const, 'text');
    const dir = resolve(io.cwd, out);
    const existing = CERT_OUTPUT_FILES.map((f) => join(dir, f.file)).filter((p) => existsSync(p));
    if (existing.length && !booleanOption(args, 'force')) {
      throw new InputError(
        `${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}; replacing a CA or key breaks the sink and the apiserver that trust it — ` +
          'choose another --out, or pass --force to replace them',
      );
    }
    let bundle;
    try {
      bundle = await createWebhookTlsBundle(common);
    } catch (e) {
      throw new InputError((e as Error).message);
    }
    const contents: Record<string, string> = {
      'ca.crt': bundle.ca.certPem,
      'ca.key': bundle.ca.keyPem,
      'sink.crt': bundle.sink.certPem,
      'sink.key': bundle.sink.keyPem,
      'apiserver-client.crt': bundle.apiserverClient.certPem,
      'apiserver-client.key': bundle.apiserverClient.keyPem,
    };
    const written = CERT_OUTPUT_FILES.map((f) => writeOutput(join(dir, f.file), contents[f.file], io, f.key ? 0o600 : 0o644));
    const notAfter = bundle.sink.certificate.notAfter.toISOString();
    if (format === 'json') {
      write(io.stdout, JSON.stringify({ files: written, sans, clientUser: common.clientUser, clientGroups: common.clientGroups, keyAlgorithm, notAfter }, null, 2));
    } else {
      write(io.stdout, [`wrote ${written.length} files to ${dir}:`, ...CERT_OUTPUT_FILES.map((f) => `  ${f.file}${f.key ? ' (private key, 0600)' : ''}`), `sink and client certificates valid until ${notAfter}`].join('\n'));
    }
    return ExitCode.OK;
  },
};
