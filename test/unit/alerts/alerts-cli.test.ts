import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { renderPrometheusRuleFile } from '../../../src/alerts/rules';
import { runCli } from '../../support/cli';
import { tempDir } from '../support/temp-dir';

describe('cdk8s-audit alerts', () => {
  it('--help exits 0 and names every rule', async () => {
    const r = await runCli(['alerts', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: cdk8s-audit alerts/);
    for (const name of ['AuditEventsDroppedBufferFull', 'AuditEventsStopped', 'AuditSinkFsyncSlow', 'AuditSinkDiskLow']) expect(r.stdout).toContain(name);
  });

  it('prints the rule file the library renders', async () => {
    const r = await runCli(['alerts', '--webhook-host', '10.96.0.50:8443']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(parse(r.stdout)).toEqual(parse(renderPrometheusRuleFile({ webhookHost: '10.96.0.50:8443' })));
  });

  it('prometheus-rule: a PrometheusRule with the ruleSelector label, name and namespace', async () => {
    const r = await runCli(['alerts', '--format', 'prometheus-rule', '--rule-label', 'release=kube-prometheus-stack', '--namespace', 'obs', '--no-sink', '--label', 'team=platform']);
    expect(r.code).toBe(0);
    const doc = parse(r.stdout);
    expect(doc).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'cdk8s-audit-alerts', namespace: 'obs', labels: { release: 'kube-prometheus-stack' } } });
    expect(doc.spec.groups.map((g: { name: string }) => g.name)).toEqual(['cdk8s-audit.apiserver']);
    expect(doc.spec.groups[0].rules[0].labels).toEqual({ severity: 'critical', team: 'platform' });
  });

  it('--advice takes advise --format json: the capacity rule uses its drain rate, the latency rule its sink latency', async () => {
    const dir = tempDir('alerts');
    const advice = await runCli(['advise', '--rps', '50', '--sink-latency', '400ms', '--sink-max-in-flight', '8', '--format', 'json']);
    expect(advice.code).toBe(0);
    writeFileSync(join(dir, 'advice.json'), advice.stdout);
    const drain = JSON.parse(advice.stdout).capacity.drainEventsPerSecond as number;
    const r = await runCli(['alerts', '--advice', join(dir, 'advice.json'), '--webhook-host', '10.0.0.1:8443', '--out', join(dir, 'rules.yaml')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^wrote .*rules\.yaml/);
    const rules = parse(readFileSync(join(dir, 'rules.yaml'), 'utf8')).groups.flatMap((g: { rules: { alert: string; expr: string }[] }) => g.rules);
    const near = rules.find((x: { alert: string }) => x.alert === 'AuditEventRateNearBatchCapacity');
    expect(near.expr).toMatch(new RegExp(`> ${Math.round(0.8 * drain * 1000) / 1000}$`));
    expect(rules.find((x: { alert: string }) => x.alert === 'AuditWebhookSlow').expr).toMatch(/> 0\.4$/);
  });

  it('invalid input exits 1 naming every option, value and fix', async () => {
    const r = await runCli(['alerts', '--apiserver-selector', 'job=apiserver', '--webhook-host', 'sink', '--events-stopped-for', 'soon', '--sink-disk-free-warning', 'lots', '--label', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--label: "x" is not KEY=VALUE');
    expect(r.stderr).toContain('--sink-disk-free-warning: "lots" is not a size');
    expect(r.stderr).toContain('--events-stopped-for: "soon" is not a Prometheus duration; write e.g. 10m, 1h30m or 1w');
    expect(r.stderr).toContain('--apiserver-selector: "job=apiserver" is not a list of label matchers');
    expect(r.stderr).toContain('--webhook-host: "sink" is not host:port');
    const zero = await runCli(['alerts', '--sink-max-queue', '0', '--sink-fsync-warning', '0s', '--events-stopped-for', '0']);
    expect(zero.code).toBe(1);
    expect(zero.stderr).toContain('--sink-max-queue: "0" is not above 0; write e.g. 64Mi');
    expect(zero.stderr).toContain('--sink-fsync-warning: "0s" is not above 0; write e.g. 250ms');
    expect(zero.stderr).toContain('--events-stopped-for: "0" is not above 0; write e.g. 10m');
    const flags = await runCli(['alerts', '--events-stopped-for', '90m', '--sink-fsync-warning', '400ms', '--sink-max-queue', '32Mi', '--sink-disk-free-warning', '2Gi']);
    expect(flags.code, flags.stderr).toBe(0);
    expect(flags.stdout).toContain('for: 1h30m');
    const week = await runCli(['alerts', '--events-stopped-for', '1w']);
    expect(week.code, week.stderr).toBe(0);
    expect(week.stdout).toContain('for: 1w');
    expect(flags.stdout).toContain('[5m]))) > 0.4');
    expect(flags.stdout).toContain(`> ${0.75 * 32 * 1024 * 1024}`);
    expect(flags.stdout).toContain(`< ${2 * 1024 ** 3}`);
    const advice = await runCli(['alerts', '--advice', '/no/such/advice.json']);
    expect(advice.code).toBe(1);
    expect(advice.stderr).toContain("--advice: cannot read /no/such/advice.json: no such file; write it with 'cdk8s-audit advise … --format json");
  });

  it('usage errors exit 2', async () => {
    expect((await runCli(['alerts', '--format', 'json'])).code).toBe(2);
    expect((await runCli(['alerts', '--nope'])).code).toBe(2);
    expect((await runCli(['alerts', 'extra'])).code).toBe(2);
  });
});
