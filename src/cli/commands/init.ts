import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Command, ExitCode, InputError, UsageError, booleanOption, stringOption } from '../command';
import { write } from '../io';
import { presetFromArgs } from '../preset-options';
import { DEFAULT_KUBERNETES_VERSION, KubernetesVersion, parseKubernetesVersion } from '../../core/kubernetes-version';
import { PRESET_NAMES, RetentionPrecedence } from '../../presets';
import { Preset } from '../../presets/preset-names';
import { DEFAULT_SECRETS_DIR, secretsDirProblem } from '../../gitops/secrets-layout';

const TEMPLATE_DIR = join(__dirname, '..', '..', '..', 'templates', 'gitops');
/** Files npm would drop from a package under their real names. */
const RENAMES: Record<string, string> = { gitignore: '.gitignore' };

function listTemplates(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const rel = prefix ? `${prefix}/${entry}` : entry;
    return statSync(join(dir, entry)).isDirectory() ? listTemplates(join(dir, entry), rel) : [rel];
  });
}

/** Where `--package SPEC` points npm: a version or range as given, a tarball or a directory as `file:`, relative to DIR. */
export function packageSpec(spec: string, cwd: string, dir: string): string {
  const looksLikePath = spec.includes('/') || spec.startsWith('.') || spec.endsWith('.tgz') || spec.endsWith('.tar.gz');
  if (!looksLikePath) {
    if (/^(\^|~|>=?|<=?|=)?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(spec) || /^[a-z][a-z0-9-]*$/.test(spec)) return spec;
    throw new UsageError(`--package ${JSON.stringify(spec)} is neither a version (0.1.0, ^0.1.0), a dist-tag, a tarball (.tgz) nor a directory; give one of those`);
  }
  const abs = resolve(cwd, spec);
  if (!existsSync(abs)) throw new InputError(`--package ${JSON.stringify(spec)}: ${abs} does not exist; give the tarball from 'npm pack' or the package directory`);
  if (statSync(abs).isDirectory() && !existsSync(join(abs, 'package.json'))) {
    throw new InputError(`--package ${JSON.stringify(spec)}: ${abs} has no package.json; give the cdk8s-audit package directory or its tarball`);
  }
  const rel = relative(dir, abs).split(sep).join('/');
  return `file:${rel.startsWith('.') ? rel : `./${rel}`}`;
}

/** Runs `git init` in DIR unless DIR is already inside a git work tree. @returns what happened, for the user */
function ensureGitRepository(dir: string): string {
  const inside = spawnSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd: dir, encoding: 'utf8' });
  if (inside.error) return `git is not installed: 'npm run check' needs a git repository — install git and run 'git init' in ${dir}`;
  if (inside.status === 0 && inside.stdout.trim() === 'true') return '';
  const init = spawnSync('git', ['init', '--quiet'], { cwd: dir, encoding: 'utf8' });
  if (init.status !== 0) return `git init failed in ${dir}: ${init.stderr.trim()}; 'npm run check' needs a git repository`;
  return `initialised a git repository in ${dir} ('npm run check' compares dist/ with it)`;
}

