import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validatePolicy } from '../../../src';
import { ROOT, cli } from '../../support/cli';
import { tempDir } from '../support/temp-dir';

describe('init', () => {
  it('scaffolds a GitOps app whose main.ts synthesises against the built package', () => {
    const dir = join(tempDir('init'), 'cluster-audit');
    const r = cli(['init', dir, '--preset', 'pci-dss,hipaa', '--kubernetes-version', '1.35']);
    expect(r.code).toBe(0);
    for (const f of ['cdk8s.yaml', 'main.ts', 'package.json', 'tsconfig.json', 'README.md', '.gitignore', '.github/workflows/audit-synth.yml']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const main = readFileSync(join(dir, 'main.ts'), 'utf8');
    expect(main).toContain("presets: ['pci-dss', 'hipaa']");
    expect(main).not.toMatch(/\{\{/);
    expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name).toBe('cluster-audit');
    // Run the scaffold for real, with the package resolved to this checkout's build.
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules', 'cdk8s-audit'));
    for (const dep of ['cdk8s', 'constructs', 'cdk8s-plus-28', 'ts-node', 'typescript', '@types']) symlinkSync(join(ROOT, 'node_modules', dep), join(dir, 'node_modules', dep));
    const run = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', 'main.ts'], {
      cwd: dir, encoding: 'utf8', env: { ...process.env, CDK8S_OUTDIR: join(dir, 'dist') }, timeout: 120_000,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const policy = readFileSync(join(dir, 'dist/node/rootfs/etc/kubernetes/audit/policy.yaml'), 'utf8');
    expect(validatePolicy(policy, { kubernetesVersion: '1.35', strict: true })).toEqual([]);
    expect(parse(readFileSync(join(dir, 'dist/node/files.yaml'), 'utf8')).presets).toEqual(['pci-dss', 'hipaa']);
  });

  it('refuses to overwrite without --force, naming the files', () => {
    const dir = tempDir('init');
    writeFileSync(join(dir, 'main.ts'), '// mine');
    const r = cli(['init', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not overwriting existing files: .*main\.ts/);
    expect(readFileSync(join(dir, 'main.ts'), 'utf8')).toBe('// mine');
    expect(cli(['init', dir, '--force']).code).toBe(0);
  });

  it('bad input', () => {
    expect(cli(['init', '/tmp/x', '--preset', 'pcii']).code).toBe(1);
    expect(cli(['init', '/tmp/x', '--sink-address', 'sink.audit.svc']).code).toBe(2);
    expect(cli(['init', 'a', 'b']).code).toBe(2);
  });
});
