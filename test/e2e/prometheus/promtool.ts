/**
 * The promtool and prometheus binaries scripts/build-prometheus.sh caches, found the way the script
 * names them; a missing binary fails saying how to build it.
 */
import { spawnSync, SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

/** [promtool, prometheus]; throws how to build them when they are missing. */
export function prometheusBinaries(): { promtool: string; prometheus: string } {
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'build-prometheus.sh'), '--print'], { encoding: 'utf8' });
  const [promtool, prometheus] = r.stdout.trim().split('\n');
  if (r.status !== 0 || !promtool || !prometheus) {
    throw new Error(
      `promtool/prometheus are not built (${r.stdout.trim().replace(/\n/g, ', ') || r.stderr.trim()}). Run \`bash scripts/build-prometheus.sh\` ` +
        '(`npm run test:e2e` runs it first); it builds them from the Go module github.com/prometheus/prometheus (minutes on 2 cores) ' +
        'and needs Go 1.26 or newer (Debian: apt-get install golang-go, or the official toolchain).',
    );
  }
  return { promtool, prometheus };
}

/** Runs promtool; the result with stdout and stderr as text. */
export function promtool(bin: string, args: readonly string[], cwd?: string): SpawnSyncReturns<string> {
  return spawnSync(bin, args, { encoding: 'utf8', cwd, maxBuffer: 64 << 20 });
}
