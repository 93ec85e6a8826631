/**
 * A preset's sink retention (sinkRetentionFor) on the real store with a clock the test controls: segments
 * sealed longer ago than the preset's days go, every event younger than that stays, the chain still verifies,
 * and the report reads what is left from verified chain positions.
 */
import { randomBytes } from 'node:crypto';
import { Chart, Size, Testing } from 'cdk8s';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EvidenceJudge, getPreset, sinkRetentionFor } from '../../../src';
import { sinkRetentionPropsFor } from '../../../src/presets';
import { readSinkStore } from '../../../src/cli/report-inputs';
import { signingKeyFromBytes } from '../../../src/sink-server/signing';
import { Store } from '../../../src/sink-server/store';
import { verifyStore } from '../../../src/sink-server/verify';
import { AuditSink, SinkSigningKey, SinkTls } from '../../../src/sinks';
import { tempDir, testApp } from '../support/temp-dir';
import { auditEvent } from './audit-events';

const DAY = 86_400_000;
const START = Date.parse('2026-01-01T00:00:00Z');

describe.each(['pci-dss', 'iso-27001'])('%s: the sink keeps what the preset claims', (name) => {
  it('age retention deletes only segments older than retention.totalDays; the rest verifies and is read by report', async () => {
    const preset = getPreset(name);
    const r = sinkRetentionFor(preset.retention);
    expect(r.maxAgeDays).toBe(preset.retention.totalDays);
    const dir = join(tempDir('retention'), 'store');
    const key = signingKeyFromBytes(randomBytes(32), 'test key');
    let now = new Date(START);
    const store = await Store.open({ dir, key, minFreeBytes: 0, segmentMaxAgeMs: DAY, retentionMaxAgeMs: r.maxAgeDays * DAY, retentionMaxBytes: r.maxBytes, now: () => now });
    const step = Math.ceil(r.maxAgeDays / 3);
    const days = [0, 1, 2, 3, 4, 5].map((i) => i * step); // the last append comes 5/3 of the retention after the first
    for (const d of days) {
      now = new Date(START + d * DAY);
      const e = auditEvent({ auditID: `day-${d}`, verb: 'get', requestURI: '/api/v1/namespaces/audit/pods/p', objectRef: { resource: 'pods', namespace: 'audit', name: 'p' }, stageTimestamp: now.toISOString() });
      await store.append([{ auditID: e.auditID!, stage: e.stage!, raw: Buffer.from(JSON.stringify(e)) }]);
    }
    await store.close();

    const kept: string[] = [];
    const v = await verifyStore(dir, key, { onEvent: (buf) => kept.push(JSON.parse(buf.toString()).auditID) });
    expect(v.ok, v.problem?.message).toBe(true);
    const last = days[days.length - 1];
    // Every event younger than the retention is still there ...
    for (const d of days.filter((x) => last - x < r.maxAgeDays)) expect(kept).toContain(`day-${d}`);
    // ... and the oldest, sealed more than the retention ago, is gone.
    expect(kept).not.toContain('day-0');

    const judge = new EvidenceJudge(preset, { kubernetesVersion: '1.35' });
    const input = await readSinkStore(judge, dir, key);
    expect(input.events).toBe(kept.length);
    expect(input.verified!.firstSeq).toBeGreaterThan(1); // the chain continues from the retention anchor
  });
});

describe('AuditSink with a preset\'s retention', () => {
  const props = { image: 'registry.example.com/cdk8s-audit-sink:0.1.0', clusterIP: '10.96.0.50', controlPlaneCidrs: ['192.168.1.10/32'], tls: SinkTls.fromSecret('t'), signingKey: SinkSigningKey.fromSecret('k') };
  const args = (extra: object): string[] => {
    const chart = new Chart(testApp(), 'c', { namespace: 'audit' });
    new AuditSink(chart, 'sink', { ...props, ...extra });
    const dep = Testing.synth(chart).find((m) => m.kind === 'Deployment');
    return dep.spec.template.spec.containers[0].args;
  };
  it('runs sink serve with the age limit and no size limit, so the age retention is a guarantee', () => {
    const a = args(sinkRetentionPropsFor(getPreset('pci-dss').retention));
    expect(a.join(' ')).toContain('--retention-max-bytes 0 --retention-max-age 31536000s');
  });
  it('refuses a size limit of 0 without an age limit (nothing would ever be deleted)', () => {
    expect(() => args({ retentionMaxSize: Size.mebibytes(0) })).toThrow(/retentionMaxSize: 0 turns the size limit off, and without retentionMaxAge/);
  });
});
