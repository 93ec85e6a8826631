import { createReadStream, promises as fs } from 'node:fs';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { InputError } from './command';
import { formatBytes } from '../core/units';

/**
 * The largest policy file any verb reads. Real policies are kilobytes; parsing YAML with positions
 * costs ~160 bytes of memory per input byte (a valid 4 MiB policy: ~690 MiB peak RSS, ~10 s, measured),
 * so this bounds what any file can make a verb take, where a 50 MB file used to take GiBs.
 */
export const POLICY_MAX_BYTES = 4 * 1024 * 1024;

export interface ReadLimit {
  /** Refuse inputs longer than this. */
  readonly maxBytes: number;
  /** What the input is, for the message: "a policy file". */
  readonly what: string;
}

/** Why a file cannot be read, in words, from the error code of stat/open/read. */
function reason(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'it is a directory; name a file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENXIO':
      return 'it is a socket or a device without a reader; name a file';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    default:
      return err.message;
  }
}

function cannotRead(label: string, e: unknown): InputError {
  if (e instanceof InputError) return e;
  return new InputError(`cannot read ${label}: ${reason(e as NodeJS.ErrnoException)}`);
}

function tooLarge(label: string, limit: ReadLimit, size?: number): InputError {
  const has = size === undefined ? `more than ${formatBytes(limit.maxBytes)}` : `${formatBytes(size)} (${size} bytes)`;
  return new InputError(`cannot read ${label}: it holds ${has}, over the ${formatBytes(limit.maxBytes)} limit for ${limit.what}; real ones are kilobytes — check that you named the right file`);
}

/**
 * Opens a file named on the command line ('-' is standard input) as a stream, after checking what it is:
 * a directory or a missing file is an InputError here, before anything is read. `label` names the input
 * in messages (e.g. `--input x.jsonl`); it defaults to the path.
 */
export async function openInput(path: string, stdin: NodeJS.ReadableStream, label = path === '-' ? '(stdin)' : path): Promise<{ stream: NodeJS.ReadableStream; size?: number }> {
  if (path === '-') return { stream: stdin };
  let st;
  try {
    st = await fs.stat(path);
  } catch (e) {
    // stat follows symbolic links: a dangling one is ENOENT, say so rather than "no such file" for a name that exists.
    const link = await fs.lstat(path).then((l) => l.isSymbolicLink(), () => false);
    if (link && (e as NodeJS.ErrnoException).code === 'ENOENT') throw new InputError(`cannot read ${label}: it is a symbolic link to a file that does not exist`);
    throw cannotRead(label, e);
  }
  if (st.isDirectory()) throw new InputError(`cannot read ${label}: it is a directory; name a file`);
  // Open before handing out the stream so open errors (EACCES, ENXIO for sockets) are InputErrors too.
  let handle;
  try {
    handle = await fs.open(path, 'r');
  } catch (e) {
    throw cannotRead(label, e);
  }
  // The stream owns the handle from here and closes it when done or destroyed.
  const stream = createReadStream('', { fd: handle, autoClose: true });
  // Pipes, character devices (/dev/zero) and FIFOs have no size: they are counted while read.
  return { stream, size: st.isFile() ? st.size : undefined };
}

/**
 * Reads a file named on the command line ('-' is standard input) into a string, with an error a user
 * can act on. With a limit, a regular file is refused by its size before it is read, and anything else
 * (stdin, pipes, /dev/zero) is refused as soon as it has delivered more than the limit.
 */
export async function readInput(path: string, stdin: NodeJS.ReadableStream, limit?: ReadLimit, label = path === '-' ? '(stdin)' : path): Promise<string> {
  const { stream, size } = await openInput(path, stdin, label);
  if (limit && size !== undefined && size > limit.maxBytes) {
    (stream as NodeJS.ReadableStream & { destroy(): void }).destroy();
    throw tooLarge(label, limit, size);
  }
  try {
    return await readStream(stream, limit ? () => tooLarge(label, limit) : undefined, limit?.maxBytes);
  } catch (e) {
    throw cannotRead(label, e);
  }
}

/**
 * Reads a policy file (or '-'), refusing anything over POLICY_MAX_BYTES. A relative path is taken from
 * `cwd` (the command's io.cwd, not this process's), and messages name it as the user wrote it.
 */
export function readPolicyInput(path: string, stdin: NodeJS.ReadableStream, cwd: string): Promise<string> {
  return readInput(inputPath(cwd, path), stdin, { maxBytes: POLICY_MAX_BYTES, what: 'an audit policy' }, path === '-' ? '(stdin)' : path);
}

/** A path named on the command line, taken from the command's working directory; '-' (standard input) stays '-'. */
export function inputPath(cwd: string, path: string): string {
  return path === '-' ? '-' : resolve(cwd, path);
}

/** Collects a stream; past `maxBytes` it stops reading (the stream is destroyed) and throws `overLimit()`. */
export async function readStream(stream: NodeJS.ReadableStream, overLimit?: () => Error, maxBytes = Infinity): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  // Leaving the loop early (throw) destroys the stream: a device like /dev/zero is not read further.
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    total += buf.length;
    if (total > maxBytes) throw overLimit ? overLimit() : new Error(`more than ${maxBytes} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function write(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : text + '\n');
}

/** Writes a line and, when the stream's buffer is full, waits until it drains: output of any length in bounded memory. */
export async function writeLine(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text.endsWith('\n') ? text : text + '\n')) await once(stream as NodeJS.EventEmitter, 'drain');
}

/** One line of a line-oriented input: its text, or how long it was when over the line limit. */
export type InputLine = { readonly number: number; readonly text: string } | { readonly number: number; readonly tooLong: number };

/**
 * Splits a stream into lines (LF or CRLF) in bounded memory: it pulls the next chunk only when the
 * consumer asks for the next line, and a line longer than `maxLineBytes` is skipped as it streams past
 * (reported by its length), so neither a huge input nor one without newlines (/dev/zero) fills memory.
 */
export async function* readLines(stream: NodeJS.ReadableStream, maxLineBytes: number): AsyncGenerator<InputLine> {
  let parts: Buffer[] = [];
  let length = 0;
  let overBy: number | undefined; // bytes of the current line once it is over the limit
  let number = 0;
  const finish = (): InputLine => {
    number++;
    const line: InputLine = overBy !== undefined ? { number, tooLong: overBy } : { number, text: Buffer.concat(parts, length).toString('utf8').replace(/\r$/, '') };
    parts = [];
    length = 0;
    overBy = undefined;
    return line;
  };
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    let start = 0;
    while (start < buf.length) {
      const nl = buf.indexOf(10, start);
      const piece = buf.subarray(start, nl === -1 ? buf.length : nl);
      if (overBy !== undefined) overBy += piece.length;
      else if (length + piece.length > maxLineBytes) {
        overBy = length + piece.length;
        parts = [];
        length = 0;
      } else {
        parts.push(piece);
        length += piece.length;
      }
      if (nl === -1) break;
      yield finish();
      start = nl + 1;
    }
  }
  if (length > 0 || overBy !== undefined) yield finish();
}
