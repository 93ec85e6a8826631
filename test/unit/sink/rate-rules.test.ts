/**
 * Rate rules (more than `threshold` matching events of one key in a sliding `window`, optionally only for keys
 * first seen within `newKeysWithin`): validation, evaluation on event time, once per window, and state that
 * survives a restart (and a rewound cursor) like first-seen state.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AlertRule, AlertRulesDocument, alertRulesProblems } from '../../../src/sink-contract/alert-rules';
import { AuditEventFields, RulesEngine } from '../../../src/sink-server/rules-engine';
import { PersistentFirstSeen, RATE_FILE } from '../../../src/sink-server/rules-state';
import { tempDir } from '../support/temp-dir';

const doc = (rules: AlertRule[]): AlertRulesDocument => ({ apiVersion: 'cdk8s-audit.io/v1alpha1', kind: 'AlertRules', rules });
const burst: AlertRule = { name: 'burst', type: 'rate', match: { verbs: ['create'] }, key: ['user'], threshold: 3, window: '1m' };
const T0 = Date.parse('2026-03-01T10:00:00Z');

function create(user: string, atSeconds: number, ns = 'dev'): AuditEventFields {
  return {
    auditID: `${user}-${atSeconds}`, stage: 'ResponseComplete', verb: 'create', requestURI: `/api/v1/namespaces/${ns}/configmaps`,
    stageTimestamp: new Date(T0 + atSeconds * 1000).toISOString(), user: { username: user, groups: ['system:authenticated'] },
    sourceIPs: ['10.0.0.1'], responseStatus: { code: 201 }, objectRef: { resource: 'configmaps', namespace: ns, apiVersion: 'v1' } as AuditEventFields['objectRef'],
  };
}

/** Seconds (event time) at which each event is sent → the seconds at which an alert fired. */
function firing(engine: RulesEngine, user: string, seconds: number[], ns?: string): number[] {
  return seconds.filter((s, i) => engine.evaluate(create(user, s, ns), i + 1).length > 0);
}

describe('rate rule validation', () => {
  const problems = (rule: Partial<AlertRule>) => alertRulesProblems(doc([{ name: 'r', type: 'rate', ...rule } as AlertRule])).map((i) => `${i.path}: ${i.message} | ${i.fix}`);
  it.each([
    [{}, ['rules[0] (r).threshold: missing | give the most events per key a window may hold without an alert, e.g. threshold: 20', 'rules[0] (r).window: missing | give the sliding window, e.g. window: 1m']],
    [{ threshold: 0, window: '1m' }, ['rules[0] (r).threshold: 0 is not a whole number from 1 to 100000 | e.g. threshold: 20']],
    [{ threshold: 5, window: 'a minute' }, ['rules[0] (r).window: "a minute" is not a duration (500ms, 30s, 15m, 1h, 7d, 1h30m) | e.g. window: 1m']],
    [{ threshold: 5, window: '0' }, ['rules[0] (r).window: a window of 0 holds no event | e.g. window: 1m']],
    [{ threshold: 5, window: '1m', newKeysWithin: 24 }, ['rules[0] (r).newKeysWithin: 24 is not a duration string | e.g. newKeysWithin: 24h, or leave it out to count every key']],
    [{ threshold: 5, window: '1m', key: ['user'], ipv4PrefixLength: 16 }, ['rules[0] (r).ipv4PrefixLength: the key has no sourceNetwork, so the prefix length is not used | add sourceNetwork to key, or remove it']],
    [{ threshold: 5, window: '1m', key: ['user', 'sourceNetwork'], ipv6PrefixLength: 129 }, ['rules[0] (r).ipv6PrefixLength: 129 is not a prefix length from 0 to 128 | leave it out for /48']],
    [{ threshold: 5, window: '1m', key: ['user', 'namespace'], newKeysWithin: '24h', maxKeys: 10 }, []],
  ])('%j', (rule, want) => expect(problems(rule as Partial<AlertRule>)).toEqual(want));

  it('threshold and window belong to rate rules only', () => {
    const p = alertRulesProblems(doc([{ name: 'm', type: 'match', threshold: 3, window: '1m' }])).map((i) => i.path);
    expect(p).toEqual(['rules[0] (m).threshold', 'rules[0] (m).window']);
  });
});

