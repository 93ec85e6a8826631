import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { Command, ExitCode, InputError, UsageError, booleanOption, stringOption } from '../command';
import { write } from '../io';
import { DEFAULT_KUBERNETES_VERSION, parseKubernetesVersion } from '../../policy';
import { PRESET_NAMES } from '../../presets';

const TEMPLATE_DIR = join(__dirname, '..', '..', '..', 'templates', 'gitops');
/** Files npm would drop from a package under their real names. */
const RENAMES: Record<string, string> = { gitignore: '.gitignore' };

function listTemplates(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const rel = prefix ? `${prefix}/${entry}` : entry;
    return statSync(join(dir, entry)).isDirectory() ? listTemplates(join(dir, entry), rel) : [rel];
  });
}

export const initCommand: Command = {
  name: 'init',
  summary: 'scaffold a GitOps repository that synthesises audit settings with cdk8s',
  help: `Usage: cdk8s-audit init [DIR] [options]

Creates a cdk8s app in DIR (default: the current directory): cdk8s.yaml, main.ts, package.json,
tsconfig.json, README.md, .gitignore, and a CI workflow that fails when dist/ is stale.

Options:
  --preset NAME[,NAME]     compliance presets (default baseline): ${PRESET_NAMES.join(', ')}
  --kubernetes-version V   apiserver version (default ${DEFAULT_KUBERNETES_VERSION})
  --sink-address HOST:PORT where the apiserver reaches the sink: a fixed ClusterIP, NodePort or host
                           address, never a Service name (default 10.96.0.50:8443)
  --name NAME              project name (default: DIR's name)
  --force                  overwrite existing files
  -h, --help               show this help

Exit codes: 0 created, 1 files exist (without --force) or bad input, 2 usage error.`,
  options: {
    preset: { type: 'string' },
    'kubernetes-version': { type: 'string' },
    'sink-address': { type: 'string' },
    name: { type: 'string' },
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
    const sinkAddress = stringOption(args, 'sink-address') ?? '10.96.0.50:8443';
    if (!/^[A-Za-z0-9.-]+:\d{1,5}$/.test(sinkAddress)) throw new UsageError(`--sink-address ${JSON.stringify(sinkAddress)} must be HOST:PORT, e.g. 10.96.0.50:8443`);
    const name = stringOption(args, 'name') ?? basename(dir);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ownVersion = require('../../../package.json').version as string;
    const values: Record<string, string> = {
      name, kubernetesVersion: version, presets: presets.map((p) => `'${p}'`).join(', '), sinkAddress, cdk8sAuditVersion: ownVersion,
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
    write(io.stdout, `created ${targets.length} files in ${dir}\nnext: cd ${relative(io.cwd, dir) || '.'} && npm install && npm run synth`);
    return ExitCode.OK;
  },
};
