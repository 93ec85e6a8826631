import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parse } from 'yaml';
import { renderGoYamlDocuments } from '../../core/go-yaml';
import { Command, ExitCode, InputError, ParsedArgs, UsageError, booleanOption, choiceOption, stringOption } from '../command';
import { write } from '../io';
import { DEFAULT_CLIENT_USER, KEY_ALGORITHMS, KeyAlgorithm, createWebhookTlsBundle, describeCertificate, issueClientCertificate, issueServingCertificate, loadCertificateAuthority, splitSans } from '../../tls/certs';
import { DEFAULT_SECRETS_DIR, SECRET_FILES, SINK_TLS_SECRET_KEYS } from '../../gitops/secrets-layout';
import { certManagerResources } from '../../tls/cert-manager';
import { writeOutput } from './flags';

/** The files `certs --out DIR` writes (names from the secrets layout), and which hold private keys. */
export const CERT_OUTPUT_FILES = [
  { file: SECRET_FILES.caCert, key: false, leaf: false },
  { file: SECRET_FILES.caKey, key: true, leaf: false },
  { file: SECRET_FILES.sinkCert, key: false, leaf: true },
  { file: SECRET_FILES.sinkKey, key: true, leaf: true },
  { file: SECRET_FILES.clientCert, key: false, leaf: true },
  { file: SECRET_FILES.clientKey, key: true, leaf: true },
] as const;

const DEFAULT_SINK_SECRET = 'audit-sink-tls';

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

/**
 * The synth output directory of the cdk8s app that contains `dir` (from the nearest cdk8s.yaml's
 * `output`, default dist), when `dir` is inside it: keys written there would be wiped by synth or committed.
 */
export function synthOutputContaining(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    const config = join(d, 'cdk8s.yaml');
    if (existsSync(config)) {
      let output = 'dist';
      try {
        const doc = parse(readFileSync(config, 'utf8')) as { output?: unknown } | null;
        if (typeof doc?.output === 'string' && doc.output) output = doc.output;
      } catch {
        // an unreadable cdk8s.yaml: assume cdk8s' default output
      }
      const out = resolve(d, output);
      return dir === out || dir.startsWith(out + sep) ? out : undefined;
    }
    if (dirname(d) === d) return undefined;
  }
}

/** The `kubectl create secret` command for the sink's TLS Secret, from the files in `dir`. */
export function sinkSecretCommand(dir: string, namespace: string, secretName: string): string {
  const from = SINK_TLS_SECRET_KEYS.map((k) => `--from-file=${k}=${join(dir, k)}`).join(' ');
  return `kubectl create secret generic ${secretName} --namespace ${namespace} ${from}`;
}

function readPem(dir: string, file: string, flag: string): string {
  const path = join(dir, file);
  if (!existsSync(path)) throw new InputError(`${flag}: ${path} is missing; --renew issues new certificates with the CA that an earlier 'certs --out ${dir}' wrote (ca.crt and ca.key)`);
  return readFileSync(path, 'utf8');
}

