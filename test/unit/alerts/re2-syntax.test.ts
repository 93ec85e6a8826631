import { describe, expect, it } from 'vitest';
import { checkPromQL, checkSelector } from '../../../src/alerts/promql';
import { re2SyntaxError } from '../../../src/alerts/re2-syntax';

// The verdicts are Go's regexp/syntax (what Prometheus compiles label regexes with); the e2e test
// test/e2e/promtool.test.ts checks the same kinds of expressions against the real promtool.
describe('re2SyntaxError', () => {
  it.each([
    '(?P<x>a)', '(?<x>a)', '(?i)abc', '(?i:a)b', '(?-i)a', '(?:a|b)+', '[[:alpha:]]+', '[^[:digit:]]', '\\pL', '\\p{Greek}', '\\PN',
    'a\\z', '\\Qa.b\\E', '\\Qa.b', 'a{,5}', 'x{02}', '\\d{1,3}', 'a*?', 'a{2,}?', '(?s:.)', '[\\d-z]', '[a-]', '[]a]', '\\x{41}', '\\x41', '\\101',
    '^*', '', 'a|', '\\.', '[\\]]', '(?P<x>a)(?P<x>b)',
  ])('accepts %j', (re) => expect(re2SyntaxError(re)).toBeUndefined());

  it.each([
    ['(?=a)', 'invalid or unsupported Perl syntax: `(?='],
    ['(?!a)', 'invalid or unsupported Perl syntax: `(?!'],
    ['(?<=a)b', 'invalid named capture'],
    ['(a)\\1', 'invalid escape sequence: `\\1`'],
    ['\\8', 'invalid escape sequence: `\\8`'],
    ['a\\Z', 'invalid escape sequence: `\\Z`'],
    ['a++', 'invalid nested repetition operator: `++`'],
    ['a**', 'invalid nested repetition operator: `**`'],
    ['a{2}{3}', 'invalid nested repetition operator: `{2}{3}`'],
    ['a{1001}', 'invalid repeat count: `{1001}`'],
    ['a{2,1}', 'invalid repeat count: `{2,1}`'],
    ['(?P=x)', 'invalid or unsupported Perl syntax'],
    ['(?#c)', 'invalid or unsupported Perl syntax: `(?#`'],
    ['(?i)*', 'missing argument to repetition operator: `*`'],
    ['{2}', 'missing argument to repetition operator: `{2}`'],
    ['a|*', 'missing argument to repetition operator: `*`'],
    ['[[:foo:]]', 'invalid character class range: `[:foo:]`'],
    ['\\p{Foo}', 'invalid character class range: `\\p{Foo}`'],
    ['[z-a]', 'invalid character class range: `z-a`'],
    ['(a', 'missing closing ): `(a`'],
    ['a)', 'unexpected ): `a)`'],
    ['[a', 'missing closing ]: `[a`'],
    ['(?-)a', 'invalid or unsupported Perl syntax: `(?-)`'],
    ['\\x4', 'invalid escape sequence'],
    ['a\\', 'trailing backslash at end of expression'],
  ])('refuses %j: %s', (re, message) => expect(re2SyntaxError(re)).toContain(message));
});

describe('checkPromQL and checkSelector: label regexes and string escapes as Prometheus reads them', () => {
  it.each(['up{job=~"(?P<x>a)"}', 'up{job=~"\\\\d+"}', 'up{job=~`\\d+`}', 'up{job="a\\"b"}', "up{job='a\\'b'}", 'up{job="\\u00e9\\x41\\101\\n"}'])('accepts %s', (e) => {
    expect(() => checkPromQL(e)).not.toThrow();
  });
  it.each([
    ['up{job=~"(?=a)"}', /"\(\?=a\)" is not a valid regular expression for Prometheus \(RE2 syntax\): invalid or unsupported Perl syntax/],
    ['up{job=~"\\d"}', /unknown escape sequence "\\\\d" in a string \(write \\\\ for a backslash/],
    ['up{job="a\\\'b"}', /unknown escape sequence/],
    ['up{job="\\x4"}', /unknown escape sequence/],
  ])('refuses %s', (e, message) => {
    expect(() => checkPromQL(e)).toThrow(message);
  });
  it('checkSelector checks regexes too (the --sink-selector and --apiserver-selector options)', () => {
    expect(() => checkSelector('job=~"(?=a)"')).toThrow(/RE2 syntax/);
    expect(checkSelector('job=~"(?P<x>prod-.*)",cluster="a"')).toEqual(['job', 'cluster']);
  });
  it('the unquoted value is what Go reads: escapes decoded', () => {
    const m = checkPromQL('up{job="\\u00e9\\x41\\101\\t\\\\"}').selectors[0].matchers[0];
    expect(m.value).toBe('éAA\t\\');
  });
});
