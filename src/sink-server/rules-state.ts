/**
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
import { InMemoryFirstSeen } from './rules-engine';

export const FIRST_SEEN_FILE = 'rules-first-seen.jsonl';

export class PersistentFirstSeen extends InMemoryFirstSeen {
  private path = '';
  private lines = 0;

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
    let text = '';
    try {
      text = await fsp.readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    let loaded = 0;
    for (const line of text.split('\n')) {
      if (!line) continue;
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
    return loaded;
  }

  /** Appends the keys learnt since the last flush, durably. */
  async flush(): Promise<void> {
    const fresh = this.takeNew();
    if (fresh.length === 0) return;
    const fh = await fsp.open(this.path, 'a', 0o600);
    try {
      await fh.writeFile(fresh.map((f) => JSON.stringify(f)).join('\n') + '\n');
      await fh.datasync();
    } finally {
      await fh.close();
    }
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
    const tmp = `${this.path}.tmp`;
    const fh = await fsp.open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(out.length ? out.join('\n') + '\n' : '');
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, this.path);
    this.lines = out.length;
  }
}
