/**
 * Keeps assertions that cannot fail out of the tests: a regular expression that matches any message
 * (`/./`, `/.*\/`, `/^/` …) turns `toMatch`/`toThrow`/a table's expected pattern into "something happened".
 * Scans every test source file under test/ for regex literals and `new RegExp('…')` with a constant
 * pattern, and fails on each one that matches every probe string below.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const TEST_ROOT = join(__dirname, '..');

/** Unrelated one-character strings: a pattern matching all of them matches (nearly) any message. */
const PROBES = ['a', 'Z', '7', '#', ' ', 'é'];

/** Regex literals in a position where an expression starts (after `(`, `,`, `[`, `=`, `:`, `return`…). */
const REGEX_LITERAL = /(?:^|[(,[=:!&|?{;]|\breturn)\s*\/((?![*/])(?:\\.|\[(?:\\.|[^\]\\\n])*\]|[^/\\\n[])+)\/([dgimsuyv]*)/gm;
/** `new RegExp('…')` / `RegExp("…")` / ``RegExp(`…`)`` with a constant pattern (no `${…}`). */
const REGEXP_CALL = /\bRegExp\(\s*(['"`])((?:\\.|(?!\1)[^\\$])*)\1\s*(?:,\s*(['"`])([a-z]*)\3\s*)?\)/g;

export interface Finding {
  readonly line: number;
  readonly text: string;
}

/** Compiles a pattern found in source; undefined when it is not a regex after all (e.g. a division). */
function compile(source: string, flags: string): RegExp | undefined {
  try {
    return new RegExp(source, flags.replace(/[gy]/g, ''));
  } catch {
    return undefined;
  }
}

const matchesAnything = (re: RegExp): boolean => PROBES.every((p) => re.test(p));

/** The regexes in `source` that match any message, with the line they are on. */
export function anythingMatchers(source: string): Finding[] {
  const found: Finding[] = [];
  const lineOf = (index: number) => source.slice(0, index).split('\n').length;
  for (const m of source.matchAll(REGEX_LITERAL)) {
    const re = compile(m[1], m[2]);
    if (re && matchesAnything(re)) found.push({ line: lineOf(m.index!), text: `/${m[1]}/${m[2]}` });
  }
  for (const m of source.matchAll(REGEXP_CALL)) {
    const pattern = m[1] === '`' ? m[2] : m[2].replace(/\\\\/g, '\\');
    const re = compile(pattern, m[4] ?? '');
    if (re && matchesAnything(re)) found.push({ line: lineOf(m.index!), text: m[0] });
  }
  return found;
}

function testSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'fixtures' ? [] : testSources(path);
    return /\.(ts|mts|js)$/.test(e.name) ? [path] : [];
  });
}

describe('anythingMatchers (the detector itself)', () => {
  it.each([
    ['expect(x).toMatch(/./)', ['/./']],
    ["await expect(p).rejects.toThrow(/.*/);", ['/.*/']],
    ['toThrowError(/^/)', ['/^/']],
    ["['case', fn, /./],", ['/./']],
    ['toMatch(/[\\s\\S]+/)', ['/[\\s\\S]+/']],
    ["toMatch(new RegExp('.*'))", ["RegExp('.*')"]],
    ["toMatch(new RegExp(''))", ["RegExp('')"]],
    ['toMatch(/(?:)/i)', ['/(?:)/i']],
  ])('flags %s', (code, expected) => {
    expect(anythingMatchers(code).map((f) => f.text)).toEqual(expected);
  });

  it.each([
    'expect(x).toMatch(/records were removed.*sink verify/)',
    'toThrow(/in use by the process/)',
    "toMatch(new RegExp(`^${file}`))",
    'const half = a / 2 / b;',
    "toMatch(/\\//)",
    '// a comment with a / slash / in it',
    "toMatch(new RegExp('^seg'))",
  ])('accepts %s', (code) => {
    expect(anythingMatchers(code)).toEqual([]);
  });
});

describe('test sources', () => {
  it('no regex in any test matches every message', () => {
    // This file's own examples of what the detector flags are the only ones allowed.
    const files = testSources(TEST_ROOT).filter((f) => f !== __filename);
    expect(files.length).toBeGreaterThan(50); // the scan really reads the tests
    const offenders = files.flatMap((file) => {
      const findings = anythingMatchers(readFileSync(file, 'utf8'));
      return findings.map((f) => `${relative(join(TEST_ROOT, '..'), file)}:${f.line}: ${f.text} matches any message; assert the real message`);
    });
    expect(offenders).toEqual([]);
  });
});
