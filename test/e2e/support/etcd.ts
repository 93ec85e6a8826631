/** A throwaway single-member etcd on 127.0.0.1 with its own data dir. */
import { request } from 'node:http';
import { join } from 'node:path';
import { etcdBinary } from './binaries';
import { freePort, makeTempDir, RunningProcess, removeTempDir, sleep, startProcess, stopProcess } from './processes';

export interface Etcd {
  readonly clientUrl: string;
  readonly process: RunningProcess;
  stop(): Promise<void>;
}

export async function startEtcd(timeoutMs = 30_000): Promise<Etcd> {
  const dir = makeTempDir('etcd');
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const proc = startProcess(
    'etcd',
    etcdBinary(),
    [
      `--data-dir=${join(dir, 'data')}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      // Throwaway data: skipping fsync keeps a 2-core machine from stalling on disk flushes.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    dir,
  );
  const deadline = Date.now() + timeoutMs;
  while (!(await healthy(clientUrl))) {
    if (!proc.isRunning()) {
      throw new Error(`etcd exited before becoming healthy: ${lastLines(proc.stderr(), 10)}`);
    }
    if (Date.now() > deadline) {
      await stopProcess(proc, 5_000, 'SIGKILL').catch(() => undefined);
      throw new Error(`etcd was not healthy on ${clientUrl} after ${timeoutMs} ms: ${lastLines(proc.stderr(), 10)}`);
    }
    await sleep(100);
  }
  return {
    clientUrl,
    process: proc,
    async stop() {
      try {
        await stopProcess(proc, 15_000);
      } finally {
        removeTempDir(dir);
      }
    },
  };
}

function healthy(clientUrl: string): Promise<boolean> {
  return new Promise((resolveHealth) => {
    const req = request(`${clientUrl}/health`, { timeout: 1_000 }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolveHealth(res.statusCode === 200 && text.includes('"health":"true"')));
    });
    req.on('error', () => resolveHealth(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}
