/**
 * The audit alert rules judged by the real Prometheus rule loader and evaluator: promtool 3.16 built from
 * the Go module github.com/prometheus/prometheus (scripts/build-prometheus.sh).
 *   - `promtool check rules --lint=all --lint-fatal` on every rule file and PrometheusRule the CLI writes
 *     (each option it offers, both formats) and on the AuditAlerts construct's PrometheusRule;
 *   - `promtool test rules` on test/e2e/prometheus/audit-alerts.test.yaml: for every alert, series that
 *     must fire it and look-alike series that must not; and the same tests fail on rules made never to
 *     fire or always to fire, so each alert's tests can fail;
 *   - the project's PromQL checker (src/alerts/promql.ts) and promtool agree on which expressions parse
 *     (label regexes with RE2 semantics, string escapes as Prometheus' lexer reads them).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Chart, Duration } from 'cdk8s';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AuditAlerts, AuditAlertsProps } from '../../src/alerts/prometheus-rule';
import { checkPromQL } from '../../src/alerts/promql';
import { prometheusBinaries, promtool } from './prometheus/promtool';
import { makeTempDir, removeTempDir } from './support/processes';
import { CLI_MAIN } from './support/sink-process';

const HERE = join(__dirname, 'prometheus');
const ADVICE = join(HERE, 'advice.json');

let bin: string;
let dir: string;
beforeAll(() => {
  bin = prometheusBinaries().promtool;
  dir = makeTempDir('promtool');
});
afterAll(() => dir && removeTempDir(dir));

interface RuleGroup {
  name: string;
  rules: { alert: string; expr: string; for: string; labels: Record<string, string>; annotations?: Record<string, string> }[];
}

function cli(args: readonly string[]): string {
  const r = spawnSync(process.execPath, [CLI_MAIN, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cdk8s-audit ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Writes `{ groups }` as a rule file and runs promtool check rules on it; the rule count it reports. */
function checkRules(name: string, groups: RuleGroup[]): void {
  const file = join(dir, `${name}.rules.yaml`);
  writeFileSync(file, stringify({ groups }, { lineWidth: 0 }));
  const r = promtool(bin, ['check', 'rules', '--lint=all', '--lint-fatal', file]);
  expect(r.status, `promtool check rules ${file}:\n${r.stdout}${r.stderr}`).toBe(0);
  const count = groups.reduce((n, g) => n + g.rules.length, 0);
  expect(r.stdout).toContain(`SUCCESS: ${count} rules found`);
}

/** Every option `cdk8s-audit alerts` offers, alone and together. */
const CLI_OPTIONS: Record<string, string[]> = {
  defaults: [],
  'no-sink': ['--no-sink'],
  'webhook-host': ['--webhook-host', '10.96.0.50:8443'],
  'webhook-host+advice': ['--webhook-host', '10.96.0.50:8443', '--advice', ADVICE],
  advice: ['--advice', ADVICE],
  selectors: ['--apiserver-selector', 'job="kube-apiserver",cluster=~"prod-(?P<region>[a-z]+)"', '--sink-selector', 'namespace="audit",service="audit-sink"'],
  thresholds: ['--events-stopped-for', '1h30m', '--sink-disk-free-warning', '5Gi', '--sink-fsync-warning', '100ms', '--sink-max-queue', '128Mi'],
  labels: ['--runbook-url-base', 'https://runbooks.example.com/audit', '--label', 'team=platform', '--label', 'env=prod'],
  everything: [
    '--webhook-host', '[fd00::50]:8443', '--advice', ADVICE, '--apiserver-selector', 'job="apiserver",cluster="a"', '--sink-selector', 'job="sink"',
    '--events-stopped-for', '30m', '--sink-disk-free-warning', '10Gi', '--sink-fsync-warning', '1s', '--sink-max-queue', '1Gi',
    '--runbook-url-base', 'https://example.com/rb', '--label', 'team=platform',
  ],
};

describe('promtool check rules', () => {
  test.each(Object.entries(CLI_OPTIONS))('cdk8s-audit alerts (%s): the rule file and the PrometheusRule load in Prometheus', (name, args) => {
    const file = parse(cli(['alerts', ...args])) as { groups: RuleGroup[] };
    checkRules(`cli-${name}`, file.groups);
    const pr = parse(cli(['alerts', '--format', 'prometheus-rule', '--rule-label', 'release=kube-prometheus-stack', ...args])) as { kind: string; spec: { groups: RuleGroup[] } };
    expect(pr.kind).toBe('PrometheusRule');
    expect(pr.spec.groups).toEqual(file.groups);
    checkRules(`cli-${name}-prometheusrule`, pr.spec.groups);
  });

  const constructProps: Record<string, AuditAlertsProps> = {
    defaults: {},
    full: {
      namespace: 'monitoring',
      labels: { release: 'kube-prometheus-stack' },
      webhookHost: '10.96.0.50:8443',
      advice: { settings: { throttleQps: 10, maxBatchSize: 400, bufferSize: 10000 } as never, capacity: { drainEventsPerSecond: 4000 } as never, sinkLatency: Duration.millis(200) },
      extraLabels: { team: 'platform' },
      runbookUrlBase: 'https://runbooks.example.com/audit',
    },
    'no-sink': { sink: false, apiserverSelector: 'job=~"kube-apiserver|apiserver"' },
  };
  test.each(Object.entries(constructProps))('AuditAlerts construct (%s): the PrometheusRule groups load in Prometheus', (name, props) => {
    const app = new App();
    const chart = new Chart(app, 'c');
    new AuditAlerts(chart, 'alerts', props);
    const pr = chart.toJson().find((o) => o.kind === 'PrometheusRule') as { spec: { groups: RuleGroup[] } };
    checkRules(`construct-${name}`, pr.spec.groups);
  });
});

