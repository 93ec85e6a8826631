/**
 * Peer dependencies only where used: the packed package installed WITHOUT cdk8s-plus-28 (an optional peer)
 * gives the policy, flag and GitOps API and the CLI, and type-checks in a strict node16 project without
 * skipLibCheck. Failed before: the main entry required cdk8s-plus-28 (for the sinks) and its .d.ts named
 * @peculiar/x509 classes whose asn1 types do not compile under those settings.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { outsideDir, pack, ROOT, run } from './support';

const work = outsideDir('package-peers');
let cliBin = '';

beforeAll(() => {
  const tarball = pack(work);
  const dev = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).devDependencies as Record<string, string>;
  run('npm', ['init', '-y'], work, { ok: true });
  run('npm', ['install', tarball, `typescript@${dev.typescript}`, `@types/node@${dev['@types/node']}`], work, { ok: true });
  cliBin = join(work, 'node_modules', '.bin', 'cdk8s-audit');
});

describe('cdk8s-audit without cdk8s-plus-28', () => {
  it('npm leaves the optional peer out', () => {
    expect(existsSync(join(work, 'node_modules', 'cdk8s-plus-28'))).toBe(false);
    expect(existsSync(join(work, 'node_modules', 'cdk8s'))).toBe(true);
  });

  it('the main entry loads and works: policies, presets, flags, ClusterAudit; only cdk8s-audit/sinks needs the peer', () => {
    const script = `
      const a = require('cdk8s-audit');
      const policy = a.getPreset(['cis']).policy;
      const out = { problems: a.validatePolicy(policy), flags: new a.ApiserverAudit({ log: {} }).commandLine().length > 0, clusterAudit: typeof a.ClusterAudit };
      try { require('cdk8s-audit/sinks'); out.sinks = 'loaded'; } catch (e) { out.sinks = e.message.split('\\n')[0]; }
      console.log(JSON.stringify(out));`;
    const r = run(process.execPath, ['-e', script], work, { ok: true });
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ problems: [], flags: true, clusterAudit: 'function' });
    expect(out.sinks).toMatch(/Cannot find module 'cdk8s-plus-28'/);
  });

  it('the CLI works: validate, preset, flags', () => {
    writeFileSync(join(work, 'policy.yaml'), 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n');
    expect(run(cliBin, ['validate', 'policy.yaml'], work).status).toBe(0);
    expect(run(cliBin, ['preset', 'cis'], work, { ok: true }).stdout).toContain('kind: Policy');
    expect(run(cliBin, ['flags', '--log-path', '/var/log/kubernetes/audit/audit.log'], work).status).toBe(0);
  });

  it('a user app type-checks with strict, module node16 and no skipLibCheck', () => {
    writeFileSync(join(work, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'node16', moduleResolution: 'node16', strict: true, noEmit: true }, include: ['app.ts'] }));
    writeFileSync(join(work, 'app.ts'), [
      "import { App, Chart, Duration, Size } from 'cdk8s';",
      "import { ClusterAudit, KubernetesVersion, Preset, createWebhookTlsBundle, parsePolicy, validatePolicy } from 'cdk8s-audit';",
      "const problems: string[] = validatePolicy(parsePolicy('apiVersion: audit.k8s.io/v1\\nkind: Policy\\nrules:\\n- level: None\\n'));",
      // The construct props as a user writes them: Preset, KubernetesVersion, Size and Duration.
      "new ClusterAudit(new Chart(new App(), 'c'), 'audit', { presets: [Preset.CIS], kubernetesVersion: KubernetesVersion.V1_35, log: { maxAge: Duration.days(30), maxSize: Size.mebibytes(100) } });",
      'void createWebhookTlsBundle({ sans: [\'127.0.0.1\'] }).then((b) => b.sink.certificate.notAfter.toISOString());',
      'console.log(problems);',
    ].join('\n'));
    const r = run(join(work, 'node_modules', '.bin', 'tsc'), ['-p', '.'], work);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
