/**
 * The user journey from the packed tarball, in a temp directory outside this repository:
 * npm pack → `cdk8s-audit init --package <tarball>` → npm install → npm run synth → certs → npm run check.
 * Each `it` is one claim of issue 13; each failed on the package as it was (named per test).
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { outsideDir, pack, run, tarballFiles } from './support';

const work = outsideDir('package-journey');
let tarball = '';
let files: string[] = [];
let app = '';
let tool = '';

/** Every file under dir, relative, for "no key in dist/" checks. */
function walk(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((e) => (statSync(join(dir, e)).isDirectory() ? walk(join(dir, e), `${prefix}${e}/`) : [`${prefix}${e}`]));
}

beforeAll(() => {
  tarball = pack(work);
  files = tarballFiles(tarball);
  // The CLI a user gets: the tarball installed into a tools directory (npx would do the same).
  const tools = join(work, 'tools');
  run('npm', ['init', '-y'], join(work), { ok: true }); // a package.json so the install below lands in work/
  run('npm', ['install', '--no-save', tarball], work, { ok: true });
  tool = join(work, 'node_modules', '.bin', 'cdk8s-audit');
  void tools;
  app = join(work, 'cluster-audit');
  const init = run(tool, ['init', app, '--package', tarball, '--preset', 'pci-dss'], work, { ok: true });
  // Was: no git repository, so `npm run check` exited 129 with git's usage text.
  expect(init.stdout).toContain('initialised a git repository');
  run('npm', ['install'], app, { ok: true });
});

