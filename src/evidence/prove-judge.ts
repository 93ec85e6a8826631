/**
 * Judges what `prove` replayed against what the backends recorded. Pure: the inputs are the requests
 * sent (with the Audit-Id the apiserver answered) and the events read back; the output is one check per
 * fact, each passed, failed or not observed, so the report says exactly what was and wasn't seen.
 */
import type { RequirementProbe } from '../presets/types';
import { auditEventDifferences, recordedLevel } from './assert';
import { AuditEvent, groupByAuditId } from './events';

/** A requirement's example request as `prove` sent it. */
export interface SentProbe {
  /** `preset id`, e.g. `pci-dss 10.2.1.1`. */
  readonly requirement: string;
  readonly probe: RequirementProbe;
  /** Method and URI as sent (writes may carry dryRun=All). */
  readonly method: string;
  readonly uri: string;
  /** The identity used, e.g. `kubernetes-admin (client certificate)`. */
  readonly identity: string;
  readonly status: number;
  readonly auditId?: string;
}

export type CheckStatus = 'pass' | 'fail' | 'not-observed';

export interface ProveCheck {
  readonly kind: 'probe' | 'canary' | 'sink-delivery' | 'sink-verify' | 'log';
  readonly title: string;
  readonly status: CheckStatus;
  readonly details: string[];
  readonly requirement?: string;
  readonly auditId?: string;
}

/** What a backend gave back; absent = that backend was not observed (with why). */
export type Observed<T> = { readonly observed: true; readonly value: T; readonly source: string } | { readonly observed: false; readonly why: string };

export interface ProveInputs {
  readonly probes: readonly SentProbe[];
  readonly nodeLog: Observed<{ events: AuditEvent[]; text: string }>;
  readonly sink: Observed<{ events: AuditEvent[]; raw: string; verifyCode: number; verifySummary: string }>;
  /** Values that must be in no backend (a Secret's data). */
  readonly canaries: readonly { readonly name: string; readonly value: string }[];
  /** The replay window: node-log events that began in it must all be in the sink. */
  readonly window?: { readonly from: string; readonly to: string };
  /** The apiserver sends to a webhook: a sink that was not observed is a failure, not a gap. */
  readonly sinkRequired?: boolean;
}

export interface ProveVerdict {
  readonly checks: ProveCheck[];
  readonly ok: boolean;
}

function probeCheck(p: SentProbe, node: Map<string, AuditEvent[]> | undefined, sink: Map<string, AuditEvent[]> | undefined): ProveCheck {
  const bounds = p.probe.maxLevel === undefined ? `at least ${p.probe.minLevel}` : p.probe.maxLevel === p.probe.minLevel ? `exactly ${p.probe.minLevel}` : `${p.probe.minLevel} to ${p.probe.maxLevel}`;
  const title = `${p.requirement}: ${p.probe.description} — ${p.method} ${p.uri} as ${p.identity} → HTTP ${p.status}; requires ${bounds}`;
  const base = { kind: 'probe' as const, title, requirement: p.requirement, auditId: p.auditId };
  if (!p.auditId) return { ...base, status: 'fail', details: ['the apiserver sent no Audit-Id header, so its events cannot be found'] };
  const details: string[] = [];
  let failed = false;
  let seen = false;
  for (const [where, byId] of [['node audit log', node], ['sink', sink]] as const) {
    if (!byId) continue;
    seen = true;
    const events = byId.get(p.auditId) ?? [];
    const diffs = auditEventDifferences(events, { minLevel: p.probe.minLevel, maxLevel: p.probe.maxLevel ?? 'RequestResponse' });
    details.push(`${where}: recorded ${recordedLevel(events)} (${events.length} events)${diffs.length ? ` ✗ ${diffs.join('; ')}` : ''}`);
    if (diffs.length) failed = true;
  }
  if (!seen) return { ...base, status: 'not-observed', details: ['neither the node audit log nor the sink was observed'] };
  return { ...base, status: failed ? 'fail' : 'pass', details };
}

