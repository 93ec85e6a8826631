import { readFileSync } from 'node:fs';
import { InputError } from './command';

/** Reads a file named on the command line ('-' is standard input), with an error a user can act on. */
export function readInput(path: string, stdin: NodeJS.ReadableStream): Promise<string> {
  if (path === '-') return readStream(stdin);
  try {
    return Promise.resolve(readFileSync(path, 'utf8'));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'it is a directory' : err.code === 'EACCES' ? 'permission denied' : err.message;
    throw new InputError(`cannot read ${path}: ${why}`);
  }
}

export async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export function write(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : text + '\n');
}
