import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_FILE } from '../../../src/sink-server/layout';
import { dedupeKey, indexEvent, pruneDedupe } from '../../../src/sink-server/store-dedupe';
import { acquireStoreLock, releaseStoreLock } from '../../../src/sink-server/store-lock';
import { rotationDue } from '../../../src/sink-server/store-retention';

// The store's parts as pure functions; the Store class tests (store, guarantees, crash) cover them together.

describe('rotationDue', () => {
  const opened = new Date('2026-01-01T00:00:00Z');
  const at = (ms: number) => new Date(opened.getTime() + ms);
  it.each<[string, { records: number; bytes: number }, number, boolean]>([
    ['an empty segment never, however old', { records: 0, bytes: 0 }, 10 * 3_600_000, false],
    ['below both limits', { records: 5, bytes: 999 }, 59_999, false],
    ['at the size limit', { records: 5, bytes: 1000 }, 0, true],
    ['at the age limit', { records: 1, bytes: 10 }, 60_000, true],
  ])('%s', (_name, seg, age, due) => {
    expect(rotationDue({ ...seg, openedAt: opened }, at(age), 1000, 60_000)).toBe(due);
  });
});

describe('dedupe index', () => {
  it('forgets pairs older than the cutoff, and the oldest over the key limit', () => {
    const index = new Map<string, number>([
      ['a', 100],
      ['b', 200],
      ['c', 300],
      ['d', 400],
    ]);
    pruneDedupe(index, 250, 10);
    expect([...index.keys()]).toEqual(['c', 'd']);
    pruneDedupe(index, 0, 1);
    expect([...index.keys()]).toEqual(['d']);
  });

  it('indexes an event by (auditID, stage) inside the window only; an unreadable one is skipped', () => {
    const index = new Map<string, number>();
    const event = (auditID: string) => Buffer.from(JSON.stringify({ auditID, stage: 'ResponseComplete' }));
    indexEvent(index, event('in'), 500, 400);
    indexEvent(index, event('old'), 300, 400);
    indexEvent(index, Buffer.from('{not json'), 500, 400);
    expect([...index.entries()]).toEqual([[dedupeKey('in', 'ResponseComplete'), 500]]);
  });
});

describe('store lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'store-lock-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is taken when free, reports a live holder, takes over a dead one, and is released', async () => {
    expect(await acquireStoreLock(dir)).toBeUndefined();
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`);
    // The parent of this process is alive and is not this process: the store is in use.
    writeFileSync(join(dir, LOCK_FILE), `${process.ppid}\n`);
    expect(await acquireStoreLock(dir)).toBe(process.ppid);
    // A pid no process has (above the kernel's pid_max): left by a crash, taken over.
    writeFileSync(join(dir, LOCK_FILE), '4194305\n');
    expect(await acquireStoreLock(dir)).toBeUndefined();
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`);
    await releaseStoreLock(dir);
    expect(await acquireStoreLock(dir)).toBeUndefined();
  });
});
