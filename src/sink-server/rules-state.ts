/**
 * The memory of the alert rules. Rate rules' windows are kept the same way in `<store>/state/rules-rate.jsonl`:
 * one line per change (`first`: a key first seen, `t`: an event counted, `fired`: an alert), with the event's seq,
 * so after a restart the windows are as they were at the cursor and events past it are counted again, once.
 *
 * The first-seen memory of the alert rules, persisted in `<store>/state/rules-first-seen.jsonl`: one line
 * per key remembered, `{"rule":…,"key":<sha256 prefix of the key fields>,"seq":<event seq>}`, appended and
 * fdatasync'ed after each batch of events, before the rules' cursor moves. On start, lines for events
 * after the cursor are ignored (those events are evaluated again and must fire again: at-least-once),
 * as are lines of rules no longer in the file and a torn last line. The file is rewritten (atomically)
 * when it holds more than twice the live keys, so it stays bounded by the rules' maxKeys.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { ensureStateDir } from './consumer';
import { InMemoryFirstSeen, RateChange } from './rules-engine';

export const FIRST_SEEN_FILE = 'rules-first-seen.jsonl';
export const RATE_FILE = 'rules-rate.jsonl';

export class PersistentFirstSeen extends InMemoryFirstSeen {
  private path = '';
  private lines = 0;
  private ratePath = '';
  private rateLines = 0;

  constructor(
    private readonly storeDir: string,
    maxKeysOf: (rule: string) => number,
    private readonly ruleNames: readonly string[],
  ) {
    super(maxKeysOf);
  }

  /** Loads the keys of events up to `cursor` (the rules consumer's cursor). Returns how many were loaded. */
  async load(cursor: number): Promise<number> {
    this.path = join(await ensureStateDir(this.storeDir), FIRST_SEEN_FILE);
    let loaded = 0;
    for (const line of await readLines(this.path)) {
      this.lines++;
      let entry: { rule?: unknown; key?: unknown; seq?: unknown };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue; // a torn last line (kill -9 during an append)
      }
      if (typeof entry.rule !== 'string' || typeof entry.key !== 'string' || typeof entry.seq !== 'number') continue;
      if (entry.seq > cursor || !this.ruleNames.includes(entry.rule)) continue;
      this.add(entry.rule, entry.key, entry.seq, false);
      loaded++;
    }
    await this.compactIfDue(true);
    return loaded + (await this.loadRates(cursor));
  }

  private async loadRates(cursor: number): Promise<number> {
    this.ratePath = join(await ensureStateDir(this.storeDir), RATE_FILE);
    let loaded = 0;
    for (const line of await readLines(this.ratePath)) {
      this.rateLines++;
      let c: RateChange;
      try {
        c = JSON.parse(line) as RateChange;
      } catch {
        continue; // a torn last line
      }
      const limits = typeof c.rule === 'string' ? this.rateLimits.get(c.rule) : undefined;
      if (!limits || typeof c.key !== 'string' || typeof c.seq !== 'number' || c.seq > cursor) continue;
      this.rates.apply(c, limits);
      loaded++;
    }
    await this.compactRates(true);
    return loaded;
  }

  private async compactRates(force: boolean): Promise<void> {
    const live = this.rates.snapshot();
    if (!force && this.rateLines <= 2 * live.length + 1000) return;
    if (force && this.rateLines === live.length) return;
    await writeAtomically(this.ratePath, live.map((c) => JSON.stringify(c)));
    this.rateLines = live.length;
  }

  /** Appends the keys learnt since the last flush, durably. */
  async flush(): Promise<void> {
    const changes = this.rates.takeNew();
    if (changes.length) {
      await appendDurably(this.ratePath, changes.map((c) => JSON.stringify(c)));
      this.rateLines += changes.length;
      await this.compactRates(false);
    }
    const fresh = this.takeNew();
    if (fresh.length === 0) return;
    await appendDurably(this.path, fresh.map((f) => JSON.stringify(f)));
    this.lines += fresh.length;
    await this.compactIfDue(false);
  }

  private liveKeys(): number {
    let n = 0;
    for (const m of this.keys.values()) n += m.size;
    return n;
  }

  private async compactIfDue(force: boolean): Promise<void> {
    const live = this.liveKeys();
    if (!force && this.lines <= 2 * live + 1000) return;
    if (force && this.lines === live) return;
    const out: string[] = [];
    for (const [rule, m] of this.keys) for (const [key, seq] of m) out.push(JSON.stringify({ rule, key, seq }));
    await writeAtomically(this.path, out);
    this.lines = out.length;
  }
}

async function appendDurably(path: string, lines: string[]): Promise<void> {
  const fh = await fsp.open(path, 'a', 0o600);
  try {
    await fh.writeFile(lines.join('\n') + '\n');
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

async function writeAtomically(path: string, lines: string[]): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await fsp.open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(lines.length ? lines.join('\n') + '\n' : '');
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, path);
}

/** The non-empty lines of a state file; none when it does not exist. */
async function readLines(path: string): Promise<string[]> {
  try {
    return (await fsp.readFile(path, 'utf8')).split('\n').filter(Boolean);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    return [];
  }
}
