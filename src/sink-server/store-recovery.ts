/**
 * What opening a store relies on to trust what it finds: signed documents (head, digests, anchor), the
 * authenticated frontier of the open segment, and the error that refuses a modified or damaged store.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { HeadDocument } from './layout';
import { commitSigningInput, DecodedRecord } from './record';
import { signatureProblem, SigningKey } from './signing';
import { StoreOpenError } from './store-errors';

/** The store is modified or damaged: the sink refuses it and says how to find the first bad place. */
export function damagedStore(dir: string, what: string): StoreOpenError {
  return new StoreOpenError(
    `store ${dir}: ${what}. The store was modified or damaged; the sink will not append to it. ` +
      `Run 'cdk8s-audit sink verify --store ${dir} --key KEYFILE' for the first bad place, keep the directory as evidence, and start the sink on a new --store`,
  );
}

/** A signed JSON document of the store whose signature verifies with the key; undefined when the file is absent. */
export async function readSignedFile<T>(dir: string, key: SigningKey, name: string): Promise<{ doc: T; text: string } | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(join(dir, name), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw damagedStore(dir, `${name} is not JSON`);
  }
  const problem = signatureProblem(key, doc);
  if (problem) throw damagedStore(dir, `${name} ${problem}`);
  return { doc: doc as T, text };
}

/** A timestamp of a signed document, or the refusal naming the field. */
export function isoOrThrow(s: unknown, what: string): Date {
  const d = typeof s === 'string' ? new Date(s) : new Date(NaN);
  if (Number.isNaN(d.getTime())) throw new StoreOpenError(`${what}: not a timestamp`);
  return d;
}

export interface Frontier {
  /** How many of the records (from the first) a signature of the key covers. */
  readonly trusted: number;
  /** The records after `trusted` are one commit the sink itself started (its signed mark verifies) whose last records are missing. */
  readonly cut: boolean;
  /** Index of the first record within `trusted` whose commit mark does not verify (it was modified), if any. */
  readonly badMark?: number;
}

/**
 * How many of a segment's chained records (each following the previous one) are covered by a signature:
 * a commit mark that verifies and whose last record is present with the hash it names (that fixes every
 * record before it too), or the signed head's position (stores written before commits were signed rely on
 * it). Pure apart from the key's verify.
 */
export function authenticatedFrontier(records: readonly DecodedRecord[], key: SigningKey, head?: Pick<HeadDocument, 'lastSeq' | 'lastHash'>): Frontier {
  let trusted = 0;
  let cutAt = -1;
  if (records.length && head) {
    const n = head.lastSeq - records[0].seq + 1;
    if (n >= 1 && n <= records.length && records[n - 1].hash === head.lastHash) trusted = n;
  }
  const bad: number[] = [];
  for (let i = 0; i < records.length; i++) {
    const c = records[i].commit;
    if (!c) continue;
    const end = i + c.records;
    if (!key.verify(commitSigningInput(records[i].seq, c.records, c.last), c.sig) || (end <= records.length && records[end - 1].hash !== c.last)) {
      bad.push(i);
      continue;
    }
    if (end <= records.length) trusted = Math.max(trusted, end);
    else if (i === trusted) cutAt = i;
  }
  const badMark = bad.find((i) => i < trusted);
  return { trusted, cut: cutAt >= 0 && cutAt === trusted, ...(badMark !== undefined ? { badMark } : {}) };
}
