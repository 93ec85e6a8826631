/**
 * The layers of src/ (.dependency-cruiser.cjs, drawn in the README's Architecture section) and the package's
 * public surface. The layer check runs dependency-cruiser over src/ as it is, and over a copy of src/ with
 * wrong-way imports planted, so a rule that stopped matching would fail here too.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './support/temp-dir';

const repo = join(__dirname, '..', '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const config = require(join(repo, '.dependency-cruiser.cjs')) as {
  forbidden: { name: string; comment: string }[];
  LAYERS: string[][];
  options: Record<string, unknown>;
};

interface Violation {
  readonly rule: string;
  readonly from: string;
  readonly to: string;
  readonly cycle?: string[];
}

/** dependency-cruiser over `<baseDir>/src` with the repository's rules. */
async function cruiseSrc(baseDir: string): Promise<Violation[]> {
  const { cruise } = await import('dependency-cruiser');
  const result = await cruise(['src'], {
    validate: true,
    ruleSet: { forbidden: config.forbidden } as never,
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    baseDir,
  });
  const output = result.output as { summary: { violations: { rule: { name: string }; from: string; to: string; cycle?: { name: string }[] }[] } };
  return output.summary.violations.map((v) => ({ rule: v.rule.name, from: v.from, to: v.to, ...(v.cycle ? { cycle: v.cycle.map((c) => c.name) } : {}) }));
}

/** One line per violation: the importing file, the imported file, the rule and what the rule asks. */
function describeViolations(violations: readonly Violation[]): string {
  return violations
    .map((v) => {
      const rule = config.forbidden.find((r) => r.name === v.rule);
      const what = v.cycle ? `${v.from} → ${v.cycle.join(' → ')}` : `${v.from} imports ${v.to}`;
      return `${what}: breaks rule ${v.rule} — ${rule?.comment ?? ''}`;
    })
    .join('\n');
}