export const certsCommand: Command = {
  name: 'certs',
  summary: 'create or renew the webhook TLS material: a CA, the sink serving cert, the apiserver client cert',
  help: `Usage: cdk8s-audit certs --out DIR --sans SAN[,SAN...] [options]
       cdk8s-audit certs --out DIR --renew [options]
       cdk8s-audit certs --cert-manager --namespace NS --sans SAN[,SAN...] [options]

Creates a private CA, a serving certificate for the audit sink (with the DNS and IP SANs the
kube-apiserver dials) and a client certificate for the apiserver (CN = user, O = groups), and writes
them as PEM: ${CERT_OUTPUT_FILES.map((f) => f.file).join(', ')} (keys PKCS#8, mode 0600).
The names are the ones their users read:
  - the sink's TLS Secret and 'sink serve --tls-dir DIR' take ${SINK_TLS_SECRET_KEYS.join(', ')};
  - the node's webhook directory takes ${SECRET_FILES.caCert}, ${SECRET_FILES.clientCert}, ${SECRET_FILES.clientKey}
    (the names the scaffold's kubeconfig uses; 'init' apps mount them into kind from ${DEFAULT_SECRETS_DIR}).
In a cdk8s app, write them to ${DEFAULT_SECRETS_DIR} (gitignored by 'init'); a DIR inside the app's
synth output (dist/) is refused: synth wipes it and git commits it.

--renew keeps the CA (ca.crt, ca.key in DIR) and issues new sink and client certificates in place,
with the SANs, user and groups of the current ones unless given. The apiserver and the sink keep
trusting each other, because the CA does not change.

With --cert-manager, prints cert-manager.io/v1 Issuers and Certificates instead (cert-manager then
renews them; the apiserver still needs the client certificate and CA copied to the node).

Options:
  --out DIR                  directory to write the files to (created if missing), e.g. ${DEFAULT_SECRETS_DIR}
  --sans LIST                comma-separated DNS names and IP addresses of the sink, e.g. 10.96.0.50,audit-sink.example.com
  --renew                    new leaf certificates from the CA already in --out (no new CA)
  --client-user NAME         the apiserver's user name in the client certificate (default ${DEFAULT_CLIENT_USER})
  --client-groups LIST       comma-separated groups (subject O) of the client certificate
  --key-algorithm ALG        ${KEY_ALGORITHMS.join(', ')} (default ${KeyAlgorithm.ECDSA_P256})
  --days N                   validity of the sink and client certificates (default 365)
  --ca-days N                validity of the CA (default 3650)
  --force                    overwrite existing files in --out (a new CA: the sink and every node must get it)
  --namespace NS             with files: also print the kubectl command that makes the sink's TLS Secret in NS;
                             with --cert-manager: namespace of the resources (required)
  --secret-name NAME         the sink's TLS Secret (default ${DEFAULT_SINK_SECRET}, what the scaffold's AuditSink mounts)
  --cert-manager             print cert-manager resources instead of writing files
  --format text|json|yaml    files: text (default) or json listing what was written;
                             --cert-manager: yaml (default) or json
  -h, --help                 show this help

Exit codes: 0 ok, 1 invalid input or files already exist, 2 usage error.

Examples:
  cdk8s-audit certs --out ${DEFAULT_SECRETS_DIR} --sans 10.96.0.50 --namespace audit
  cdk8s-audit certs --out ${DEFAULT_SECRETS_DIR} --renew --days 90
  cdk8s-audit certs --out ./tls --sans 127.0.0.1,localhost && cdk8s-audit sink serve --tls-dir ./tls …`,
  options: {
    out: { type: 'string' },
    sans: { type: 'string' },
    renew: { type: 'boolean' },
    'client-user': { type: 'string' },
    'client-groups': { type: 'string' },
    'key-algorithm': { type: 'string' },
    days: { type: 'string' },
    'ca-days': { type: 'string' },
    force: { type: 'boolean' },
    'cert-manager': { type: 'boolean' },
    namespace: { type: 'string' },
    'secret-name': { type: 'string' },
    format: { type: 'string' },
  },
  async run(args, io) {
    if (args.positionals.length) throw new UsageError(`certs takes no arguments, got ${args.positionals.map((p) => JSON.stringify(p)).join(' ')}`);
    const renew = booleanOption(args, 'renew');
    const sans = listOption(args, 'sans');
    if (sans.length === 0 && !renew) throw new UsageError('certs needs --sans with the addresses the apiserver dials, e.g. --sans 10.96.0.50,localhost');
    try {
      splitSans(sans);
    } catch (e) {
      throw new InputError(`--${(e as Error).message}`); // the library names its field 'sans'
    }
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
      if (stringOption(args, 'out') !== undefined || booleanOption(args, 'force') || renew) throw new UsageError('--cert-manager prints resources; --out, --force and --renew are for writing files');
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
        write(io.stdout, note + renderGoYamlDocuments(resources)); // kubectl (Go) reads it
      }
      return ExitCode.OK;
    }

    const out = stringOption(args, 'out');
    if (out === undefined) throw new UsageError(`certs needs --out DIR, e.g. --out ${DEFAULT_SECRETS_DIR} (or --cert-manager to print cert-manager resources)`);
    const format = choiceOption(args, 'format', ['text', 'json'] as const, 'text');
    const dir = resolve(io.cwd, out);
    const synthOut = synthOutputContaining(dir);
    if (synthOut) {
      throw new InputError(
        `--out ${JSON.stringify(out)} is inside ${relative(io.cwd, synthOut) || synthOut}, the cdk8s app's synth output: synth wipes it and git commits it, keys included; ` +
          `write them to ${DEFAULT_SECRETS_DIR} (gitignored) instead`,
      );
    }
    const written: string[] = [];
    let notAfter: string;
    let info: { sans: string[]; clientUser: string; clientGroups: string[] };
    if (renew) {
      if (booleanOption(args, 'force')) throw new UsageError('--renew keeps the CA and replaces only the leaf certificates; --force (a new CA) does not go with it');
      if (stringOption(args, 'ca-days') !== undefined) throw new UsageError('--renew keeps the CA, so --ca-days does not apply; to replace the CA use --force without --renew');
      const caPem = readPem(dir, SECRET_FILES.caCert, '--renew');
      const caKeyPem = readPem(dir, SECRET_FILES.caKey, '--renew');
      let ca;
      try {
        ca = await loadCertificateAuthority(caPem, caKeyPem);
      } catch (e) {
        throw new InputError(`--renew: ${join(dir, SECRET_FILES.caCert)} / ${SECRET_FILES.caKey}: ${(e as Error).message}`);
      }
      // Unless told otherwise, the new certificates name what the current ones name.
      const current = (file: string) => (existsSync(join(dir, file)) ? describeCertificate(readFileSync(join(dir, file), 'utf8')) : undefined);
      const oldSink = current(SECRET_FILES.sinkCert);
      const oldClient = current(SECRET_FILES.clientCert);
      const renewSans = sans.length ? sans : oldSink ? [...oldSink.dnsNames, ...oldSink.ipAddresses] : [];
      if (renewSans.length === 0) throw new UsageError(`--renew found no ${SECRET_FILES.sinkCert} in ${dir} to take the SANs from; give --sans`);
      const clientUser = stringOption(args, 'client-user') ?? oldClient?.commonName ?? DEFAULT_CLIENT_USER;
      const clientGroups = stringOption(args, 'client-groups') !== undefined ? common.clientGroups : oldClient?.organizations ?? [];
      let sink, client;
      try {
        const { dnsNames, ipAddresses } = splitSans(renewSans);
        sink = await issueServingCertificate(ca, { keyAlgorithm, validityDays: common.validityDays, dnsNames, ipAddresses });
        client = await issueClientCertificate(ca, { keyAlgorithm, validityDays: common.validityDays, user: clientUser, groups: clientGroups });
      } catch (e) {
        throw new InputError((e as Error).message);
      }
      // Written in place (same files, same inodes): kind's file mounts and running readers see the new ones.
      const contents: Record<string, string> = {
        [SECRET_FILES.sinkCert]: sink.certPem, [SECRET_FILES.sinkKey]: sink.keyPem,
        [SECRET_FILES.clientCert]: client.certPem, [SECRET_FILES.clientKey]: client.keyPem,
      };
      for (const f of CERT_OUTPUT_FILES.filter((x) => x.leaf)) written.push(writeOutput(join(dir, f.file), contents[f.file], io, f.key ? 0o600 : 0o644));
      notAfter = sink.certificate.notAfter.toISOString();
      info = { sans: renewSans, clientUser, clientGroups };
    } else {
      const existing = CERT_OUTPUT_FILES.map((f) => join(dir, f.file)).filter((p) => existsSync(p));
      if (existing.length && !booleanOption(args, 'force')) {
        throw new InputError(
          `${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}; replacing a CA or key breaks the sink and the apiserver that trust it — ` +
            'renew the leaf certificates with --renew, choose another --out, or pass --force to replace them all (a new CA)',
        );
      }
      let bundle;
      try {
        bundle = await createWebhookTlsBundle(common);
      } catch (e) {
        throw new InputError((e as Error).message);
      }
      const contents: Record<string, string> = {
        [SECRET_FILES.caCert]: bundle.ca.certPem,
        [SECRET_FILES.caKey]: bundle.ca.keyPem,
        [SECRET_FILES.sinkCert]: bundle.sink.certPem,
        [SECRET_FILES.sinkKey]: bundle.sink.keyPem,
        [SECRET_FILES.clientCert]: bundle.apiserverClient.certPem,
        [SECRET_FILES.clientKey]: bundle.apiserverClient.keyPem,
      };
      for (const f of CERT_OUTPUT_FILES) written.push(writeOutput(join(dir, f.file), contents[f.file], io, f.key ? 0o600 : 0o644));
      notAfter = bundle.sink.certificate.notAfter.toISOString();
      info = { sans, clientUser: common.clientUser, clientGroups: common.clientGroups };
    }
    const namespace = stringOption(args, 'namespace');
    const secretName = stringOption(args, 'secret-name') ?? DEFAULT_SINK_SECRET;
    const kubectl = namespace !== undefined ? sinkSecretCommand(relative(io.cwd, dir) || '.', namespace, secretName) : undefined;
    if (format === 'json') {
      write(io.stdout, JSON.stringify({ files: written, renewed: renew, ...info, keyAlgorithm, notAfter, ...(kubectl ? { sinkSecretCommand: kubectl } : {}) }, null, 2));
    } else {
      const lines = [
        `${renew ? 'renewed' : 'wrote'} ${written.length} files in ${dir}${renew ? ' (the CA is unchanged)' : ''}:`,
        ...written.map((w) => `  ${relative(dir, w)}${w.endsWith('.key') ? ' (private key, 0600)' : ''}`),
        `sink and client certificates valid until ${notAfter}`,
      ];
      if (kubectl) lines.push(`the sink's TLS Secret${renew ? ' (replace it: kubectl delete secret first, then restart the sink)' : ''}:`, `  ${kubectl}`);
      write(io.stdout, lines.join('\n'));
    }
    return ExitCode.OK;
  },
};