describe('the packed package, as a user installs it', () => {
  it('carries LICENSE (Apache-2.0 text), docs/ and the templates (were missing: dead README links)', () => {
    expect(files).toContain('LICENSE');
    expect(readFileSync(join(work, 'node_modules', 'cdk8s-audit', 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0, January 2004/);
    for (const f of ['docs/sink.md', 'docs/flags.md', 'docs/operating.md', 'templates/gitops/main.ts', 'templates/sink/Dockerfile', 'lib/index.js', 'lib/sinks/index.d.ts']) expect(files).toContain(f);
    expect(files.filter((f) => f.startsWith('src/') || f === 'package-lock.json' || f.startsWith('test/unit'))).toEqual([]);
  });

  it("every relative link in the package's README resolves inside the package", () => {
    const readme = readFileSync(join(work, 'node_modules', 'cdk8s-audit', 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((l) => !/^[a-z]+:/i.test(l) && !l.startsWith('#'));
    expect(links.length).toBeGreaterThan(0);
    const dead = links.map((l) => posix.normalize(l.split('#')[0])).filter((l) => !files.includes(l) && !files.some((f) => f.startsWith(`${l.replace(/\/$/, '')}/`)));
    expect(dead).toEqual([]);
  });

  it('init wrote package.json depending on the given tarball (was: ^0.1.0, E404 without a registry copy)', () => {
    const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
    expect(pkg.dependencies['cdk8s-audit']).toBe('file:../' + tarball.split('/').pop());
    expect(existsSync(join(app, 'node_modules', 'cdk8s-audit', 'lib', 'index.js'))).toBe(true);
  });

  it('npm run synth deploys the AuditSink the webhook points at (was: empty dist/audit.k8s.yaml)', () => {
    run('npm', ['run', 'synth'], app, { ok: true });
    const docs = parseAllDocuments(readFileSync(join(app, 'dist', 'audit.k8s.yaml'), 'utf8')).map((d) => d.toJS());
    const service = docs.find((d) => d.kind === 'Service');
    expect(service.spec.clusterIP).toBe('10.96.0.50');
    expect(service.spec.ports.map((p: { port: number }) => p.port)).toContain(8443);
    expect(docs.find((d) => d.kind === 'Deployment').spec.template.spec.containers[0].image).toBe(`cdk8s-audit-sink:${JSON.parse(readFileSync(join(app, 'node_modules', 'cdk8s-audit', 'package.json'), 'utf8')).version}`);
    const kubeconfig = parse(readFileSync(join(app, 'dist/node/rootfs/etc/kubernetes/audit-webhook/kubeconfig.yaml'), 'utf8'));
    expect(kubeconfig.clusters[0].cluster.server).toBe('https://10.96.0.50:8443/audit');
  });

  it('keys live in the gitignored secrets directory, which kind mounts; none is in dist/ (was: inside dist/node/rootfs, committed)', () => {
    const certs = run(tool, ['certs', '--out', '.cdk8s-audit/secrets', '--sans', '10.96.0.50', '--namespace', 'audit'], app, { ok: true });
    expect(certs.stdout).toContain('kubectl create secret generic audit-sink-tls --namespace audit --from-file=tls.crt=.cdk8s-audit/secrets/tls.crt --from-file=tls.key=.cdk8s-audit/secrets/tls.key --from-file=ca.crt=.cdk8s-audit/secrets/ca.crt');
    run('npm', ['run', 'synth'], app, { ok: true });
    for (const f of ['ca.crt', 'ca.key', 'tls.crt', 'tls.key', 'apiserver-client.crt', 'apiserver-client.key']) expect(existsSync(join(app, '.cdk8s-audit/secrets', f)), f).toBe(true);
    expect(run('git', ['status', '--porcelain', '--ignored', '--', '.cdk8s-audit'], app, { ok: true }).stdout).toMatch(/^!! \.cdk8s-audit\/$/m);
    const distFiles = walk(join(app, 'dist'));
    expect(distFiles.filter((f) => readFileSync(join(app, 'dist', f), 'utf8').includes('PRIVATE KEY'))).toEqual([]);
    expect(distFiles.filter((f) => /\.(key|crt)$/.test(f))).toEqual([]);
    const kind = parse(readFileSync(join(app, 'dist/node/kind-cluster.yaml'), 'utf8'));
    for (const f of ['ca.crt', 'apiserver-client.crt', 'apiserver-client.key']) {
      const mount = kind.nodes[0].extraMounts.find((m: { containerPath: string }) => m.containerPath === `/etc/kubernetes/audit-webhook/${f}`);
      expect(mount, f).toEqual({ hostPath: `.cdk8s-audit/secrets/${f}`, containerPath: `/etc/kubernetes/audit-webhook/${f}`, readOnly: true });
      expect(existsSync(join(app, mount.hostPath))).toBe(true);
    }
  });

  it('npm run check passes on the committed app: strict node16 type-check without skipLibCheck, synth, dist/ unchanged (was: exit 129 outside git; type errors in @peculiar/asn1-schema)', () => {
    const tsconfig = JSON.parse(readFileSync(join(app, 'tsconfig.json'), 'utf8'));
    expect(tsconfig.compilerOptions).toMatchObject({ strict: true, module: 'node16' });
    expect(tsconfig.compilerOptions.skipLibCheck).toBeUndefined();
    run('git', ['add', '-A'], app, { ok: true });
    run('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', 'commit', '-q', '-m', 'audit app'], app, { ok: true });
    const check = run('npm', ['run', 'check'], app);
    expect(check.status, check.stdout + check.stderr).toBe(0);
    // and it fails when dist/ is stale
    writeFileSync(join(app, 'dist', 'audit.k8s.yaml'), '# edited\n');
    run('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', 'commit', '-q', '-am', 'stale'], app, { ok: true });
    expect(run('npm', ['run', 'check'], app).status).not.toBe(0);
    run('git', ['checkout', '-q', 'HEAD~1', '--', 'dist'], app, { ok: true });
  });

  it('synth fails, naming both, when the webhook and the AuditSink disagree (was: synthesised without a word)', () => {
    const main = join(app, 'main.ts');
    const text = readFileSync(main, 'utf8');
    try {
      writeFileSync(main, text.replace('server: `https://${SINK_CLUSTER_IP}:${SINK_PORT}/audit`', "server: 'https://10.96.0.51:9443/audit'"));
      const r = run('npm', ['run', 'synth'], app);
      expect(r.status).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/props\.webhook\.kubeconfig\.server https:\/\/10\.96\.0\.51:9443\/audit matches no sink in this app .*AuditSink audit\/audit-sink serves https:\/\/10\.96\.0\.50:8443\/audit/);
    } finally {
      writeFileSync(main, text);
    }
  });

  it('certs --renew issues new leaves with the same CA, in place', () => {
    const dir = join(app, '.cdk8s-audit/secrets');
    const before = Object.fromEntries(['ca.crt', 'ca.key', 'tls.crt', 'apiserver-client.key'].map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
    const inode = statSync(join(dir, 'tls.crt')).ino;
    run(tool, ['certs', '--out', '.cdk8s-audit/secrets', '--renew'], app, { ok: true });
    expect(readFileSync(join(dir, 'ca.crt'), 'utf8')).toBe(before['ca.crt']);
    expect(readFileSync(join(dir, 'ca.key'), 'utf8')).toBe(before['ca.key']);
    expect(readFileSync(join(dir, 'tls.crt'), 'utf8')).not.toBe(before['tls.crt']);
    expect(readFileSync(join(dir, 'apiserver-client.key'), 'utf8')).not.toBe(before['apiserver-client.key']);
    expect(statSync(join(dir, 'tls.crt')).ino).toBe(inode); // kind's file mounts see the new certificate
  });

  it('sink image --context assembles the image from the installed package alone: lib/, package.json, production deps (was: needed src/ and package-lock.json of a clone)', () => {
    const ctx = join(work, 'sink-context');
    run(join(app, 'node_modules', '.bin', 'cdk8s-audit'), ['sink', 'image', '--context', ctx], app, { ok: true });
    expect(readdirSync(ctx).sort()).toEqual(['Dockerfile', 'lib', 'node_modules', 'package.json']);
    const modules = readdirSync(join(ctx, 'node_modules'));
    expect(modules).toEqual(expect.arrayContaining(['yaml', '@peculiar', 'cdk8s', 'constructs']));
    for (const dev of ['typescript', 'ts-node', 'cdk8s-cli', 'cdk8s-plus-28', 'vitest']) expect(modules).not.toContain(dev);
    const help = run(process.execPath, [join(ctx, 'lib', 'cli', 'main.js'), 'sink', 'serve', '--help'], work, { ok: true });
    expect(help.stdout).toMatch(/^Usage: cdk8s-audit sink serve/);
  });
});
