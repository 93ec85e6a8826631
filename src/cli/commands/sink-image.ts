import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { Command, ExitCode, InputError, UsageError, booleanOption, stringOption } from '../command';
import { write } from '../io';

/** The installed package: lib/, package.json, templates/ (this file is lib/cli/commands/sink-image.js). */
const PACKAGE_DIR = join(__dirname, '..', '..', '..');
const DOCKERFILE = join(PACKAGE_DIR, 'templates', 'sink', 'Dockerfile');
/** What the image's node runs; the Dockerfile's default base. */
export const DEFAULT_SINK_BASE_IMAGE = 'node:20-bookworm-slim';
/** Peers the CLI loads at run time (cdk8s-plus-28 is not among them: only the constructs in cdk8s-audit/sinks use it). */
const RUNTIME_PEERS = ['cdk8s', 'constructs'];

interface PackageJson {
  readonly name: string;
  readonly version: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
}

function readPackageJson(dir: string): PackageJson {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
}

/** Node's lookup of `name` from `fromDir`: fromDir/node_modules/name, then each parent's. */
export function findPackageDir(name: string, fromDir: string): string | undefined {
  for (let d = fromDir; ; d = dirname(d)) {
    const candidate = join(d, 'node_modules', ...name.split('/'));
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(d) === d) return undefined;
  }
}

/** The node_modules directory the package's own dependencies resolve from (its install's root). */
function modulesRoot(pkgDir: string): string {
  const parent = dirname(pkgDir);
  if (basename(parent) === 'node_modules') return parent;
  if (basename(dirname(parent)) === 'node_modules' && basename(parent).startsWith('@')) return dirname(parent);
  return join(pkgDir, 'node_modules'); // a checkout: its own node_modules
}

/**
 * Every package directory the run-time tree needs — `roots` and their dependencies, recursively, as node
 * resolves them from where they are installed — keyed by its path under `root` (kept, so nested versions
 * stay nested).
 */
export function runtimeClosure(pkgDir: string, roots: readonly string[]): { root: string; dirs: string[]; missing: string[] } {
  const root = modulesRoot(pkgDir);
  const dirs = new Set<string>();
  const missing: string[] = [];
  const visit = (name: string, from: string, optional: boolean) => {
    const dir = findPackageDir(name, from);
    if (!dir) {
      if (!optional) missing.push(`${name} (needed by ${relative(root, from) || basename(from)})`);
      return;
    }
    if (dirs.has(dir)) return;
    dirs.add(dir);
    const pkg = readPackageJson(dir);
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, dir, false);
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) visit(dep, dir, true);
  };
  for (const name of roots) visit(name, pkgDir, false);
  return { root, dirs: [...dirs].sort(), missing };
}

function copyJs(from: string, to: string): void {
  for (const entry of readdirSync(from)) {
    const src = join(from, entry);
    if (statSync(src).isDirectory()) copyJs(src, join(to, entry));
    else if (entry.endsWith('.js')) {
      mkdirSync(to, { recursive: true });
      cpSync(src, join(to, entry));
    }
  }
}

/**
 * Writes the image's build context to `out`: the Dockerfile, lib/ (JavaScript only), a package.json whose
 * dependencies are the package's plus the peers the CLI loads, and node_modules/ with exactly the
 * production closure, copied from where the package is installed. No sources, no lock file, no registry.
 */
export function assembleSinkImageContext(pkgDir: string, out: string): { packages: number } {
  const own = readPackageJson(pkgDir);
  const roots = [...Object.keys(own.dependencies ?? {}), ...RUNTIME_PEERS];
  const closure = runtimeClosure(pkgDir, roots);
  if (closure.missing.length) {
    throw new InputError(
      `sink image: the run-time dependencies are not all installed next to ${own.name}: ${closure.missing.join(', ')}; ` +
        `install them (npm install ${RUNTIME_PEERS.join(' ')}) in the project that has ${own.name}, then run it again`,
    );
  }
  mkdirSync(out, { recursive: true });
  cpSync(DOCKERFILE, join(out, 'Dockerfile'));
  copyJs(join(pkgDir, 'lib'), join(out, 'lib'));
  const versions: Record<string, string> = { ...own.dependencies };
  for (const peer of RUNTIME_PEERS) versions[peer] = readPackageJson(findPackageDir(peer, pkgDir)!).version;
  writeFileSync(join(out, 'package.json'), JSON.stringify({ name: own.name, version: own.version, private: true, dependencies: versions }, null, 2) + '\n');
  for (const dir of closure.dirs) {
    const rel = relative(closure.root, dir);
    if (rel.startsWith('..') || rel.startsWith(sep)) throw new InputError(`sink image: ${dir} is outside ${closure.root}; install the package and its dependencies into one node_modules`);
    const target = join(out, 'node_modules', rel);
    // A package's own node_modules holds nested dependencies: those in the closure are copied on their own.
    cpSync(dir, target, { recursive: true, filter: (src) => src === dir || !relative(dir, src).split(sep).includes('node_modules') });
  }
  return { packages: closure.dirs.length };
}

