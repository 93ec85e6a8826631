/**
 * DIFFERENTIAL check: hundreds of seeded random policies, valid and broken, each loaded by the REAL
 * kube-apiserver of every built version (policy-probe.ts: the binary's own policy loader, ~0.25 s a
 * policy) and judged by `validatePolicy(…, { kubernetesVersion })`. The verdicts must be identical.
 * CI runs a FIXED list of seeds (printed), so a landing is never decided by a lucky draw; exploration with a
 * fresh random seed is a separate, non-gating run (`npm run test:explore`, see test/e2e/README.md), and a seed
 * that fails there joins FIXED_SEEDS once the bug is fixed. CDK8S_AUDIT_SEED=<n>[,<n>…] replays given seeds;
 * CDK8S_AUDIT_DIFF_COUNT sets the policies per seed.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { validatePolicy } from '../../src/policy/validate';
import { ApiserverStartError } from './support/apiserver-errors';
import { writeRawFile } from './support/audit-files';
import { kubernetesVersions } from './support/binaries';
import { startControlPlane } from './support/control-plane';
import { GeneratedPolicy, generatePolicies } from './support/policy-generator';
import { mapLimit, PolicyProbe, ProbeVerdict } from './support/policy-probe';
import { makeTempDir, removeTempDir } from './support/processes';

/**
 * Seeds that gate CI. 2 and 28 made the generator throw before mutations were made composable (stop 10);
 * 777001 is the 1,510-policy run that found no disagreement.
 */
const FIXED_SEEDS: readonly number[] = [777001, 2, 28];
const SEEDS = seedsFrom(process.env.CDK8S_AUDIT_SEED);
const COUNT = Number(process.env.CDK8S_AUDIT_DIFF_COUNT ?? Math.ceil(220 / SEEDS.length));

/** `random` draws one fresh seed (exploration); a comma list replays seeds; unset means the fixed list. */
function seedsFrom(value: string | undefined): readonly number[] {
  if (value === undefined || value === '') return FIXED_SEEDS;
  if (value === 'random') return [Math.floor(Math.random() * 2 ** 31)];
  const seeds = value.split(',').map((v) => Number(v.trim()));
  if (seeds.some((n) => !Number.isSafeInteger(n) || n < 0)) throw new Error(`CDK8S_AUDIT_SEED=${value}: expected 'random' or comma-separated non-negative integers`);
  return seeds;
}
const SEED_TEXT = SEEDS.join(',');
/** Two probes at once: the machine has two cores. */
const PARALLEL = 2;

