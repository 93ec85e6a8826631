/**
 * The sink validates webhook bodies with its own single-pass scanner instead of JSON.parse (see
 * event-list-scan.ts). These tests hold it to JSON.parse: the same verdict, the same reason and message, and
 * for accepted bodies events equal to JSON.parse's items, byte-exact and free of insignificant whitespace.
 */
import { describe, expect, it } from 'vitest';
import { checkEventList, EventListError, parseEventList } from '../../../src/sink-contract/event-list';
import { minifyJson } from '../../../src/sink-contract/event-list-scan';
import { Rng } from '../../support/rng';
import { eventList, makeEvent } from './support';

type Verdict = { reason: string; message: string } | { items: unknown[] };

/** The reference: the platform's UTF-8 decoder and JSON.parse, then the same EventList checks. */
function oracle(body: Buffer): Verdict {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return { reason: 'not_utf8', message: '' };
  }
  let doc: any;
  try {
    doc = JSON.parse(text);
  } catch {
    return { reason: 'not_json', message: '' };
  }
  const obj = doc !== null && typeof doc === 'object' && !Array.isArray(doc);
  try {
    checkEventList({ root: doc, kind: obj ? doc.kind : undefined, apiVersion: obj ? doc.apiVersion : undefined, items: obj ? doc.items : undefined });
  } catch (e) {
    return { reason: (e as EventListError).reason, message: (e as EventListError).message };
  }
  return { items: doc.items };
}

function subject(body: Buffer): Verdict & { raws?: Buffer[] } {
  try {
    const events = parseEventList(body);
    return { items: events.map((e) => JSON.parse(e.raw.toString('utf8'))), raws: events.map((e) => e.raw) };
  } catch (e) {
    if (!(e instanceof EventListError)) throw e;
    // JSON syntax messages are the scanner's own; the checks' messages must match exactly.
    return { reason: e.reason, message: e.reason === 'not_json' || e.reason === 'not_utf8' ? '' : e.message };
  }
}

function agree(body: Buffer): void {
  const expected = oracle(body);
  const { raws, ...actual } = subject(body);
  expect(actual, `body ${JSON.stringify(body.toString('latin1').slice(0, 300))}`).toEqual(expected);
  for (const raw of raws ?? []) expect(minifyJson(raw, 0, raw.length).equals(raw)).toBe(true);
}

function reasonOf(body: Buffer): string {
  try {
    parseEventList(body);
    return 'accepted';
  } catch (e) {
    return (e as EventListError).reason;
  }
}

const wrap = (items: string) => `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[${items}]}`;
const ev = (extra = '') => `{"level":"Metadata","auditID":"a-1","stage":"ResponseComplete"${extra}}`;

