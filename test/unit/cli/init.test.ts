import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validatePolicy } from '../../../src';
import { ROOT, runCli } from '../../support/cli';
import { tempDir } from '../support/temp-dir';

/** Runs a scaffold's main.ts for real, with the package resolved to this checkout's build. */
function synthScaffold(dir: string) {
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules', 'cdk8s-audit'));
  for (const dep of ['cdk8s', 'constructs', 'cdk8s-plus-28', 'ts-node', 'typescript', '@types']) symlinkSync(join(ROOT, 'node_modules', dep), join(dir, 'node_modules', dep));
  return spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', 'main.ts'], {
    cwd: dir, encoding: 'utf8', env: { ...process.env, CDK8S_OUTDIR: join(dir, 'dist') }, timeout: 120_000,
  });
}

describe('init', () => {
  it('scaffolds a GitOps app whose main.ts synthesises against the built package', async () => {
    const dir = join(tempDir('init'), 'cluster-audit');
    const r = await runCli(['init', dir, '--preset', 'pci-dss,hipaa', '--kubernetes-version', '1.35']);
    expect(r.code).toBe(0);
    for (const f of ['cdk8s.yaml', 'main.ts', 'package.json', 'tsconfig.json', 'README.md', '.gitignore', '.github/workflows/audit-synth.yml']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const main = readFileSync(join(dir, 'main.ts'), 'utf8');
    // The construct props take the Preset enum and the enum-like KubernetesVersion; the CLI took strings.
    expect(main).toContain('presets: [Preset.PCI_DSS, Preset.HIPAA]');
    expect(main).toContain('kubernetesVersion: KubernetesVersion.V1_35');
    expect(main).not.toMatch(/\{\{/);
    // The sink's signing-key Secret main.ts names is no certs output: the README says how to create it.
    const signingSecret = /SinkSigningKey\.fromSecret\('([^']+)'\)/.exec(main)![1];
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain(`kubectl create secret generic ${signingSecret} --namespace audit --from-file=signing.key=.cdk8s-audit/secrets/signing.key`);
    expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name).toBe('cluster-audit');
    const run = synthScaffold(dir);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const policy = readFileSync(join(dir, 'dist/node/rootfs/etc/kubernetes/audit/policy.yaml'), 'utf8');
    expect(validatePolicy(policy, { kubernetesVersion: '1.35', strict: true })).toEqual([]);
    expect(parse(readFileSync(join(dir, 'dist/node/files.yaml'), 'utf8')).presets).toEqual(['pci-dss', 'hipaa']);
  });

  it('gdpr with pci-dss: refused unless --retention-precedence says which wins, which main.ts then passes', async () => {
    const refused = join(tempDir('init'), 'app');
    const r = await runCli(['init', refused, '--preset', 'gdpr,pci-dss', '--skip-git']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/gdpr .* at most 183 days, but pci-dss .* at least 365 days; say which wins: .*--retention-precedence minimum/);
    expect(existsSync(join(refused, 'main.ts'))).toBe(false);
    const dir = join(tempDir('init'), 'app');
    expect((await runCli(['init', dir, '--preset', 'gdpr,pci-dss', '--retention-precedence', 'minimum', '--skip-git'])).code).toBe(0);
    const main = readFileSync(join(dir, 'main.ts'), 'utf8');
    expect(main).toContain('presetOptions: { auditNamespace: NAMESPACE, retentionPrecedence: RetentionPrecedence.MINIMUM }');
    const run = synthScaffold(dir);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect((await runCli(['init', tempDir('init'), '--preset', 'gdpr', '--retention-precedence', 'most'])).code).toBe(2);
  });

  it('refuses to overwrite without --force, naming the files', async () => {
    const dir = tempDir('init');
    writeFileSync(join(dir, 'main.ts'), '// mine');
    const r = await runCli(['init', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not overwriting existing files: .*main\.ts/);
    expect(readFileSync(join(dir, 'main.ts'), 'utf8')).toBe('// mine');
    expect((await runCli(['init', dir, '--force'])).code).toBe(0);
  });

  it('bad input', async () => {
    expect((await runCli(['init', '/tmp/x', '--preset', 'pcii'])).code).toBe(1);
    expect((await runCli(['init', '/tmp/x', '--sink-address', 'sink.audit.svc'])).code).toBe(2);
    expect((await runCli(['init', 'a', 'b'])).code).toBe(2);
    const bad = await runCli(['init', tempDir('init'), '--package', '../nowhere/cdk8s-audit.tgz']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--package "\.\.\/nowhere\/cdk8s-audit\.tgz": .* does not exist; give the tarball from 'npm pack' or the package directory/);
    expect((await runCli(['init', tempDir('init'), '--package', 'not a version!'])).code).toBe(2);
    expect((await runCli(['init', tempDir('init'), '--secrets-dir', 'dist/keys'])).stderr).toMatch(/--secrets-dir: "dist\/keys" is inside the synth output/);
  });

  it('--package: a version or range as given, a tarball or directory as file: relative to DIR; default ^ this version', async () => {
    const base = tempDir('init');
    writeFileSync(join(base, 'cdk8s-audit-9.9.9.tgz'), '');
    const dep = async (args: string[]) => {
      const dir = join(base, `app-${Math.random().toString(36).slice(2)}`);
      expect((await runCli(['init', dir, '--skip-git', ...args], { cwd: base })).code).toBe(0);
      return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).dependencies['cdk8s-audit'];
    };
    const own = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
    expect(await dep([])).toBe(`^${own}`);
    expect(await dep(['--package', '0.2.0'])).toBe('0.2.0');
    expect(await dep(['--package', './cdk8s-audit-9.9.9.tgz'])).toBe('file:../cdk8s-audit-9.9.9.tgz');
    expect(await dep(['--package', ROOT])).toBe(`file:../${relative(base, ROOT)}`);
  });

  it("runs git init when DIR is in no repository (npm run check needs one); .gitignore lists the secrets directory", async () => {
    const dir = join(tempDir('init'), 'fresh');
    const r = await runCli(['init', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('initialised a git repository');
    expect(existsSync(join(dir, '.git'))).toBe(true);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toMatch(/^\/\.cdk8s-audit\/secrets\/$/m);
    const custom = join(tempDir('init'), 'custom');
    expect((await runCli(['init', custom, '--secrets-dir', 'keys', '--skip-git'])).code).toBe(0);
    expect(existsSync(join(custom, '.git'))).toBe(false);
    expect(readFileSync(join(custom, '.gitignore'), 'utf8')).toMatch(/^\/keys\/$/m);
    expect(readFileSync(join(custom, 'main.ts'), 'utf8')).toContain("new AuditApp({ nodeFiles: { secretsDir: 'keys' } })");
  });
});
