import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, ExitCode, InputError, UsageError, choiceOption, kubernetesVersionOption, stringOption } from '../command';
import { write } from '../io';
import { loadPolicyFile } from '../policy-input';
import { DETECTIONS, DETECTION_RULE_SETS, DetectionGap, DetectionRuleSet, checkDetections, estimateGapVolume, formatCoverage, formatVolume } from '../../detections';

export const detectionsCommand: Command = {
  name: 'detections',
  summary: 'which Falco, Sigma or Elastic Kubernetes audit rules the policy lets fire, and the smallest change for the rest',
  help: `Usage: cdk8s-audit detections POLICY [--rule-set falco|sigma|elastic] [--allow NAME,...] [--format text|json]

For every detection rule of the set, evaluates the requests it watches against the policy and says whether
the events carry the fields its condition reads (fields of the request body, e.g. Falco's ka.req.*,
need level Request). For each one
not covered: the policy rule that decides the level and the rule to insert that covers it.

Status: covered; not-covered; withheld (covering it would record bodies of secrets or configmaps, which
this tool never recommends: it does not fail the command).

  --rule-set S             falco (default; its k8s_audit_rules.yaml, 47 rules), sigma (the 16 rules of its
                           Kubernetes audit folder), elastic (the 45 prebuilt Kubernetes rules)
  --allow NAME,...         detections you accept as not covered (exact names, comma-separated)
  --sample-log FILE        a JSON audit log recorded with bodies (e.g. RequestResponse on a staging cluster):
                           for each proposed rule, the bytes it would add to that log's events of the same kind
  --format text|json       output format (default text)
  --kubernetes-version V   version to validate the policy for

Exit status: 0 every detection covered, withheld or allowed; 1 some not covered (or the policy is invalid); 2 usage error.

Example:
  cdk8s-audit preset pci-dss > policy.yaml && cdk8s-audit detections policy.yaml --rule-set falco`,
  options: {
    'rule-set': { type: 'string' },
    allow: { type: 'string', multiple: true },
    format: { type: 'string' },
    'kubernetes-version': { type: 'string' },
    'sample-log': { type: 'string' },
  },
  async run(args, io) {
    if (args.positionals.length !== 1) throw new UsageError('detections needs exactly one policy FILE');
    const format = choiceOption(args, 'format', ['text', 'json'] as const, 'text');
    const ruleSet = choiceOption(args, 'rule-set', DETECTION_RULE_SETS, 'falco') as DetectionRuleSet;
    const allow = ((args.values.allow as string[] | undefined) ?? []).flatMap((a) => a.split(',')).map((a) => a.trim()).filter(Boolean);
    const known = new Set(DETECTIONS[ruleSet].map((d) => d.name));
    const unknown = allow.filter((a) => !known.has(a));
    if (unknown.length) throw new UsageError(`--allow ${unknown.map((u) => JSON.stringify(u)).join(', ')}: no such ${ruleSet} detection; names are exact, e.g. "Create Privileged Pod"`);
    const policy = await loadPolicyFile(args.positionals[0], io, kubernetesVersionOption(args));
    const results = checkDetections(policy.document, [ruleSet]);
    const samplePath = stringOption(args, 'sample-log');
    const sample = samplePath === undefined ? undefined : readSample(samplePath, io.cwd);
    const volume = (g: DetectionGap) => (sample && g.fixRule ? estimateGapVolume(g, sample) : undefined);
    if (format === 'json') {
      write(io.stdout, JSON.stringify(results.map((r) => ({
        ruleSet: r.detection.ruleSet, name: r.detection.name, ...(r.detection.id ? { id: r.detection.id } : {}), source: r.detection.source, status: r.status, allowed: allow.includes(r.detection.name),
        minLevel: r.minLevel, reads: r.detection.reads, gaps: r.gaps.map((g) => {
          const { attributes: _a, ...rest } = g;
          const v = volume(g);
          return { ...rest, ...(v ? { volume: v } : {}) };
        }),
      })), null, 2));
    } else {
      write(io.stdout, formatCoverage(results, allow, (g) => { const v = volume(g); return v && formatVolume(v); }));
    }
    return results.some((r) => r.status === 'not-covered' && !allow.includes(r.detection.name)) ? ExitCode.FINDING : ExitCode.OK;
  },
};

const SAMPLE_MAX_BYTES = 256 * 1024 * 1024;

/** The audit events of a JSON-lines log; other lines are skipped. */
function readSample(path: string, cwd: string): unknown[] {
  const full = resolve(cwd, path);
  let text: string;
  try {
    if (statSync(full).size > SAMPLE_MAX_BYTES) throw new InputError(`--sample-log ${path}: larger than ${SAMPLE_MAX_BYTES / 1024 / 1024} MiB; give a sample`);
    text = readFileSync(full, 'utf8');
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`--sample-log ${path}: ${(e as Error).message}`);
  }
  const events = text.split('\n').flatMap((line) => {
    try {
      const v = JSON.parse(line) as { kind?: string };
      return v && v.kind === 'Event' ? [v] : [];
    } catch {
      return [];
    }
  });
  if (events.length === 0) throw new InputError(`--sample-log ${path}: no audit events (JSON lines with "kind":"Event"); give the apiserver's JSON audit log`);
  return events;
}