export const initCommand: Command = {
  name: 'init',
  summary: 'scaffold a GitOps repository that synthesises audit settings with cdk8s',
  help: `Usage: cdk8s-audit init [DIR] [options]

Creates a cdk8s app in DIR (default: the current directory): cdk8s.yaml, main.ts, package.json,
tsconfig.json, README.md, .gitignore, and a CI workflow that fails when dist/ is stale. main.ts
deploys an AuditSink at --sink-address and points the ClusterAudit's webhook at it. Runs 'git init'
when DIR is not inside a git repository ('npm run check' compares dist/ with git).

Layout of the app (relative to DIR, where 'cdk8s synth' and 'kind create cluster' run):
  dist/                     synth output, committed; never holds a key
  dist/node/kind-cluster.yaml   mounts dist/node/rootfs/… (policy, webhook kubeconfig) and, file by file,
                            SECRETS/ca.crt, SECRETS/apiserver-client.crt, SECRETS/apiserver-client.key
                            into the node's webhook directory
  dist/node/files.yaml      where each node file goes; provisionSeparately[].secretsFile = the file in SECRETS
  SECRETS/                  --secrets-dir (default ${DEFAULT_SECRETS_DIR}): gitignored, synth never
                            touches it; 'cdk8s-audit certs --out SECRETS --sans ADDRESS' fills it
                            (ca.crt ca.key tls.crt tls.key apiserver-client.crt apiserver-client.key;
                            the sink's TLS Secret takes tls.crt, tls.key, ca.crt)

Options:
  --preset NAME[,NAME]     compliance presets (default baseline): ${PRESET_NAMES.join(', ')}
  --retention-precedence minimum|maximum  with gdpr and a preset with a longer minimum (pci-dss, hipaa…): which wins
  --kubernetes-version V   apiserver version (default ${DEFAULT_KUBERNETES_VERSION})
  --sink-address IP:PORT   the sink's fixed ClusterIP and port, where the apiserver reaches it (the
                           apiserver cannot resolve Service names) (default 10.96.0.50:8443)
  --package SPEC           the cdk8s-audit dependency: a version or range (default ^${ownVersion()}),
                           a tarball from 'npm pack', or a package directory (written as file:PATH)
  --secrets-dir DIR        where keys and certificates live, relative to DIR (default ${DEFAULT_SECRETS_DIR})
  --name NAME              project name (default: DIR's name)
  --skip-git               do not run 'git init'
  --force                  overwrite existing files
  -h, --help               show this help

Exit codes: 0 created, 1 files exist (without --force) or bad input, 2 usage error.`,
  options: {
    preset: { type: 'string' },
    'retention-precedence': { type: 'string' },
    'kubernetes-version': { type: 'string' },
    'sink-address': { type: 'string' },
    package: { type: 'string' },
    'secrets-dir': { type: 'string' },
    name: { type: 'string' },
    'skip-git': { type: 'boolean' },
    force: { type: 'boolean' },
  },
  async run(args, io) {
    if (args.positionals.length > 1) throw new UsageError(`init takes at most one DIR, got ${args.positionals.length}`);
    const dir = resolve(io.cwd, args.positionals[0] ?? '.');
    const presets = (stringOption(args, 'preset') ?? 'baseline').split(',').map((p) => p.trim()).filter(Boolean);
    const unknown = presets.filter((p) => !PRESET_NAMES.includes(p));
    if (unknown.length) throw new InputError(`unknown preset ${unknown.map((p) => JSON.stringify(p)).join(', ')}; valid presets: ${PRESET_NAMES.join(', ')}`);
    let version: string;
    try {
      version = parseKubernetesVersion(stringOption(args, 'kubernetes-version')).text;
    } catch (e) {
      throw new UsageError(`--${(e as Error).message}`);
    }
    // Compose now, so presets that conflict (gdpr with pci-dss) fail here and not at the app's first synth.
    presetFromArgs(args, presets.join(','), version);
    const precedence = stringOption(args, 'retention-precedence');
    const precedenceKey = Object.entries(RetentionPrecedence).find(([, v]) => v === precedence)?.[0];
    const sinkAddress = stringOption(args, 'sink-address') ?? '10.96.0.50:8443';
    const address = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(sinkAddress);
    if (!address || isIP(address[1]) !== 4 || Number(address[2]) < 1 || Number(address[2]) > 65535) {
      throw new UsageError(`--sink-address ${JSON.stringify(sinkAddress)} must be CLUSTER-IP:PORT, e.g. 10.96.0.50:8443 (an IPv4 address in the Service CIDR: the apiserver cannot resolve Service names)`);
    }
    const secretsDir = stringOption(args, 'secrets-dir') ?? DEFAULT_SECRETS_DIR;
    const secretsProblem = isAbsolute(secretsDir) || secretsDir.split('/').includes('..')
      ? `secretsDir: ${JSON.stringify(secretsDir)} leaves the app directory; give a path inside it, e.g. ${DEFAULT_SECRETS_DIR}`
      : secretsDirProblem(secretsDir, 'dist');
    if (secretsProblem) throw new UsageError(`--secrets-dir: ${secretsProblem.replace(/^secretsDir: /, '')}`);
    const name = stringOption(args, 'name') ?? basename(dir);
    const spec = packageSpec(stringOption(args, 'package') ?? `^${ownVersion()}`, io.cwd, dir);
    const normalisedSecrets = secretsDir.replace(/^\.\//, '').replace(/\/+$/, '');
    const values: Record<string, string> = {
      name, kubernetesVersion: version, presets: presets.map((p) => `'${p}'`).join(', '),
      // The construct props take the enum-like KubernetesVersion and the Preset enum, not strings.
      kubernetesVersionConstant: kubernetesVersionConstant(version),
      presetConstants: presets.map(presetConstant).join(', '),
      retentionPrecedenceImport: precedenceKey ? ', RetentionPrecedence' : '',
      retentionPrecedenceOption: precedenceKey ? `, retentionPrecedence: RetentionPrecedence.${precedenceKey}` : '',
      sinkHost: address[1], sinkPort: address[2], cdk8sAuditVersion: ownVersion(), cdk8sAuditSpec: spec,
      secretsDir: normalisedSecrets,
      appProps: normalisedSecrets === DEFAULT_SECRETS_DIR ? '' : `{ nodeFiles: { secretsDir: '${normalisedSecrets}' } }`,
    };
    const templates = listTemplates(TEMPLATE_DIR);
    const targets = templates.map((t) => ({ from: join(TEMPLATE_DIR, t), to: join(dir, RENAMES[t] ?? t) }));
    const existing = targets.filter((t) => existsSync(t.to)).map((t) => relative(io.cwd, t.to) || t.to);
    if (existing.length && !booleanOption(args, 'force')) {
      throw new InputError(`not overwriting existing files: ${existing.join(', ')}; use --force to replace them, or init into another DIR`);
    }
    for (const t of targets) {
      mkdirSync(join(t.to, '..'), { recursive: true });
      const text = readFileSync(t.from, 'utf8').replace(/\{\{(\w+)\}\}/g, (m, key: string) => values[key] ?? m);
      writeFileSync(t.to, text);
    }
    const git = booleanOption(args, 'skip-git') ? '' : ensureGitRepository(dir);
    const cd = relative(io.cwd, dir) || '.';
    write(io.stdout, [
      `created ${targets.length} files in ${dir}`,
      ...(git ? [git] : []),
      `next: cd ${cd} && npm install && npm run synth`,
      `then: npx cdk8s-audit certs --out ${normalisedSecrets} --sans ${address[1]} --namespace audit   (keys stay out of git and dist/)`,
    ].join('\n'));
    return ExitCode.OK;
  },
};

function ownVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../../../package.json').version as string;
}

/** `KubernetesVersion.V1_37` for a version with a constant, `KubernetesVersion.of('1.36.2')` otherwise. */
function kubernetesVersionConstant(version: string): string {
  const key = `V${version.replace('.', '_')}`;
  return key in KubernetesVersion ? `KubernetesVersion.${key}` : `KubernetesVersion.of('${version}')`;
}

/** `Preset.PCI_DSS` for `pci-dss`. */
function presetConstant(name: string): string {
  const key = Object.entries(Preset).find(([, v]) => v === name)?.[0];
  if (!key) throw new Error(`preset ${JSON.stringify(name)} has no Preset constant`);
  return `Preset.${key}`;
}
