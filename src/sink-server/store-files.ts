/** File writes the store relies on to survive a crash. */
import { constants as fsConstants, promises as fsp } from 'node:fs';
import { join } from 'node:path';

/** fsyncs a directory (so a rename or create in it survives a crash). */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, fsConstants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes a file so that it exists whole or not at all, and survives a crash. */
export async function writeFileDurable(dir: string, name: string, data: string | Buffer): Promise<void> {
  const tmp = join(dir, `.${name}.tmp`);
  const fh = await fsp.open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, join(dir, name));
  await fsyncDir(dir);
}

/** The write failed because the file system is full (or over quota, or the file too large). */
export function isDiskFull(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG';
}