/** Every node-log event (auditID + stage) of requests begun in the window is in the sink, at the same level. */
function deliveryCheck(nodeEvents: readonly AuditEvent[], sinkEvents: readonly AuditEvent[], window: { from: string; to: string }): ProveCheck {
  const inWindow = nodeEvents.filter((e) => e.requestReceivedTimestamp >= window.from && e.requestReceivedTimestamp <= window.to);
  const sinkByKey = new Map(sinkEvents.map((e) => [`${e.auditID}/${e.stage}`, e]));
  const missing = inWindow.filter((e) => !sinkByKey.has(`${e.auditID}/${e.stage}`));
  const differentLevel = inWindow.filter((e) => {
    const s = sinkByKey.get(`${e.auditID}/${e.stage}`);
    return s !== undefined && s.level !== e.level;
  });
  const details = [`${inWindow.length} node-log events of requests received from ${window.from} to ${window.to}; ${inWindow.length - missing.length} of them in the sink`];
  for (const e of missing.slice(0, 20)) details.push(`missing from the sink: auditID ${e.auditID} ${e.stage} ${e.verb} ${e.requestURI} by ${e.user?.username ?? '(none)'}`);
  if (missing.length > 20) details.push(`… and ${missing.length - 20} more`);
  for (const e of differentLevel.slice(0, 20)) details.push(`level differs: auditID ${e.auditID} ${e.stage}: node log ${e.level}, sink ${sinkByKey.get(`${e.auditID}/${e.stage}`)!.level}`);
  const ok = missing.length === 0 && differentLevel.length === 0 && inWindow.length > 0;
  if (inWindow.length === 0) details.push('no node-log event fell in the replay window, so delivery was not shown');
  return { kind: 'sink-delivery', title: 'every node-log event of the replay window reached the sink at the same level', status: ok ? 'pass' : 'fail', details, auditId: missing[0]?.auditID ?? differentLevel[0]?.auditID };
}

/** The forms a value takes in an audit event: as sent, and base64 as in a Secret's data. */
export function canaryForms(value: string): string[] {
  return [value, Buffer.from(value, 'utf8').toString('base64')];
}

export function judgeProve(inputs: ProveInputs): ProveVerdict {
  const node = inputs.nodeLog.observed ? groupByAuditId(inputs.nodeLog.value.events) : undefined;
  const sink = inputs.sink.observed ? groupByAuditId(inputs.sink.value.events) : undefined;
  const checks: ProveCheck[] = [];
  checks.push(
    inputs.nodeLog.observed
      ? { kind: 'log', title: `node audit log read from ${inputs.nodeLog.source}`, status: 'pass', details: [`${inputs.nodeLog.value.events.length} events`] }
      : { kind: 'log', title: 'node audit log', status: 'not-observed', details: [inputs.nodeLog.why] },
  );
  for (const p of inputs.probes) checks.push(probeCheck(p, node, sink));
  for (const c of inputs.canaries) {
    const where: string[] = [];
    const details: string[] = [];
    for (const [name, text] of [['node audit log', inputs.nodeLog.observed ? inputs.nodeLog.value.text : undefined], ['sink store', inputs.sink.observed ? inputs.sink.value.raw : undefined]] as const) {
      if (text === undefined) {
        details.push(`${name}: not observed`);
        continue;
      }
      // A Secret's stringData comes back base64-encoded in data: search for both forms.
      const found = canaryForms(c.value).some((f) => text.includes(f));
      details.push(`${name}: ${found ? 'FOUND ✗' : 'absent'}`);
      if (found) where.push(name);
    }
    const any = inputs.nodeLog.observed || inputs.sink.observed;
    const auditId = where.length && node ? [...node.values()].flat().find((e) => canaryForms(c.value).some((f) => JSON.stringify(e).includes(f)))?.auditID : undefined;
    checks.push({ kind: 'canary', title: `${c.name}: its value is in no audit backend`, status: where.length ? 'fail' : any ? 'pass' : 'not-observed', details: auditId ? [...details, `first found in auditID ${auditId}`] : details, auditId });
  }
  if (inputs.sink.observed) {
    const s = inputs.sink.value;
    checks.push({ kind: 'sink-verify', title: '`sink verify` on the sink store: hash chain and signatures intact', status: s.verifyCode === 0 ? 'pass' : 'fail', details: [`exit ${s.verifyCode}: ${s.verifySummary.split('\n').slice(0, 3).join(' / ') || '(no output)'}`] });
    if (inputs.nodeLog.observed && inputs.window) checks.push(deliveryCheck(inputs.nodeLog.value.events, s.events, inputs.window));
    else checks.push({ kind: 'sink-delivery', title: 'every node-log event of the replay window reached the sink', status: 'not-observed', details: ['the node audit log was not observed, so there is nothing to compare the sink with'] });
  } else {
    checks.push({ kind: 'sink-verify', title: 'the sink store', status: inputs.sinkRequired ? 'fail' : 'not-observed', details: [inputs.sink.why] });
  }
  // Observed facts must all hold, and every requirement's request must have been seen in some backend.
  const ok = checks.every((c) => c.status === 'pass' || (c.status === 'not-observed' && c.kind !== 'probe')) && (inputs.nodeLog.observed || inputs.sink.observed);
  return { checks, ok };
}

/** The failures, one line each, naming the requirement and auditID where there is one. */
export function failureLines(verdict: ProveVerdict): string[] {
  return verdict.checks
    .filter((c) => c.status === 'fail' || (c.kind === 'probe' && c.status === 'not-observed'))
    .map((c) => `${c.status === 'fail' ? 'FAIL' : 'NOT OBSERVED'}: ${c.title}${c.auditId ? ` [auditID ${c.auditId}]` : ''}: ${c.details.filter((d) => d.includes('✗') || c.kind !== 'probe').join('; ')}`);
}
