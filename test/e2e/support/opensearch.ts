/**
 * A single OpenSearch node on 127.0.0.1 for the e2e suite, from what scripts/fetch-opensearch.sh caches
 * (OPENSEARCH_VERSION in versions.env). It is started the way the tar distribution's bin/opensearch
 * starts it: `java <jvm.options> -Dopensearch.path.home=… -Dopensearch.path.conf=… -cp lib/*
 * org.opensearch.bootstrap.OpenSearch`, with the server's own security manager and policy (Java 17).
 *
 * OpenSearch refuses to run as root, and these machines run the suite as root: then the node runs as
 * `nobody` (setpriv), from a per-node home whose jars are hard links to the cache (the cache lives under
 * /root, which `nobody` cannot enter). The node is plain HTTP: TLS in OpenSearch needs its security
 * plugin, which is not part of this setup (see docs/sink.md).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { cacheDir } from './binaries';
import { freePort, RunningProcess, sleep, startProcess, stopProcess } from './processes';

const REPO_ROOT = resolve(__dirname, '..', '..', '..');

export function openSearchVersion(): string {
  const m = /^OPENSEARCH_VERSION="([^"]+)"/m.exec(readFileSync(join(REPO_ROOT, 'scripts', 'versions.env'), 'utf8'));
  if (!m) throw new Error('scripts/versions.env must set OPENSEARCH_VERSION');
  return m[1];
}

/** The cached distribution; a hard failure naming the script when it is missing. */
export function openSearchHome(): string {
  const home = join(cacheDir(), `opensearch-${openSearchVersion()}`);
  if (!existsSync(join(home, '.complete'))) {
    throw new Error(`OpenSearch ${openSearchVersion()} is missing: ${home} is not complete. Run \`bash scripts/fetch-opensearch.sh\` (mvn and Java 17; about 1.5 minutes the first time).`);
  }
  return home;
}

export interface OpenSearchNode {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** Everything the node printed (all its runs). */
  log(): string;
  isRunning(): boolean;
  /** SIGTERM and wait (the node flushes and closes its shards). */
  stop(): Promise<void>;
  /**
   * Starts the node again on the same port with the same data; resolves when the cluster is yellow or
   * green. `settings` (static node settings, e.g. `indexing_pressure.memory.limit`) apply to this run only.
   */
  start(settings?: Readonly<Record<string, string>>): Promise<void>;
}

/** GET/PUT/POST against the node; resolves with status and parsed JSON body (or text). */
export function osRequest(url: string, method = 'GET', body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolveReq, reject) => {
    const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = request(url, { method, headers: data ? { 'Content-Type': typeof body === 'string' ? 'application/x-ndjson' : 'application/json', 'Content-Length': data.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolveReq({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${url}: no answer in 60 s`)));
    req.end(data);
  });
}

/** Links (or copies, across file systems) every file of `from` into `to`. */
function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    const src = join(from, name);
    const dst = join(to, name);
    if (statSync(src).isDirectory()) linkTree(src, dst);
    else {
      try {
        linkSync(src, dst);
      } catch {
        cpSync(src, dst);
      }
    }
  }
}

function jvmOptions(configDir: string): string[] {
  return readFileSync(join(configDir, 'jvm.options'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/**
 * Starts a node in `dir` (which the caller removes) and waits for yellow/green health. The node binds
 * HTTP and transport to free ports on 127.0.0.1, heap 512 MiB (jvm.options from the fetch script).
 */
export async function startOpenSearch(dir: string, timeoutMs = 180_000): Promise<OpenSearchNode> {
  const dist = openSearchHome();
  const root = join(dir, 'opensearch');
  const home = join(root, 'home');
  const config = join(root, 'config');
  const writable = ['config', 'data', 'logs', 'tmp'].map((d) => join(root, d));
  for (const d of writable) mkdirSync(d, { recursive: true });
  for (const d of ['lib', 'modules', 'bin', 'plugins']) linkTree(join(dist, d), join(home, d));
  for (const f of readdirSync(join(dist, 'config'))) cpSync(join(dist, 'config', f), join(config, f));
  const [port, transportPort] = [await freePort(), await freePort()];
  const baseYml =
    readFileSync(join(config, 'opensearch.yml'), 'utf8') +
    `node.name: e2e\nhttp.port: ${port}\ntransport.port: ${transportPort}\npath.data: ${join(root, 'data')}\npath.logs: ${join(root, 'logs')}\n`;
  const writeYml = (settings: Readonly<Record<string, string>>) =>
    writeFileSync(join(config, 'opensearch.yml'), baseYml + Object.entries(settings).map(([k, v]) => `${k}: ${JSON.stringify(v)}\n`).join(''));
  writeYml({});
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    // `nobody` must reach the node's files: the temp dirs are 0700 root.
    for (let d = root; d.startsWith(dir); d = resolve(d, '..')) chmodSync(d, 0o755);
    for (const d of writable) {
      for (const f of [d, ...readdirSync(d).map((n) => join(d, n))]) chownSync(f, 65534, 65534);
    }
  }
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (java.status !== 0) throw new Error('java is not on PATH: OpenSearch needs a JDK 17 (Debian: apt-get install openjdk-17-jdk-headless)');
  const javaArgs = [
    ...jvmOptions(config),
    `-Djava.io.tmpdir=${join(root, 'tmp')}`,
    `-Dopensearch.path.home=${home}`,
    `-Dopensearch.path.conf=${config}`,
    '-cp',
    `${join(home, 'lib')}/*`,
    'org.opensearch.bootstrap.OpenSearch',
  ];
  const [binary, args] = asRoot ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'java', ...javaArgs]] : ['java', javaArgs];
  const url = `http://127.0.0.1:${port}`;
  let proc: RunningProcess | undefined;
  let runs = 0;
  const logs: RunningProcess[] = [];
  const node: OpenSearchNode = {
    url,
    port,
    log: () => logs.map((p) => readFileSafeBoth(p)).join('\n'),
    isRunning: () => proc?.isRunning() ?? false,
    async stop() {
      if (proc?.isRunning()) await stopProcess(proc, 60_000, 'SIGTERM');
    },
    async start(settings = {}) {
      writeYml(settings);
      const logDir = join(root, `run-${++runs}`);
      mkdirSync(logDir, { recursive: true });
      proc = startProcess('opensearch', binary, args as string[], logDir);
      logs.push(proc);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (!proc.isRunning()) throw new Error(`OpenSearch exited while starting: ${tail(readFileSafeBoth(proc))}`);
        const health = await osRequest(`${url}/_cluster/health?wait_for_status=yellow&timeout=1s`).catch(() => undefined);
        if (health?.status === 200 && ['green', 'yellow'].includes(health.body.status)) return;
        if (Date.now() > deadline) {
          await stopProcess(proc, 30_000, 'SIGKILL');
          throw new Error(`OpenSearch was not yellow within ${timeoutMs / 1000} s: ${tail(readFileSafeBoth(proc))}`);
        }
        await sleep(500);
      }
    },
  };
  await node.start();
  return node;
}

function readFileSafeBoth(p: RunningProcess): string {
  let out = '';
  try {
    out = readFileSync(p.stdoutPath, 'utf8');
  } catch {
    /* removed with its temp dir */
  }
  return out + p.stderr();
}

const tail = (text: string) => text.split('\n').slice(-40).join('\n');
