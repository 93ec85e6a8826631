/**
 * templates/sink/Dockerfile against the code: the image's run-time tree is the package's dependencies plus
 * cdk8s and constructs, so every package the CLI loads must be one of those; the entrypoint and user match
 * what AuditSink's pod spec expects.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..', '..');
const dockerfile = readFileSync(join(ROOT, 'templates', 'sink', 'Dockerfile'), 'utf8');

describe('templates/sink/Dockerfile', () => {
  it('is multi-stage, runs as 65532 (AuditSink runAsUser), and its entrypoint takes `sink serve …` as arguments', () => {
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/^USER 65532:65532$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "\/app\/lib\/cli\/main\.js"\]$/m);
    expect(dockerfile).toMatch(/^EXPOSE 8443 8081$/m);
    // The context is the installed package's run-time tree (`sink image` assembles it): no sources, no lock file, no npm.
    expect(dockerfile).toMatch(/^COPY \. \/runtime$/m);
    expect(dockerfile).not.toMatch(/\bsrc\b|package-lock|npm (ci|install)/);
  });

  it('every package the built CLI loads directly is a run-time dependency or one of the peers the image adds', () => {
    const main = join(ROOT, 'lib', 'cli', 'main.js');
    const script = `
      require(${JSON.stringify(main)});
      const lib = ${JSON.stringify(join(ROOT, 'lib'))};
      const direct = new Set();
      for (const m of Object.values(require.cache)) {
        if (!m.filename.startsWith(lib)) continue;
        for (const c of m.children) {
          const rest = c.filename.split('/node_modules/')[1];
          if (!rest) continue;
          const parts = rest.split('/');
          direct.add(parts[0].startsWith('@') ? parts[0] + '/' + parts[1] : parts[0]);
        }
      }
      console.log(JSON.stringify([...direct].sort()));`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const loaded = JSON.parse(r.stdout) as string[];
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const available = new Set([...Object.keys(pkg.dependencies), 'cdk8s', 'constructs']);
    expect(loaded.length).toBeGreaterThan(0);
    expect(loaded.filter((p) => !available.has(p)), 'loaded by the CLI but missing from the image (add to dependencies or to the Dockerfile)').toEqual([]);
  });
});