describe('rate rule evaluation', () => {
  it('fires once when the window holds more than the threshold, again only after a window has passed', () => {
    const engine = new RulesEngine(doc([burst]));
    // 4th create within a minute fires; the 5th..8th in the same minute do not; at 70 s the window has passed
    expect(firing(engine, 'mallory', [0, 1, 2, 3, 4, 5, 6, 7, 70, 71, 72, 73])).toEqual([3, 73]);
  });

  it('counts in a sliding window by event time: events spread wider than the window never fire', () => {
    const engine = new RulesEngine(doc([burst]));
    expect(firing(engine, 'alice', [0, 25, 50, 75, 100, 125, 150])).toEqual([]);
    expect(firing(engine, 'alice', [200, 259, 259, 259.5])).toEqual([259.5]);
  });

  it('keys apart: user and user+namespace', () => {
    const byUser = new RulesEngine(doc([burst]));
    expect(firing(byUser, 'a', [0, 1])).toEqual([]);
    expect(firing(byUser, 'b', [2, 3])).toEqual([]);
    const byNs = new RulesEngine(doc([{ ...burst, key: ['user', 'namespace'] }]));
    expect([...firing(byNs, 'a', [0, 1], 'x'), ...firing(byNs, 'a', [2, 3], 'y')]).toEqual([]);
    expect(firing(byNs, 'a', [4, 5], 'x')).toEqual([5]);
  });

  it('newKeysWithin: a key first seen long ago does not count; a new one does; the alert says when it was first seen', () => {
    const engine = new RulesEngine(doc([{ ...burst, newKeysWithin: '1h' }]));
    expect(firing(engine, 'admin', [0])).toEqual([]); // first seen at T0
    expect(firing(engine, 'admin', [7200, 7201, 7202, 7203, 7204])).toEqual([]); // two hours later: not new
    const alerts = [7200, 7201, 7202, 7203].flatMap((s, i) => engine.evaluate(create('newbie', s), 100 + i));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      rule: 'burst', type: 'rate', user: 'newbie', seq: 103,
      rate: { key: { user: 'newbie' }, count: 4, window: '1m', threshold: 3, firstSeen: new Date(T0 + 7200_000).toISOString() },
    });
    expect(alerts[0].reason).toBe(`4 matching events in 1m for user "newbie" (first seen ${new Date(T0 + 7200_000).toISOString()}, within 1h), over the threshold 3`);
  });

  it('only matching events count (except and outcome apply first)', () => {
    const engine = new RulesEngine(doc([{ ...burst, except: [{ userGroups: ['system:masters'] }] }]));
    const admin = (s: number) => ({ ...create('root', s), user: { username: 'root', groups: ['system:masters'] } });
    expect([0, 1, 2, 3, 4].flatMap((s) => engine.evaluate(admin(s)))).toEqual([]);
    expect([0, 1, 2, 3, 4].flatMap((s) => engine.evaluate({ ...create('x', s), verb: 'get' }))).toEqual([]);
  });
});

describe('rate state survives a restart', () => {
  async function start(dir: string, cursor: number, rules = [burst]) {
    const memory = new PersistentFirstSeen(dir, () => 100_000, rules.map((r) => r.name));
    const engine = new RulesEngine(doc(rules), memory);
    await memory.load(cursor);
    return { memory, engine };
  }

  it('the window and the last firing are as they were at the cursor; events past the cursor count again, once', async () => {
    const dir = tempDir('rate-state');
    const a = await start(dir, 0);
    expect([0, 1].flatMap((s, i) => a.engine.evaluate(create('m', s), i + 1))).toEqual([]);
    await a.memory.flush();
    // the events of seq 1 and 2 are before the cursor: a restart remembers them, two more creates fire
    const b = await start(dir, 2);
    expect([2, 3].map((s, i) => b.engine.evaluate(create('m', s), 3 + i).length)).toEqual([0, 1]);
    await b.memory.flush();
    // a restart after the firing: the next create in the same window does not fire again
    const c = await start(dir, 4);
    expect(c.engine.evaluate(create('m', 4), 5)).toEqual([]);
    await c.memory.flush();
    // the cursor rewound to 2 (seq 3..5 delivered again): they count once, and fire once again, as the first time
    const d = await start(dir, 2);
    expect([2, 3, 4].map((s, i) => d.engine.evaluate(create('m', s), 3 + i).length)).toEqual([0, 1, 0]);
  });

  it('the state file names no user or address, and a torn last line is ignored', async () => {
    const dir = tempDir('rate-state-file');
    const a = await start(dir, 0);
    [0, 1, 2].forEach((s, i) => a.engine.evaluate(create('mallory', s), i + 1));
    await a.memory.flush();
    const path = join(dir, 'state', RATE_FILE);
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain('mallory');
    expect(text).not.toContain('10.0.0.1');
    const { appendFileSync } = await import('node:fs');
    appendFileSync(path, '{"rule":"burst","key":"to');
    const b = await start(dir, 3);
    expect(b.engine.evaluate(create('mallory', 3), 4)).toHaveLength(1);
  });

  it('state of a rule removed from the file is dropped', async () => {
    const dir = tempDir('rate-state-removed');
    const a = await start(dir, 0);
    [0, 1, 2].forEach((s, i) => a.engine.evaluate(create('m', s), i + 1));
    await a.memory.flush();
    const renamed = { ...burst, name: 'burst-2' };
    const b = await start(dir, 3, [renamed]);
    expect(b.memory.rates.size('burst')).toBe(0);
    expect(b.engine.evaluate(create('m', 3), 4)).toEqual([]);
  });
});
