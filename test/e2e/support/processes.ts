/**
 * Child processes, temp dirs and free ports for the e2e harness, with cleanup that also runs when a test
 * fails or the worker exits, so no etcd or kube-apiserver outlives the suite.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const liveChildren = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let exitHookInstalled = false;

/** Last-resort cleanup: SIGKILL whatever is still running and remove temp dirs (synchronous by necessity). */
function cleanupNow(): void {
  for (const child of liveChildren) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  liveChildren.clear();
  if (!process.env.CDK8S_AUDIT_KEEP_TMP) {
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  }
  tempDirs.clear();
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', cleanupNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanupNow();
      process.kill(process.pid, signal);
    });
  }
}

/** A temp dir removed by `removeTempDir` or, at the latest, when the process exits. */
export function makeTempDir(prefix: string): string {
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), `cdk8s-audit-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  tempDirs.delete(dir);
  if (!process.env.CDK8S_AUDIT_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
}

/** Asks the kernel for a free TCP port on 127.0.0.1 (released immediately; callers bind it soon after). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolvePort(address.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

export interface RunningProcess {
  readonly child: ChildProcess;
  readonly name: string;
  /** File receiving the process's stderr (klog writes everything there). */
  readonly stderrPath: string;
  readonly stdoutPath: string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  isRunning(): boolean;
  /** The process's stderr so far; after its temp dir is removed, the content read last. */
  stderr(): string;
}

/** Starts `binary args` with stdout and stderr written straight into files in `logDir`. */
export function startProcess(name: string, binary: string, args: string[], logDir: string): RunningProcess {
  installExitHook();
  const stdoutPath = join(logDir, `${name}.stdout`);
  const stderrPath = join(logDir, `${name}.stderr`);
  const out = openSync(stdoutPath, 'a');
  const err = openSync(stderrPath, 'a');
  const child = spawn(binary, args, { stdio: ['ignore', out, err] });
  closeSync(out);
  closeSync(err);
  liveChildren.add(child);
  // The log file lives in a temp dir that is removed on stop; keep the last content readable after that.
  let lastStderr = '';
  const readStderr = (): string => {
    try {
      lastStderr = readFileSync(stderrPath, 'utf8');
    } catch {
      /* removed with its temp dir: answer with what was read last */
    }
    return lastStderr;
  };
  const exited = new Promise<number | string>((resolveExit) => {
    child.once('exit', (code, signal) => {
      liveChildren.delete(child);
      resolveExit(code ?? signal ?? 'unknown');
    });
    child.once('error', (error) => {
      liveChildren.delete(child);
      resolveExit(`spawn error: ${error.message}`);
    });
  });
  return {
    child,
    name,
    stderrPath,
    stdoutPath,
    exited,
    isRunning: () => child.exitCode === null && child.signalCode === null && liveChildren.has(child),
    stderr: readStderr,
  };
}

/**
 * Sends ONE signal and waits for the exit. A second SIGTERM would make the apiserver skip its graceful
 * shutdown (and lose buffered audit events), so escalation is SIGKILL after the timeout, and that is an error.
 */
export async function stopProcess(proc: RunningProcess, timeoutMs: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!proc.isRunning()) return;
  proc.child.kill(signal);
  const timedOut = Symbol('timeout');
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    proc.exited,
    new Promise<symbol>((r) => {
      timer = setTimeout(() => r(timedOut), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (result === timedOut) {
    proc.child.kill('SIGKILL');
    await proc.exited;
    throw new Error(`${proc.name} did not exit within ${timeoutMs} ms of ${signal}; killed it (see ${proc.stderrPath})`);
  }
}

export function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
