/**
 * 5. Synth: wall time of `cdk8s synth` for the example app (main.ts + cdk8s.yaml) against an empty cdk8s
 * app run by the same toolchain (the same cdk8s CLI, `npx ts-node --transpile-only`, the same compiler
 * options), alternating, each into a fresh output directory.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, removeTempDir } from '../../e2e/support/processes';
import type { Section, SectionResult } from '../support/context';
import { makeFigure, median } from '../support/stats';

const run = promisify(execFile);
const REPO = resolve(__dirname, '..', '..', '..');
const EMPTY_APP = join(__dirname, '..', 'fixtures', 'empty-app');
/** The same example app with `./src` resolved to the compiled lib/: what the library itself costs. */
const COMPILED_APP = join(__dirname, '..', 'fixtures', 'example-app-compiled');
const CDK8S = join(REPO, 'node_modules', '.bin', 'cdk8s');
const TARGET = 1.5;

/** Seconds for one `cdk8s synth` in `cwd`; checks that it wrote manifests. */
async function synthSeconds(cwd: string, outDir: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  await run(CDK8S, ['synth', '--output', outDir], {
    cwd,
    // The bench itself runs under ts-node: its TS_NODE_* settings must not leak into the apps' toolchain.
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TS_NODE_'))), CDK8S_CHECK_UPGRADE: 'false' },
    maxBuffer: 16 * 1024 * 1024,
    timeout: 300_000,
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (!readdirSync(outDir).some((f) => f.endsWith('.k8s.yaml'))) throw new Error(`cdk8s synth in ${cwd} wrote no manifests to ${outDir}`);
  return seconds;
}

export const synthSection: Section = {
  id: 'synth',
  title: 'cdk8s synth of the example app',
  async run(ctx): Promise<SectionResult> {
    const runs = ctx.quick ? 2 : 7;
    const apps = { example: REPO, compiled: COMPILED_APP, empty: EMPTY_APP };
    const times: Record<keyof typeof apps, number[]> = { example: [], compiled: [], empty: [] };
    const names = Object.keys(apps) as (keyof typeof apps)[];
    const dir = makeTempDir('bench-synth');
    try {
      // One untimed synth of each warms the file-system cache and npx's lookup.
      for (const n of names) await synthSeconds(apps[n], join(dir, `warm-${n}`));
      for (let r = 0; r < runs; r++) {
        // Rotate the order so none of the three always runs first.
        for (const n of names.map((_, i) => names[(i + r) % names.length])) times[n].push(await synthSeconds(apps[n], join(dir, `${n}-${r}`)));
        ctx.log(`synth run ${r + 1}/${runs}: example ${times.example[r].toFixed(2)} s, example on lib/ ${times.compiled[r].toFixed(2)} s, empty ${times.empty[r].toFixed(2)} s`);
      }
    } finally {
      removeTempDir(dir);
    }
    return {
      figures: [
        makeFigure({
          section: 'synth',
          name: 'synth.seconds.example-app',
          unit: 's',
          valueLabel: '`cdk8s synth` of the example app (main.ts: ClusterAudit, PCI DSS, log + webhook, kind)',
          baselineLabel: 'an empty cdk8s app, same toolchain, same run',
          values: times.example,
          baselines: times.empty,
          target: { on: 'ratio', op: '<=', limit: TARGET },
          note: median(times.example.map((t, i) => t / times.empty[i])) <= TARGET ? undefined :
            `The example app imports ./src, so \`npx ts-node --transpile-only main.ts\` transpiles the library's TypeScript sources on every synth; ` +
            `the same app on the compiled lib/ took ${median(times.compiled).toFixed(2)} s (${median(times.compiled.map((t, i) => t / times.empty[i])).toFixed(2)}× the empty app) in this run. ` +
            'Importing the build from main.ts (`npm run synth` already builds first), or a faster transpiler, closes the gap; users, who import the published package, pay the compiled figure.',
        }),
        makeFigure({
          section: 'synth',
          name: 'synth.seconds.compiled-library',
          unit: 's',
          valueLabel: 'the same example app with its `./src` import resolved to the compiled lib/ (as users get the package)',
          baselineLabel: 'an empty cdk8s app, same toolchain, same run',
          values: times.compiled,
          baselines: times.empty,
        }),
      ],
      notes: [`${runs} runs of the three apps in rotating order after one warm-up of each; wall time of the whole \`cdk8s synth\` command (CLI start, ts-node, the app, writing files). CDK8S_CHECK_UPGRADE=false.`],
    };
  },
};
