/**
 * 4. Evaluator: events/s for rebuilding each logged event's request (requestAttributesFromEvent) and
 * evaluating the policy on it (evaluatePolicy), against JSON.parse alone over the same lines. The lines
 * come from a real audit log the apiserver wrote (section 1's PCI DSS run, or a run made here), replicated
 * to a large file. Both loops run over lines already in memory, so file I/O does not dilute the ratio.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluatePolicy, getPreset, PolicyDocument, requestAttributesFromEvent } from '../../../src';
import type { Section, SectionResult } from '../support/context';
import { fmtBytes } from '../support/format';
import { pciAuditLog } from '../support/pci-log';
import { makeFigure } from '../support/stats';
import { KubernetesVersion } from '../../../src/core/kubernetes-version';

const TARGET = 0.6;

/** Writes the log's lines again and again until the file has at least `minLines` lines. */
function replicate(source: string, target: string, minLines: number): number {
  const lines = readFileSync(source, 'utf8').split('\n').filter((l) => l.trim());
  if (lines.length === 0) throw new Error(`${source} holds no audit events`);
  const copies = Math.ceil(minLines / lines.length);
  const block = lines.join('\n') + '\n';
  writeFileSync(target, block.repeat(copies));
  return lines.length * copies;
}

type Loop = (lines: readonly string[]) => number;

const parseOnly: Loop = (lines) => {
  let n = 0;
  for (const line of lines) n += (JSON.parse(line) as { stage: string }).stage.length;
  return n;
};

const evaluateLoop = (policy: PolicyDocument): Loop => (lines) => {
  let n = 0;
  for (const line of lines) n += evaluatePolicy(policy, requestAttributesFromEvent(JSON.parse(line))).level.length;
  return n;
};

function timeLoop(loop: Loop, lines: readonly string[]): number {
  const t0 = process.hrtime.bigint();
  const sink = loop(lines);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (sink < 0) throw new Error('unreachable');
  return lines.length / seconds;
}

export const evaluatorSection: Section = {
  id: 'evaluator',
  title: 'Policy evaluator over a large audit log',
  async run(ctx): Promise<SectionResult> {
    const policy = getPreset('pci-dss', { kubernetesVersion: KubernetesVersion.of(ctx.kubernetesVersion) }).policy;
    const source = await pciAuditLog(ctx);
    const file = join(ctx.tmpDir, 'evaluator-large.log');
    const lineCount = replicate(source, file, ctx.quick ? 20_000 : 120_000);
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n').filter((l) => l !== '');
    const runs = ctx.quick ? 3 : 9;
    const evaluate = evaluateLoop(policy);
    // Warm both paths up (JIT) before measuring; then alternate which goes first.
    timeLoop(parseOnly, lines.slice(0, 5_000));
    timeLoop(evaluate, lines.slice(0, 5_000));
    const values: number[] = [];
    const baselines: number[] = [];
    for (let r = 0; r < runs; r++) {
      if (r % 2 === 0) {
        baselines.push(timeLoop(parseOnly, lines));
        values.push(timeLoop(evaluate, lines));
      } else {
        values.push(timeLoop(evaluate, lines));
        baselines.push(timeLoop(parseOnly, lines));
      }
      ctx.log(`evaluator run ${r + 1}/${runs}: evaluate ${values[r].toFixed(0)} events/s, JSON.parse ${baselines[r].toFixed(0)} events/s`);
    }
    return {
      figures: [
        makeFigure({
          section: 'evaluator',
          name: 'evaluator.events-per-second',
          unit: 'events/s',
          valueLabel: 'JSON.parse + requestAttributesFromEvent + evaluatePolicy (PCI DSS preset)',
          baselineLabel: 'JSON.parse alone, same lines, same run',
          values,
          baselines,
          target: { on: 'ratio', op: '>=', limit: TARGET },
          extra: { lines: lineCount, fileBytes: text.length, sourceLines: readFileSync(source, 'utf8').split('\n').filter(Boolean).length, policyRules: policy.rules.length },
        }),
      ],
      notes: [
        `${lineCount.toLocaleString('en-US')} lines (${fmtBytes(text.length)}): a PCI DSS audit log the real kube-apiserver wrote, repeated. Policy: the PCI DSS preset (${policy.rules.length} rules). ${runs} alternating runs after a warm-up, in one Node process, lines already in memory.`,
      ],
    };
  },
};