/** The rules the unit tests evaluate (see the head of audit-alerts.test.yaml), annotations removed. */
function unitTestRules(): RuleGroup[] {
  const groups = (parse(cli(['alerts', '--webhook-host', '10.96.0.50:8443', '--advice', ADVICE])) as { groups: RuleGroup[] }).groups;
  return groups.map((g) => ({ ...g, rules: g.rules.map(({ annotations: _drop, ...r }) => r) }));
}

function runUnitTests(name: string, groups: RuleGroup[]) {
  const sub = join(dir, name);
  spawnSync('mkdir', ['-p', sub]);
  writeFileSync(join(sub, 'audit-alerts.rules.yaml'), stringify({ groups }, { lineWidth: 0 }));
  copyFileSync(join(HERE, 'audit-alerts.test.yaml'), join(sub, 'audit-alerts.test.yaml'));
  return promtool(bin, ['test', 'rules', 'audit-alerts.test.yaml'], sub);
}

describe('promtool test rules', () => {
  interface UnitTests {
    tests: { name: string; alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
  }
  const unit = parse(readFileSync(join(HERE, 'audit-alerts.test.yaml'), 'utf8')) as UnitTests;
  const cases = unit.tests.flatMap((t) => t.alert_rule_test);

  test('every alert has a case where it fires and one where it must not', () => {
    const alerts = unitTestRules().flatMap((g) => g.rules.map((r) => r.alert));
    expect(alerts.length).toBe(21);
    for (const a of alerts) {
      expect(cases.some((c) => c.alertname === a && c.exp_alerts.length > 0), `${a} has no case where it fires`).toBe(true);
      expect(cases.some((c) => c.alertname === a && c.exp_alerts.length === 0), `${a} has no case where it must stay quiet`).toBe(true);
    }
    expect([...new Set(cases.map((c) => c.alertname))].sort()).toEqual([...alerts].sort());
  });

  test('every alert fires on its series and stays quiet on the look-alikes', () => {
    const r = runUnitTests('as-emitted', unitTestRules());
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });

  // The tests can fail: rules that never fire fail every firing case, rules that always fire fail every quiet one.
  test.each([
    ['never fire', (e: string) => `(${e}) unless on() vector(1)`, (c: { exp_alerts: unknown[] }) => c.exp_alerts.length > 0],
    ['always fire', (e: string) => `(${e}) or on() vector(1)`, (c: { exp_alerts: unknown[] }) => c.exp_alerts.length === 0],
  ] as const)('rules made to %s fail the cases that expect otherwise, for every alert', (_name, mutate, expectedToFail) => {
    // for: 0m, so that an always-true expression is firing at the first quiet case, whatever the rule's for.
    const groups = unitTestRules().map((g) => ({ ...g, rules: g.rules.map((r) => ({ ...r, expr: mutate(r.expr), for: '0m' })) }));
    const r = runUnitTests(_name.replace(' ', '-'), groups);
    expect(r.status).toBe(1);
    const out = r.stdout + r.stderr;
    for (const c of cases.filter(expectedToFail)) expect(out, `no failure for ${c.alertname}`).toMatch(new RegExp(`alertname: ${c.alertname},`));
  });
});

/**
 * Expressions and whether Prometheus parses them. Strings are PromQL source: inside "…" a backslash
 * escapes as in Go (so the regex \d is written "\\d"), inside `…` it is literal.
 */
const DIFFERENTIAL: readonly (readonly [string, boolean, string])[] = [
  // RE2 accepts what JavaScript's RegExp refuses or reads differently
  ['up{job=~"(?P<x>a)"}', true, 'named group, Python syntax'],
  ['up{job=~"(?<x>a)"}', true, 'named group (Go 1.22+)'],
  ['up{job=~"(?i)audit-sink"}', true, 'flags'],
  ['up{job=~"(?i:a)b"}', true, 'flag group'],
  ['up{job=~"[[:alpha:]]+"}', true, 'POSIX class'],
  ['up{job=~"\\\\pL+"}', true, 'one-letter Unicode class'],
  ['up{job=~"\\\\p{Greek}"}', true, 'Unicode script'],
  ['up{job=~"a\\\\z"}', true, '\\z'],
  ['up{job=~"\\\\Qa.b\\\\E"}', true, '\\Q…\\E'],
  ['up{job=~"a{,5}"}', true, '{,5} is literal in RE2'],
  ['up{job=~"x{02}"}', true, 'leading zero: literal'],
  ['up{job=~"\\\\d{1,3}"}', true, 'counted repeat'],
  ['up{job=~"a*?"}', true, 'non-greedy'],
  ['up{job=~"(?s:.)"}', true, 'flag s'],
  ['up{job=~"[\\\\d-z]"}', true, 'class then -'],
  ['up{job=~"\\\\x{41}"}', true, 'hex escape'],
  ['up{job=~"\\\\101"}', true, 'octal escape'],
  ['up{job=~"^*"}', true, 'repeated ^'],
  ['up{job=~"(?P<x>a)(?P<x>b)"}', true, 'duplicate group names (Go allows them)'],
  ['up{job=~""}', true, 'empty regex'],
  ['up{job=~`(?P<x>a)\\d`}', true, 'raw string'],
  ['up{job="a\\"b"}', true, 'escaped quote'],
  ["up{job='a\\'b'}", true, 'escaped single quote'],
  ['up{job="\\u00e9"}', true, 'unicode escape'],
  ['sum by (instance) (rate(apiserver_audit_error_total{plugin!~"buffered|webhook"}[5m])) > 0', true, 'a shipped shape'],
  // RE2 refuses what JavaScript's RegExp accepts
  ['up{job=~"(?=a)"}', false, 'lookahead'],
  ['up{job=~"(?!a)"}', false, 'negative lookahead'],
  ['up{job=~"(?<=a)b"}', false, 'lookbehind'],
  ['up{job=~"(a)\\\\1"}', false, 'backreference'],
  ['up{job=~"\\\\8"}', false, '\\8'],
  ['up{job=~"a\\\\Z"}', false, '\\Z'],
  ['up{job=~"a++"}', false, 'possessive'],
  ['up{job=~"a{2}{3}"}', false, 'nested counted repeat'],
  ['up{job=~"a{1001}"}', false, 'repeat over 1000'],
  ['up{job=~"(?P=x)"}', false, 'named backreference'],
  ['up{job=~"(?#c)"}', false, 'comment group'],
  ['up{job=~"(?i)*"}', false, 'repeat of flags'],
  // both refuse
  ['up{job=~"a**"}', false, 'nested repetition'],
  ['up{job=~"a{2,1}"}', false, 'min > max'],
  ['up{job=~"[[:foo:]]"}', false, 'unknown POSIX class'],
  ['up{job=~"\\\\p{Foo}"}', false, 'unknown Unicode class'],
  ['up{job=~"[z-a]"}', false, 'reversed range'],
  ['up{job=~"(a"}', false, 'missing )'],
  ['up{job=~"a)"}', false, 'unexpected )'],
  ['up{job=~"[a"}', false, 'missing ]'],
  ['up{job=~"{2}"}', false, 'nothing to repeat'],
  ['up{job=~"(?-)a"}', false, 'empty negated flags'],
  // string escapes (Prometheus' lexer, not the regex)
  ['up{job=~"\\d"}', false, '\\d is not a string escape'],
  ['up{job="a\\\'b"}', false, "\\' inside double quotes"],
  ['up{job="\\q"}', false, 'unknown escape'],
  ['up{job="\\x4"}', false, 'short hex escape'],
];

describe('the PromQL checker agrees with promtool', () => {
  test('on every expression of the table, and promtool on the expected verdicts', () => {
    // One rule file, one group per expression: promtool reports every rule that does not parse.
    const file = join(dir, 'differential.rules.yaml');
    writeFileSync(file, stringify({ groups: DIFFERENTIAL.map(([expr], i) => ({ name: `e${i}`, rules: [{ record: 'differential:expr', expr }] })) }, { lineWidth: 0 }));
    const r = promtool(bin, ['check', 'rules', file]);
    const out = r.stdout + r.stderr;
    const refused = new Set([...out.matchAll(/group "e(\d+)"/g)].map((m) => Number(m[1])));
    const rows = DIFFERENTIAL.map(([expr, expected, why], i) => {
      let ours: true | string = true;
      try {
        checkPromQL(expr);
      } catch (e) {
        ours = (e as Error).message;
      }
      return { expr, why, expected, prometheus: !refused.has(i), ours };
    });
    expect(rows.filter((x) => x.prometheus !== x.expected), `promtool output:\n${out}`).toEqual([]);
    expect(rows.filter((x) => (x.ours === true) !== x.prometheus)).toEqual([]);
  });
});