function docker(bin: string, args: string[], inherit: boolean): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(bin, args, { encoding: 'utf8', stdio: ['ignore', inherit ? 'inherit' : 'pipe', inherit ? 'inherit' : 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new InputError(`sink image: cannot run ${bin} (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}); install Docker, or give --docker BIN, or use --context DIR with another builder`);
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export const sinkImageCommand: Command = {
  name: 'sink image',
  summary: 'build the container image AuditSink runs, from the installed package (docker build)',
  help: `Usage: cdk8s-audit sink image [--tag IMAGE] [--base IMAGE] [--docker BIN] [--context DIR] [--no-check]

Builds the image the AuditSink Deployment runs ('sink serve'), from this installed package alone: the
build context is assembled in a temporary directory from the package's lib/ (JavaScript), a package.json
and the production dependencies (plus cdk8s and constructs, which the CLI loads) copied from the
node_modules the package is installed in — no sources, no lock file, and no npm registry during the
build. The Dockerfile is templates/sink/Dockerfile: the base's node runs the CLI as UID/GID 65532 (what
AuditSink's pod security context sets), with no writable root file system needed.

After building it runs the image once ('sink serve --help') to prove the CLI loads in it. Load the image
into kind with 'kind load docker-image IMAGE --name CLUSTER', or push it to your registry.

Options:
  --tag IMAGE      the image reference to build (default cdk8s-audit-sink:${readPackageJson(PACKAGE_DIR).version}, what 'init' apps name)
  --base IMAGE     the base image with node ≥ 20 at /usr/local/bin/node or on PATH
                   (default ${DEFAULT_SINK_BASE_IMAGE}; offline machines give a local image, e.g. the
                   one scripts/kind-sink-image.sh builds in this repository)
  --docker BIN     the docker CLI (default $CDK8S_AUDIT_DOCKER, else docker)
  --context DIR    write the build context (Dockerfile included) to DIR and stop: for other builders
                   (buildah, kaniko) or to inspect it; DIR must not exist or be empty
  --no-check       do not run the built image once
  -h, --help       show this help

Exit codes: 0 built (and it runs), 1 the build or the check failed, 2 usage error.

Examples:
  npx cdk8s-audit sink image
  npx cdk8s-audit sink image --tag registry.example.com/audit/sink:0.1.0 && docker push registry.example.com/audit/sink:0.1.0
  cdk8s-audit sink image --tag cdk8s-audit-sink:0.1.0 --base cdk8s-audit/node:v20.19.0   (kind suite, offline)`,
  options: {
    tag: { type: 'string' },
    base: { type: 'string' },
    docker: { type: 'string' },
    context: { type: 'string' },
    'no-check': { type: 'boolean' },
  },
  async run(args, io) {
    if (args.positionals.length) throw new UsageError(`sink image takes no arguments, got ${args.positionals.map((p) => JSON.stringify(p)).join(' ')}`);
    const tag = stringOption(args, 'tag') ?? `cdk8s-audit-sink:${readPackageJson(PACKAGE_DIR).version}`;
    const base = stringOption(args, 'base') ?? DEFAULT_SINK_BASE_IMAGE;
    for (const [flag, value] of [['--tag', tag], ['--base', base]] as const) {
      if (!/^[a-z0-9][a-z0-9._\-/:@]*$/i.test(value)) throw new UsageError(`${flag} ${JSON.stringify(value)} is not an image reference (e.g. cdk8s-audit-sink:0.1.0)`);
    }
    const contextOut = stringOption(args, 'context');
    if (contextOut !== undefined) {
      const dir = resolve(io.cwd, contextOut);
      if (existsSync(dir) && readdirSync(dir).length) throw new InputError(`--context ${JSON.stringify(contextOut)}: ${dir} is not empty; give a new directory`);
      const { packages } = assembleSinkImageContext(PACKAGE_DIR, dir);
      write(io.stdout, `wrote the build context to ${dir} (${packages} packages); build it with:\n  docker build --build-arg NODE_IMAGE=${base} -t ${tag} ${contextOut}`);
      return ExitCode.OK;
    }
    const bin = stringOption(args, 'docker') ?? process.env.CDK8S_AUDIT_DOCKER ?? 'docker';
    const work = mkdtempSync(join(tmpdir(), 'cdk8s-audit-sink-image-'));
    try {
      const { packages } = assembleSinkImageContext(PACKAGE_DIR, work);
      write(io.stderr, `sink image: building ${tag} from ${base} (${packages} packages)`);
      const build = docker(bin, ['build', '--quiet', '--build-arg', `NODE_IMAGE=${base}`, '-t', tag, work], false);
      if (build.status !== 0) throw new InputError(`sink image: docker build failed (exit ${build.status}):\n${build.stderr.trim() || build.stdout.trim()}`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    if (!booleanOption(args, 'no-check')) {
      const check = docker(bin, ['run', '--rm', tag, 'sink', 'serve', '--help'], false);
      if (check.status !== 0 || !check.stdout.includes('Usage: cdk8s-audit sink serve')) {
        throw new InputError(`sink image: ${tag} was built but 'sink serve --help' fails in it (exit ${check.status}):\n${check.stderr.trim()}`);
      }
    }
    write(io.stdout, tag);
    return ExitCode.OK;
  },
};
