/**
 * `npm run bench`: measures each figure against a baseline taken in the same run (medians of several
 * interleaved runs, with their spread) and writes bench/results/latest.{json,md,svg}.
 *
 *   npm run bench                         every section, full size (about half an hour on 2 cores)
 *   npm run bench -- --quick              a short smoke run of every section, written to $TMPDIR/cdk8s-audit-bench/
 *   npm run bench -- --only volume,evaluator
 *   npm run bench -- --out DIR --name NAME
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { kubernetesVersions } from '../e2e/support/binaries';
import { makeTempDir } from '../e2e/support/processes';
import type { BenchContext, Section } from './support/context';
import { BenchResults, SectionReport, writeResults } from './support/report';
import type { Figure } from './support/stats';
import { evaluatorSection } from './sections/evaluator';
import { overheadSection } from './sections/overhead';
import { reportSection } from './sections/report';
import { sinkSection } from './sections/sink';
import { synthSection } from './sections/synth';
import { volumeSection } from './sections/volume';

const REPO = resolve(__dirname, '..', '..');
const SECTIONS: readonly Section[] = [volumeSection, overheadSection, sinkSection, evaluatorSection, synthSection, reportSection];

const QUICK_OUT = join(tmpdir(), 'cdk8s-audit-bench');

const USAGE = `usage: npm run bench -- [--quick] [--only ${SECTIONS.map((s) => s.id).join(',')}] [--out DIR] [--name NAME]

  --quick        short smoke run (1-3 runs per figure, small sizes), written to ${QUICK_OUT}/quick.*
                 so it never replaces the committed bench/results/latest.*
  --only LIST    run only these sections (comma-separated)
  --out DIR      where to write NAME.json, NAME.md and NAME.svg (default bench/results)
  --name NAME    file name stem (default latest, or quick with --quick)
`;

interface Args {
  readonly quick: boolean;
  readonly only: string[];
  readonly out: string;
  readonly name: string;
}

function usageError(message: string): never {
  process.stderr.write(`bench: ${message}\n${USAGE}`);
  process.exit(2);
}

export function parseArgs(argv: readonly string[]): Args {
  let quick = false;
  let only: string[] = SECTIONS.map((s) => s.id);
  let out: string | undefined;
  let name: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i] ?? usageError(`${flag} needs a value`);
    switch (flag) {
      case '--quick':
        quick = true;
        break;
      case '--only':
        only = value().split(',').map((s) => s.trim()).filter(Boolean);
        for (const id of only) if (!SECTIONS.some((s) => s.id === id)) usageError(`unknown section ${JSON.stringify(id)}`);
        break;
      case '--out':
        out = resolve(value());
        break;
      case '--name':
        name = value();
        break;
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        process.exit(0);
        break;
      default:
        usageError(`unknown argument ${JSON.stringify(a)}`);
    }
  }
  return { quick, only, out: out ?? (quick ? QUICK_OUT : join(REPO, 'bench', 'results')), name: name ?? (quick ? 'quick' : 'latest') };
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const startedAt = new Date().toISOString();
  const load0 = loadavg();
  const ctx: BenchContext = {
    quick: args.quick,
    kubernetesVersion: kubernetesVersions()[0],
    tmpDir: makeTempDir('bench'),
    artifacts: new Map(),
    log: (m) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s] ${m}\n`),
  };
  const figures: Figure[] = [];
  const sections: SectionReport[] = [];
  let failed = false;
  for (const section of SECTIONS.filter((s) => args.only.includes(s.id))) {
    ctx.log(`section ${section.id}: ${section.title}`);
    const t0 = Date.now();
    try {
      const r = await section.run(ctx);
      figures.push(...r.figures);
      sections.push({ id: section.id, title: section.title, seconds: (Date.now() - t0) / 1000, tables: r.tables ?? [], notes: r.notes ?? [], details: r.details });
    } catch (error) {
      failed = true;
      const message = (error as Error).stack ?? String(error);
      ctx.log(`section ${section.id} failed: ${message}`);
      sections.push({ id: section.id, title: section.title, seconds: (Date.now() - t0) / 1000, error: (error as Error).message, tables: [], notes: [] });
    }
  }
  const cpu = cpus();
  const results: BenchResults = {
    meta: {
      command: `npm run bench --${args.quick ? ' --quick' : ''}${args.only.length < SECTIONS.length ? ' --only ' + args.only.join(',') : ''}`,
      quick: args.quick,
      sections: args.only,
      startedAt,
      finishedAt: new Date().toISOString(),
      seconds: (Date.now() - started) / 1000,
      commit: git(['rev-parse', '--short', 'HEAD']) + (git(['status', '--porcelain', '--untracked-files=no']) ? ' (with uncommitted changes)' : ''),
      machine: `${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
      kubernetesVersion: ctx.kubernetesVersion,
      loadAverage: { start: load0, end: loadavg() },
    },
    figures,
    sections,
  };
  const files = writeResults(args.out, args.name, results);
  for (const f of figures) {
    const ratio = f.ratio === null ? '' : ` ratio ${f.ratio.toFixed(3)}`;
    ctx.log(`${f.name}: ${f.value.toPrecision(4)} ${f.unit}${f.baseline === null ? '' : ` vs ${f.baseline.toPrecision(4)}`}${ratio}${f.met === null ? '' : f.met ? ' (target met)' : ' (TARGET MISSED)'}`);
  }
  ctx.log(`wrote ${files.map((f) => f.replace(REPO + '/', '')).join(', ')} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  process.exitCode = failed ? 1 : 0;
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`bench: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  });
}
