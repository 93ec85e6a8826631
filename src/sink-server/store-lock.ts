/** One sink per store: a lock file holding the pid of the process that appends. */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { LOCK_FILE } from './layout';

/**
 * Takes the store's lock for this process. Returns the pid of another live process that holds it (the store is
 * in use), or undefined when this process now holds it; a lock left by a process that is gone is taken over.
 */
export async function acquireStoreLock(dir: string): Promise<number | undefined> {
  const path = join(dir, LOCK_FILE);
  try {
    await fsp.writeFile(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
    return undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const pid = Number((await fsp.readFile(path, 'utf8').catch(() => '')).trim());
  if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) return pid;
  await fsp.writeFile(path, `${process.pid}\n`, { mode: 0o600 });
  return undefined;
}

/** Releases the lock (the store is closed, or could not be opened). */
export async function releaseStoreLock(dir: string): Promise<void> {
  await fsp.rm(join(dir, LOCK_FILE), { force: true });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