/** Hand-picked cases that must always be in the set (version-specific and classic traps). */
const PINNED: ReadonlyArray<{ name: string; text: string }> = [
  { name: 'group "*" (1.36+ only)', text: '{"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"Metadata","resources":[{"group":"*"}]}]}' },
  { name: 'group "*" with resources (1.36+ only)', text: 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Request\n  resources:\n  - group: "*"\n    resources: ["pods", "secrets"]\n' },
  { name: 'empty rules', text: 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: []\n' },
  { name: 'typo resource: (silently dropped)', text: 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  resource:\n  - group: ""\n    resources: ["secrets"]\n- level: Metadata\n' },
  { name: 'minimal good policy', text: 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n' },
  { name: 'bad level', text: 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Everything\n' },
  // Found by this check: the decoder fills a missing kind from the target type, and only apiVersion is checked.
  { name: 'kind missing (loaded)', text: '{"apiVersion":"audit.k8s.io/v1","rules":[{"level":"Metadata"}]}' },
  { name: 'apiVersion missing (refused)', text: '{"kind":"Policy","rules":[{"level":"Metadata"}]}' },
  // Found by this check: a duplicate key is a strict-decoding error, so lenient decoding loads it (last wins).
  { name: 'duplicate key, last valid (loaded)', text: 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Bogus\n  level: Metadata\n' },
  { name: 'duplicate key, last invalid (refused)', text: '{"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"Metadata","level":"Bogus"}]}' },
];

interface Case {
  readonly id: string;
  readonly text: string;
  readonly format: string;
  readonly description: string;
  readonly object: unknown | undefined;
}

function cases(): Case[] {
  const pinned = PINNED.map((p, i) => ({ id: `pinned-${i}`, text: p.text, format: p.text.startsWith('{') ? 'json' : 'yaml', description: p.name, object: undefined }));
  const generated = SEEDS.flatMap((seed) => generatePolicies(seed, COUNT).map((g: GeneratedPolicy) => ({
    id: `seed ${seed} #${g.index}`,
    text: g.text,
    format: g.format,
    description: g.mutations.length ? g.mutations.join(' + ') : 'valid by construction',
    object: g.object,
  })));
  return [...pinned, ...generated];
}

function describeVerdict(accepted: boolean): string {
  return accepted ? 'loads it' : 'refuses it';
}

describe.each(kubernetesVersions())('differential: validatePolicy vs kube-apiserver v%s', (version) => {
  const all = cases();
  let probe: PolicyProbe;
  let verdicts: ProbeVerdict[] = [];
  let wallMs = 0;

  beforeAll(async () => {
    console.log(`differential seeds: ${SEED_TEXT} (replay with CDK8S_AUDIT_SEED=${SEED_TEXT}), ${all.length} policies, kube-apiserver v${version}`);
    probe = await PolicyProbe.start();
    const started = Date.now();
    verdicts = await mapLimit(all, PARALLEL, (c) => probe.probe(version, c.text, c.format));
    wallMs = Date.now() - started;
  }, 600_000);

  afterAll(async () => {
    await probe?.stop();
  });

  test(`every policy gets the same verdict from validatePolicy and the apiserver (≥200 policies)`, () => {
    expect(all.length).toBeGreaterThanOrEqual(200);
    const accepted = verdicts.filter((v) => v.accepted).length;
    const perProbe = verdicts.reduce((sum, v) => sum + v.ms, 0) / verdicts.length;
    console.log(
      `v${version}: ${accepted} accepted, ${verdicts.length - accepted} refused; ${verdicts.length} probes in ${(wallMs / 1000).toFixed(1)} s ` +
        `(${PARALLEL} in parallel, ${perProbe.toFixed(0)} ms per probe)`,
    );
    const disagreements: string[] = [];
    all.forEach((c, i) => {
      const apiserver = verdicts[i];
      const forms: Array<[string, unknown]> = [['text', c.text]];
      if (c.object !== undefined) forms.push(['object', c.object]);
      for (const [form, input] of forms) {
        let problems: string[];
        try {
          problems = validatePolicy(input, { kubernetesVersion: version });
        } catch (error) {
          problems = [`THREW: ${(error as Error).message}`];
        }
        if ((problems.length === 0) !== apiserver.accepted || problems.some((p) => p.startsWith('THREW'))) {
          disagreements.push(
            [
              `${c.id} (${c.description}, ${c.format}, validatePolicy on the ${form}): kube-apiserver v${version} ${describeVerdict(apiserver.accepted)}, validatePolicy ${problems.length ? `says ${JSON.stringify(problems)}` : 'says it is valid'}`,
              `  apiserver: ${apiserver.errorLine.replace(/^.*err="/, '').slice(0, 400)}`,
              `  policy: ${c.text.replace(/\s+/g, ' ').slice(0, 400)}`,
            ].join('\n'),
          );
        }
      }
    });
    expect(disagreements, `${disagreements.length} disagreement(s), seeds ${SEED_TEXT}:\n${disagreements.slice(0, 12).join('\n')}`).toEqual([]);
    // The set must contain both verdicts in quantity, or it proves little.
    expect(accepted).toBeGreaterThanOrEqual(50);
    expect(verdicts.length - accepted).toBeGreaterThanOrEqual(50);
  });

  test('the fast probe gives the verdict of a full start (a sample of accepted and refused policies)', async () => {
    const acceptedIdx = verdicts.map((v, i) => (v.accepted ? i : -1)).filter((i) => i >= 0).slice(0, 2);
    const refusedIdx = verdicts.map((v, i) => (!v.accepted ? i : -1)).filter((i) => i >= 0).slice(0, 2);
    const dir = makeTempDir('probe-check');
    try {
      for (const i of [...acceptedIdx, ...refusedIdx]) {
        const file = writeRawFile(dir, `policy-${i}.${all[i].format}`, all[i].text);
        let startError: ApiserverStartError | undefined;
        try {
          const cp = await startControlPlane({ version, extraArgs: [`--audit-policy-file=${file}`] });
          await cp.stop();
        } catch (error) {
          if (!(error instanceof ApiserverStartError)) throw error;
          startError = error;
        }
        expect(startError === undefined, `${all[i].id}: the probe said ${describeVerdict(verdicts[i].accepted)}, a full start ${startError ? `failed:\n${startError.message}` : 'became ready'}`).toBe(verdicts[i].accepted);
        if (startError) {
          // Same loader error, modulo the file name.
          const reason = (line: string) => line.replace(/^.*loading audit policy file: /, '').replace(/: from file .*$/, '');
          expect(reason(startError.errorLines.join('\n'))).toContain(reason(verdicts[i].errorLine));
          expect(startError.flags).toContain(`--audit-policy-file=${file}`);
        }
      }
    } finally {
      removeTempDir(dir);
    }
  });
});

describe('differential: the versions really differ', () => {
  test('group "*" is refused by a pre-1.36 apiserver and loaded by 1.36+ (and validatePolicy knows)', async () => {
    const probe = await PolicyProbe.start();
    try {
      for (const version of kubernetesVersions()) {
        const verdict = await probe.probe(version, PINNED[0].text, 'json');
        const minor = Number(version.split('.')[1]);
        expect(verdict.accepted, `kube-apiserver v${version}: ${verdict.errorLine}`).toBe(minor >= 36);
        expect(validatePolicy(JSON.parse(PINNED[0].text), { kubernetesVersion: version }).length === 0).toBe(minor >= 36);
      }
    } finally {
      await probe.stop();
    }
  });
});
