import { describe, expect, it } from 'vitest';
import { EventListError, parseEventList } from '../../../src/sink-contract/event-list';
import { decodeRecord, encodeRecord, encodeRecords, GENESIS_HASH, splitLines } from '../../../src/sink-server/record';
import { parseDuration, parseListen, parseSize } from '../../../src/core/units';
import { eventList, makeEvent } from './support';

const reason = (body: string | Buffer): string => {
  try {
    parseEventList(Buffer.isBuffer(body) ? body : Buffer.from(body));
  } catch (e) {
    if (e instanceof EventListError) return `${e.reason}: ${e.message}`;
    throw e;
  }
  return 'accepted';
};

describe('parseEventList', () => {
  it('splits items and keeps each event byte-exact: numbers beyond 2^53 and escapes survive, whitespace goes', () => {
    const body = '{ "kind" : "EventList", "apiVersion":"audit.k8s.io/v1",\n "items" : [ {"level":"Metadata","auditID":"a","stage":"ResponseComplete","big":12345678901234567890,"s":"x y\\"} ]\\n","f":1.50} ,\n\t{"level":"None","auditID":"b","stage":"Panic","u":"\\u00e9"} ] }';
    const events = parseEventList(Buffer.from(body));
    expect(events.map((e) => [e.auditID, e.stage])).toEqual([['a', 'ResponseComplete'], ['b', 'Panic']]);
    expect(events[0].raw.toString()).toBe('{"level":"Metadata","auditID":"a","stage":"ResponseComplete","big":12345678901234567890,"s":"x y\\"} ]\\n","f":1.50}');
    expect(events[1].raw.toString()).toBe('{"level":"None","auditID":"b","stage":"Panic","u":"\\u00e9"}');
  });

  it('accepts what the apiserver sends (compact JSON, items with kind/apiVersion) and an empty list', () => {
    const items = [makeEvent(1), makeEvent(2, 'RequestReceived')];
    const events = parseEventList(Buffer.from(eventList(items)));
    expect(events.map((e) => JSON.parse(e.raw.toString()))).toEqual(items);
    expect(parseEventList(Buffer.from(eventList([])))).toEqual([]);
  });

  it.each([
    ['\xff\xfe', 'not_utf8'],
    ['{"kind":', 'not_json'],
    ['[]', 'not_event_list'],
    ['"EventList"', 'not_event_list'],
    ['{"kind":"Event","apiVersion":"audit.k8s.io/v1","items":[]}', 'not_event_list'],
    ['{"kind":"EventList","apiVersion":"audit.k8s.io/v1beta1","items":[]}', 'not_event_list'],
    ['{"kind":"EventList","apiVersion":"audit.k8s.io/v1"}', 'not_event_list'],
    ['{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":{}}', 'not_event_list'],
    ['{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[1]}', 'bad_event'],
    ['{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"level":"Metadata","stage":"ResponseComplete"}]}', 'bad_event'],
    ['{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"level":"Metadata","auditID":"a","stage":"Done"}]}', 'bad_event'],
    ['{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"level":"Everything","auditID":"a","stage":"Panic"}]}', 'bad_event'],
    ['{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"kind":"Pod","level":"None","auditID":"a","stage":"Panic"}]}', 'bad_event'],
  ])('refuses %s as %s, with a reason', (body, expected) => {
    const r = reason(Buffer.from(body, 'latin1'));
    expect(r.split(':')[0]).toBe(expected);
    expect(r.length).toBeGreaterThan(expected.length + 10);
  });

  it('names the bad item and field without quoting event content', () => {
    const secret = 'hunter2-hunter2-hunter2-hunter2-hunter2-hunter2-hunter2';
    expect(reason(eventList([makeEvent(1), { ...makeEvent(2), stage: secret }]))).toMatch(/^bad_event: items\[1\]\.stage is "hunter2-hunter2-hunter2-hunter2-hunter2-…", expected one of/);
  });
});

describe('records', () => {
  it('round-trip; the hash covers seq, time, prev and event', () => {
    const ev = Buffer.from('{"auditID":"a","stage":"Panic","level":"None"}');
    const r = encodeRecord(1, new Date('2026-01-01T00:00:00Z'), GENESIS_HASH, ev);
    const d = decodeRecord(r.line.subarray(0, -1));
    expect(d).toMatchObject({ seq: 1, prev: GENESIS_HASH, hash: r.hash, computedHash: r.hash });
    expect((d as { event: Buffer }).event.toString()).toBe(ev.toString());
    const changed = Buffer.from(r.line.subarray(0, -1).toString().replace('"seq":1', '"seq":2'));
    const d2 = decodeRecord(changed) as { hash: string; computedHash: string };
    expect(d2.computedHash).not.toBe(d2.hash);
    expect(decodeRecord(Buffer.from('{"seq":1}'))).toMatch(/too short/);
  });

  it('a commit of many records is one buffer of chained lines, each decodable, with views of the events', () => {
    const events = ['{"a":1}', '{"b":"é"}', '{}'].map((t) => Buffer.from(t));
    const prev = 'f'.repeat(64);
    const { data, hashes, events: views } = encodeRecords(98, new Date('2026-01-01T00:00:00Z'), prev, events);
    const { lines, torn } = splitLines(data);
    expect(torn).toBeUndefined();
    expect(lines.map((l) => decodeRecord(l))).toMatchObject([
      { seq: 98, prev, hash: hashes[0], computedHash: hashes[0] },
      { seq: 99, prev: hashes[0], hash: hashes[1], computedHash: hashes[1] },
      { seq: 100, prev: hashes[1], hash: hashes[2], computedHash: hashes[2] },
    ]);
    expect(views.map((v) => v.toString())).toEqual(events.map((e) => e.toString()));
    expect(views[1].buffer).toBe(data.buffer);
    expect(encodeRecord(99, new Date('2026-01-01T00:00:00Z'), hashes[0], events[1]).line.equals(Buffer.concat([lines[1], Buffer.from('\n')]))).toBe(true);
    expect(() => encodeRecords(1, new Date(), 'short', events)).toThrow(/64 hex/);
  });
});

describe('units', () => {
  it('sizes, durations and listen addresses', () => {
    expect(parseSize('--x', '16Mi')).toBe(16 * 1024 * 1024);
    expect(parseSize('--x', '10485760')).toBe(10485760);
    expect(parseSize('--x', '1.5Gi')).toBe(1.5 * 1024 ** 3);
    expect(() => parseSize('--max-body-bytes', '16 furlongs')).toThrow(/--max-body-bytes: "16 furlongs" is not a size.*16Mi/);
    expect(parseDuration('--x', '1h30m')).toBe(5_400_000);
    expect(parseDuration('--x', '90d')).toBe(90 * 86_400_000);
    expect(parseDuration('--x', '0')).toBe(0);
    expect(() => parseDuration('--request-timeout', '30')).toThrow(/--request-timeout: "30" is not a duration/);
    expect(parseListen('--l', '127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseListen('--l', ':8443')).toEqual({ host: '0.0.0.0', port: 8443 });
    expect(parseListen('--l', '[::1]:8443')).toEqual({ host: '::1', port: 8443 });
    expect(() => parseListen('--listen', '8443')).toThrow(/--listen: "8443" is not HOST:PORT/);
  });
});