describe('layers of src/', () => {
  it('every import points down the layer table, and no folder imports back', async () => {
    const violations = await cruiseSrc(repo);
    expect(violations, `\n${describeViolations(violations)}\n`).toEqual([]);
  }, 120_000);

  it('the layer table names every folder of src/ once', () => {
    const folders = readdirSync(join(repo, 'src'), { withFileTypes: true })
      .filter((d) => d.isDirectory() && readdirSync(join(repo, 'src', d.name)).some((f) => f.endsWith('.ts')))
      .map((d) => d.name);
    const table = config.LAYERS.flat();
    expect(new Set(table).size).toBe(table.length);
    expect([...table].sort()).toEqual([...folders].sort());
  });

  it('reports planted violations: a wrong-way import, a folder cycle, a construct importing the sink program, I/O in core, cdk8s-plus outside sinks and reached from the root', async () => {
    const dir = tempDir('layers');
    cpSync(join(repo, 'src'), join(dir, 'src'), { recursive: true });
    cpSync(join(repo, 'tsconfig.json'), join(dir, 'tsconfig.json'));
    symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
    // core (the bottom) importing a construct from gitops (near the top)
    writeFileSync(join(dir, 'src/core/planted-upward.ts'), "import type { AuditPolicy } from '../gitops/audit-policy';\nexport type Planted = AuditPolicy;\n");
    // policy importing presets, which import policy: a folder cycle
    writeFileSync(join(dir, 'src/policy/planted-cycle.ts'), "import { getPreset } from '../presets';\nexport const planted = getPreset;\n");
    // a sink construct importing the sink program
    writeFileSync(join(dir, 'src/sinks/planted-runtime.ts'), "import { Store } from '../sink-server/store';\nexport const planted = Store;\n");
    // file I/O in the pure core; cdk8s-plus-28 outside sinks/
    writeFileSync(join(dir, 'src/core/planted-io.ts'), "import { readFileSync } from 'node:fs';\nexport const planted = readFileSync;\n");
    writeFileSync(join(dir, 'src/gitops/planted-plus.ts'), "import * as kplus from 'cdk8s-plus-28';\nexport const planted = kplus;\n");
    // the package root reaching cdk8s-plus-28 through the sink constructs
    writeFileSync(join(dir, 'src/index.ts'), `${readFileSync(join(dir, 'src/index.ts'), 'utf8')}export { AuditSink } from './sinks/audit-sink';\n`);

    const violations = await cruiseSrc(dir);
    const message = describeViolations(violations);
    expect(violations).toContainEqual({ rule: 'layer-core', from: 'src/core/planted-upward.ts', to: 'src/gitops/audit-policy.ts' });
    expect(message).toContain('src/core/planted-upward.ts imports src/gitops/audit-policy.ts: breaks rule layer-core — src/core/ may import only src/core/');
    expect(violations).toContainEqual({ rule: 'layer-policy', from: 'src/policy/planted-cycle.ts', to: 'src/presets/index.ts' });
    const cycles = violations.filter((v) => v.rule === 'no-folder-cycle').map((v) => [v.from, ...v.cycle!]);
    expect(cycles.some((c) => c.includes('src/policy') && c.includes('src/presets')), message).toBe(true);
    expect(violations).toContainEqual({ rule: 'sink-runtime-apart', from: 'src/sinks/planted-runtime.ts', to: 'src/sink-server/store.ts' });
    expect(violations).toContainEqual({ rule: 'core-without-io', from: 'src/core/planted-io.ts', to: 'fs' });
    expect(violations.some((v) => v.rule === 'cdk8s-plus-only-in-sinks' && v.from === 'src/gitops/planted-plus.ts'), message).toBe(true);
    expect(violations.some((v) => v.rule === 'root-entry-without-cdk8s-plus' && v.from === 'src/index.ts' && /node_modules\/cdk8s-plus-28\//.test(v.to)), message).toBe(true);
    // and nothing else: the copy is the real tree plus the plants
    const plants = ['src/core/planted-upward.ts', 'src/policy/planted-cycle.ts', 'src/sinks/planted-runtime.ts', 'src/core/planted-io.ts', 'src/gitops/planted-plus.ts', 'src/index.ts'];
    const unexplained = violations.filter((v) => v.rule !== 'no-folder-cycle' && !plants.includes(v.from));
    expect(unexplained, message).toEqual([]);
  }, 180_000);
});

describe('public surface', () => {
  /** Runs node on `script` in a fresh process (lib/ is built by the unit project's globalSetup). */
  function node(script: string): string {
    const r = spawnSync(process.execPath, ['-e', script], { cwd: repo, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout;
  }

  it('importing the package root changes no global: Reflect is untouched, @peculiar/x509 and cdk8s-plus-28 are not loaded', () => {
    const out = JSON.parse(node(`
      const before = Reflect.ownKeys(Reflect).map(String).sort();
      const globalsBefore = Object.getOwnPropertyNames(globalThis).sort();
      require('./lib/index.js');
      const loaded = Object.keys(require.cache);
      console.log(JSON.stringify({
        reflectBefore: before,
        reflectAfter: Reflect.ownKeys(Reflect).map(String).sort(),
        newGlobals: Object.getOwnPropertyNames(globalThis).filter((k) => !globalsBefore.includes(k)),
        x509: loaded.some((f) => f.includes('@peculiar')),
        cdk8sPlus: loaded.some((f) => f.includes('cdk8s-plus-28')),
      }));
    `));
    expect(out.reflectAfter).toEqual(out.reflectBefore);
    expect(out.reflectAfter).not.toContain('getMetadata');
    expect(out.newGlobals).toEqual([]);
    expect(out.x509).toBe(false);
    expect(out.cdk8sPlus).toBe(false);
  });

  it('the certificate functions still work from the root: the shim is loaded when a certificate is made', () => {
    const out = node(`
      const { createCertificateAuthority, describeCertificate } = require('./lib/index.js');
      createCertificateAuthority({ commonName: 'layers-test' }).then((ca) => {
        console.log(describeCertificate(ca.certPem).isCa, typeof Reflect.getMetadata);
      });
    `);
    expect(out.trim()).toBe('true function');
  });

  it("exports every name the README, docs/, templates/ and the example app import from 'cdk8s-audit', and no internals", () => {
    const root = require(join(repo, 'lib/index.js')) as Record<string, unknown>;
    const docs = ['README.md', ...readdirSync(join(repo, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`), 'templates/gitops/main.ts', 'main.ts'];
    const imported = new Set<string>();
    for (const file of docs) {
      for (const m of readFileSync(join(repo, file), 'utf8').matchAll(/import\s*\{([^}]*)\}\s*from\s*'(?:cdk8s-audit|\.\/lib)'/g)) {
        for (const name of m[1].split(',').map((s) => s.trim().replace(/^type\s+/, '')).filter(Boolean)) imported.add(name);
      }
    }
    expect(imported.size).toBeGreaterThan(3);
    const types = readFileSync(join(repo, 'lib/index.d.ts'), 'utf8');
    const missing = [...imported].filter((n) => !(n in root) && !new RegExp(`\\b${n}\\b`).test(types));
    expect(missing, 'named in docs but not exported from the package root').toEqual([]);
    for (const internal of ['sha256Hex', 'splitLines', 'parseListen', 'parseCidr', 'throwProblems', 'editDistance', 'findFlag']) {
      expect(root, internal).not.toHaveProperty(internal);
    }
  });

  it('each entry in package.json "exports" is built and exports what it is for', () => {
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { exports: Record<string, string | { default: string; types: string }> };
    const entry = (subpath: string) => {
      const e = pkg.exports[subpath];
      if (typeof e === 'string' || !e) throw new Error(`package.json exports has no ${subpath} entry with types and default`);
      expect(readFileSync(join(repo, e.types), 'utf8').length, e.types).toBeGreaterThan(0);
      return require(join(repo, e.default)) as Record<string, unknown>;
    };
    expect(entry('.')).toHaveProperty('ClusterAudit');
    expect(Object.keys(entry('./sink-server'))).toEqual(expect.arrayContaining(['SinkServer', 'Store', 'verifyStore', 'loadSigningKey', 'RulesEngine']));
    const sinks = entry('./sinks');
    expect(Object.keys(sinks)).toEqual(expect.arrayContaining(['AuditSink', 'FluentBitSink', 'VectorSink', 'FalcoSink', 'WebhookSink']));
    expect(sinks).not.toHaveProperty('throwProblems');
    expect(Object.keys(entry('./testing'))).toEqual(expect.arrayContaining(['createKindClusterFromDist', 'assertAuditEvent', 'judgeProve', 'waitForAuditEvents']));
  });
});