describe('the body scanner agrees with JSON.parse', () => {
  it.each([
    ['compact, as the apiserver sends', eventList([makeEvent(1), makeEvent(2, 'RequestReceived')])],
    ['whitespace everywhere', ' \n{ "kind" :"EventList" ,\t"apiVersion":"audit.k8s.io/v1", "items" : [ { "level" : "None" , "auditID":"x", "stage":"Panic" , "o" : { "a" : [ 1 , 2 ] } } , {"level":"Metadata","auditID":"y","stage":"Panic"} ] } \r\n'],
    ['byte order mark', `\ufeff${wrap(ev())}`],
    ['escaped keys are the same keys', wrap('{"level":"Metadata","audit\\u0049D":"a","st\\u0061ge":"Panic"}')],
    ['escaped values', wrap('{"level":"Metadata","auditID":"\\u0061\\/b","stage":"Resp\\u006fnseComplete"}')],
    ['duplicate keys: the last wins', wrap('{"level":"Bogus","level":"Metadata","auditID":"a","stage":"Panic","stage":"ResponseStarted"}')],
    ['duplicate items: the last wins', '{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[1],"items":[' + ev() + ']}'],
    ['duplicate items: a later non-array wins', '{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[' + ev() + '],"items":{}}'],
    ['items before kind', '{"items":[' + ev() + '],"apiVersion":"audit.k8s.io/v1","kind":"EventList"}'],
    ['nested look-alike fields are not the event\'s', wrap('{"level":"Metadata","auditID":"a","stage":"Panic","objectRef":{"stage":"x","level":1,"items":[]}}')],
    ['numbers of every shape', wrap(ev(',"n":[0,-0,1.5,-2e10,3E+2,4e-3,12345678901234567890123]'))],
    ['lone surrogate escapes are legal JSON', wrap(ev(',"s":"\\ud800 \\udfff"'))],
    ['non-ASCII UTF-8 kept byte for byte', wrap(ev(',"name":"café ☃ 𝄞"'))],
    ['literals', wrap(ev(',"t":true,"f":false,"z":null'))],
    ['empty containers', wrap(ev(',"o":{},"a":[],"s":""'))],
    ['empty list', wrap('')],
    ['item is not an object', wrap('"str"')],
    ['item is null', wrap('null')],
    ['item is an array', wrap('[]')],
    ['kind is a number', '{"kind":5,"apiVersion":"audit.k8s.io/v1","items":[]}'],
    ['root is a string', '"EventList"'],
    ['root is null', 'null'],
    ['root is an array', '[1,2]'],
    ['items is null', '{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":null}'],
    ['items is a string', '{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":"x"}'],
    ['a long stage is cut in the message', wrap('{"level":"Metadata","auditID":"a","stage":"' + 'x'.repeat(80) + '"}')],
    ['control character in a string', wrap(ev(',"s":"a\u0001b"'))],
    ['raw newline in a string', wrap(ev(',"s":"a\nb"'))],
    ['bad escape', wrap(ev(',"s":"\\x41"'))],
    ['short \\u escape', wrap(ev(',"s":"\\u12"'))],
    ['leading zero', wrap(ev(',"n":01'))],
    ['bare minus', wrap(ev(',"n":-'))],
    ['dot without digits', wrap(ev(',"n":1.'))],
    ['exponent without digits', wrap(ev(',"n":1e+'))],
    ['plus sign', wrap(ev(',"n":+1'))],
    ['NaN', wrap(ev(',"n":NaN'))],
    ['trailing comma in an object', wrap(ev(',"n":1,'))],
    ['trailing comma in an array', wrap(ev() + ',')],
    ['single quotes', "{'kind':'EventList'}"],
    ['unquoted key', '{kind:"EventList"}'],
    ['missing colon', '{"kind" "EventList"}'],
    ['truncated', wrap(ev()).slice(0, 60)],
    ['trailing garbage', wrap(ev()) + 'x'],
    ['two documents', wrap(ev()) + wrap(ev())],
    ['empty body', ''],
    ['only whitespace', ' \n'],
    ['vertical tab is not whitespace', `\u000b${wrap(ev())}`],
    ['non-breaking space is not whitespace', `\u00a0${wrap(ev())}`],
    ['tru', wrap(ev(',"t":tru'))],
    ['nul byte', wrap(ev(',"n":1\u0000'))],
  ])('%s', (_name, text) => agree(Buffer.from(text, 'utf8')));

  it('invalid UTF-8 is refused before anything else', () => {
    agree(Buffer.concat([Buffer.from(wrap(ev(',"s":"')).slice(0, -3)), Buffer.from([0xc3, 0x28]), Buffer.from('"}]}')]));
    agree(Buffer.from([0xed, 0xa0, 0x80])); // an encoded surrogate
  });

  it('deep nesting is accepted like JSON.parse, without overflowing the stack', () => {
    agree(Buffer.from(wrap(ev(`,"deep":${'['.repeat(1000)}${']'.repeat(1000)}`))));
    agree(Buffer.from(wrap(ev(`,"deep":${'['.repeat(1000)}`))));
    // Deeper than a recursive parser (or a deep comparison) survives: the scanner keeps its own stack.
    const deep = `,"deep":${'[{"a":'.repeat(200_000)}1${'}]'.repeat(200_000)}`;
    const [e] = parseEventList(Buffer.from(wrap(ev(deep))));
    expect(e.raw.toString()).toBe(ev(deep));
    expect(reasonOf(Buffer.from(wrap(ev(deep.slice(0, -1)))))).toBe('not_json');
  });

  it('whitespace inside an event is removed from what is stored, and nothing else', () => {
    const [e] = parseEventList(Buffer.from(wrap('{ "level" : "Metadata", "auditID":"a" ,"stage":"Panic","s":" keep  \\" this " }')));
    expect(e.raw.toString()).toBe('{"level":"Metadata","auditID":"a","stage":"Panic","s":" keep  \\" this "}');
  });

  it('agrees on 20,000 random mutations of real-looking bodies (seeded)', () => {
    const seeds = [
      eventList([makeEvent(1), makeEvent(2, 'RequestReceived')]),
      wrap(ev(',"requestObject":{"a":[1,2.5e3,{"b":null}],"s":"x\\"y\\\\z\\u00e9","t":true}')),
      ' { "kind":"EventList" , "apiVersion" : "audit.k8s.io/v1", "items":[ ' + ev(',"name":"café"') + ' ] } ',
    ].map((s) => Buffer.from(s, 'utf8'));
    const alphabet = Buffer.from('{}[]":,\\/u019-+.eEtrfnlas \n\t\r', 'latin1');
    const odd = [0x00, 0x1f, 0x7f, 0xc3, 0xa9, 0xff, 0xef, 0xbb, 0xbf, 0x0b];
    const rng = new Rng(20261123);
    for (let n = 0; n < 20_000; n++) {
      let b = Buffer.from(seeds[rng.int(seeds.length)]);
      for (let m = 1 + rng.int(3); m > 0; m--) {
        const at = rng.int(b.length + 1);
        const byte = rng.int(8) === 0 ? odd[rng.int(odd.length)] : alphabet[rng.int(alphabet.length)];
        const op = rng.int(4);
        if (op === 0) b = Buffer.concat([b.subarray(0, at), Buffer.from([byte]), b.subarray(at)]);
        else if (op === 1) b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + rng.int(4))]);
        else if (op === 2 && at < b.length) b[at] = byte;
        else b = Buffer.concat([b.subarray(0, at), b.subarray(rng.int(b.length), at), b.subarray(at)]);
      }
      agree(b);
    }
  });
});
