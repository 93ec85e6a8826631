import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { goReadsPlainAsNonString, renderGoYaml, renderGoYamlDocuments } from '../../../src/core/go-yaml';

// go-yaml v2's resolver (go.yaml.in/yaml/v2 resolve.go): which plain scalars are not strings.
// test/e2e/go-yaml.test.ts checks the rendered files with the real Go library.
describe('goReadsPlainAsNonString', () => {
  it.each([
    'y', 'Y', 'yes', 'n', 'NO', 'on', 'Off', 'true', 'FALSE', '~', 'null', '', '.inf', '-.Inf', '.nan', '<<',
    '1', '-1', '+1', '010', '0755', '08', '0x10', '0X10', '0o7', '0O7', '0b101', '-0b1', '1_000', '1e3', '1E3', '-1e3', '+.5', '.5', '1.', '0.5e3',
    '2026-01-01', '2026-1-2', '2026-01-01T10:00:00Z', '2026-01-01 10:00:00',
  ])('%j is not a string to Go when plain', (s) => {
    expect(goReadsPlainAsNonString(s)).toBe(true);
  });

  it.each(['o', 'yess', 'onn', 'audit', '1.35.0', '10.96.0.50', '1-2', '0x', '0o8', '0b2', '_1', '-', '/etc/on', 'v1', '1h', '30s', '2026-01', 'https://10.96.0.50:8443/audit', '.5x', '.'])('%j stays a string', (s) => {
    expect(goReadsPlainAsNonString(s)).toBe(false);
  });
});

describe('renderGoYaml', () => {
  it.each<[unknown, string]>([
    [{ on: 'on' }, '"on": "on"\n'],
    [{ mode: '0o7', hex: '0X10', merge: '<<' }, 'mode: "0o7"\nhex: "0X10"\nmerge: "<<"\n'],
    [{ num: 30, b: true, z: null, s: 'plain', n: 1 }, 'num: 30\nb: true\nz: null\ns: plain\n"n": 1\n'],
    [['a\u2028b', 'c\u0085d', 'bom\ufeff'], '- "a\\u2028b"\n- "c\\x85d"\n- "bom\\ufeff"\n'],
    [{ text: '\ta\nb' }, 'text: "\\ta\\nb"\n'],
    [{ patch: 'kind: X\napiServer:\n  extraArgs: {}\n' }, 'patch: |\n  kind: X\n  apiServer:\n    extraArgs: {}\n'],
  ])('%j', (value, text) => {
    expect(renderGoYaml(value)).toBe(text);
    expect(parse(text)).toEqual(value);
  });

  it('refuses a lone surrogate, naming the string', () => {
    expect(() => renderGoYaml({ name: 'a\ud800' })).toThrow(/lone UTF-16 surrogate \(U\+D800\)/);
  });

  it('a string holding the placeholder text does not confuse the escaping', () => {
    const value = ['cdk8s-audit-go-yaml-escape-0-end', 'x\u2028'];
    expect(parse(renderGoYaml(value))).toEqual(value);
  });

  it('renderGoYamlDocuments joins documents with ---', () => {
    expect(renderGoYamlDocuments([{ a: 'y' }, { b: 1 }])).toBe('a: "y"\n---\nb: 1\n');
  });
});
