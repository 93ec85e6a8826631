import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Command, CommandIO, ExitCode, InputError, UsageError, booleanOption, stringOption } from '../command';
import { write } from '../io';
import { loadPolicyFile } from '../policy-input';
import { PRESET_OPTIONS, PRESET_OPTIONS_HELP, presetFromArgs } from '../preset-options';
import { DEFAULT_KUBERNETES_VERSION, parseKubernetesVersion } from '../../core/kubernetes-version';
import { EVIDENCE_REPORT_SCHEMA, EvidenceJudge, InputSummary, JudgeOptions, JudgedSettings, STATUS_TEXT, renderReportHtml, renderReportJson, renderReportMarkdown, reportExitCode } from '../../evidence';
import { ReportInputError, parseApiserverArgs, readAuditLogInput, readSinkStore } from '../report-inputs';
import { SigningKeyError, loadSigningKey } from '../../sink-server/signing';

const FORMATS = ['md', 'html', 'json'] as const;
type Format = (typeof FORMATS)[number];

export const reportCommand: Command = {
  name: 'report',
  summary: 'judge a preset against the deployed policy, its settings and the recorded audit events (md, html, json)',
  help: `Usage: cdk8s-audit report --preset NAME[,NAME...] [--policy FILE] [--audit-log PATH]... [--sink-store DIR --key FILE] [options]

Judges every requirement of the preset(s) and writes report.md and report.html (or --format json).
Each requirement declares the kind of request it is about (verbs, API group, resource, subresource,
namespace or objects, levels); only such events are its evidence, and bodies are never copied.

Statuses:
  violated             a matching event was recorded above the requirement's maximum level (e.g. a
                       Secret read at Request/RequestResponse) or below its minimum; the report lists
                       the auditIDs, level seen, level required, the rule that decides it and the fix
  not met by the policy  an example request of the requirement gets the wrong level from the judged
                       policy (names the request, the deciding rule and the level)
  not met by settings  a flag, the retention or the protection falls short. Retention counts only
                       settings that cannot delete sooner: --audit-log-maxage ≥ the days (or 0) with
                       --audit-log-maxbackup=0, or the sink's --retention-max-age ≥ the days with
                       --retention-max-bytes 0. Protection needs a verified sink store (--sink-store)
  evidenced            at least one matching event, every matching event within bounds
  met by settings      a settings-only requirement whose settings enforce it
  no evidence          logs were given and nothing in them matches
  not checked          no logs given: the policy and settings meet it, nothing was observed

Inputs:
  --audit-log PATH         a JSON audit log, a directory of rotated logs (.gz rotations read too), or
                           - for standard input; repeatable, every one is read
  --sink-store DIR         the sink's store; verified first (as sink verify), events cite chain positions
  --key FILE               the sink's signing key (HMAC secret or Ed25519 key), with --sink-store
  --policy FILE            the deployed policy, or dist/node/files.yaml (then its policy file and
                           apiserver-args.txt are judged); default: the preset's own policy and flags
  --sink-retention-days N  the deployed sink's --retention-max-age in days (0 = none)
  --sink-retention-max-bytes N  the deployed sink's --retention-max-bytes (0 = none)
Lines that are not audit events are counted; an input with no audit event at all is an error.

Options:
${PRESET_OPTIONS_HELP}
  --format LIST            md, html, json, comma-separated (default md,html); json follows the schema
                           ${EVIDENCE_REPORT_SCHEMA} (docs/report.md)
  --out DIR                where to write report.md/.html/.json (default: current directory); - writes
                           the one --format to standard output
  --allow-missing-evidence do not fail on requirements without evidence (violations still fail)
  --kubernetes-version V   default ${DEFAULT_KUBERNETES_VERSION}
  -h, --help               show this help

Exit codes: 0 every requirement evidenced or met by settings (without logs: met by the policy and
settings); 1 a violation, a requirement not met by the policy or by settings, with logs a requirement
without evidence (unless --allow-missing-evidence), or an input that cannot be judged; 2 usage error.

Examples:
  cdk8s-audit report --preset pci-dss --policy dist/node/files.yaml --audit-log /var/log/kubernetes/audit/
  cdk8s-audit report --preset pci-dss --sink-store backup/ --key signing.pub --format json --out -`,
  options: {
    ...PRESET_OPTIONS,
    'audit-log': { type: 'string', multiple: true },
    'sink-store': { type: 'string' },
    key: { type: 'string' },
    policy: { type: 'string' },
    'sink-retention-days': { type: 'string' },
    'sink-retention-max-bytes': { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
    'allow-missing-evidence': { type: 'boolean' },
    'kubernetes-version': { type: 'string' },
  },
  async run(args, io) {
    if (args.positionals.length) throw new UsageError(`report takes no positional arguments (got ${args.positionals.join(' ')}); use --preset NAME`);
    const version = stringOption(args, 'kubernetes-version');
    let versionText: string;
    try {
      versionText = parseKubernetesVersion(version).text;
    } catch (e) {
      throw new UsageError(`--${(e as Error).message}`);
    }
    const formats = parseFormats(stringOption(args, 'format'));
    const out = stringOption(args, 'out') ?? '.';
    if (out === '-' && formats.length !== 1) throw new UsageError(`--out - writes one format to standard output; got --format ${formats.join(',')}: give one of ${FORMATS.join(', ')}`);
    const logs = (args.values['audit-log'] as string[] | undefined) ?? [];
    if (logs.filter((l) => l === '-').length > 1) throw new UsageError('--audit-log - (standard input) can be given once');
    const store = stringOption(args, 'sink-store');
    const keyPath = stringOption(args, 'key');
    if (store && !keyPath) throw new UsageError('--sink-store needs --key FILE (the sink\'s HMAC secret or Ed25519 key) to verify the store before reading it');
    if (keyPath && !store) throw new UsageError('--key is the sink store\'s key; give --sink-store DIR with it');
    const composed = presetFromArgs(args, undefined, version);

    const options: { -readonly [K in keyof JudgeOptions]: JudgeOptions[K] } = { kubernetesVersion: versionText };
    const policyPath = stringOption(args, 'policy');
    if (policyPath) Object.assign(options, await deployed(resolve(io.cwd, policyPath), policyPath, io, version));
    const sinkSettings = sinkRetentionOptions(args);
    if (sinkSettings) {
      const base: JudgedSettings = options.settings ?? { source: 'command line', apiserverFlags: { ...composed.logFlags, ...composed.webhookFlags } };
      options.settings = { ...base, source: `${base.source ?? 'the preset'}; sink retention from --sink-retention-*`, sink: sinkSettings };
    }

    const judge = new EvidenceJudge(composed, options);
    let inputs: InputSummary[] | undefined;
    try {
      if (logs.length || store) {
        inputs = [];
        for (const l of logs) inputs.push(await readAuditLogInput(judge, l === '-' ? '-' : resolve(io.cwd, l), io.stdin));
        if (store) {
          let key;
          try {
            key = loadSigningKey(resolve(io.cwd, keyPath!));
          } catch (e) {
            if (e instanceof SigningKeyError) throw new InputError(`--key: ${e.message}`);
            throw e;
          }
          inputs.push(await readSinkStore(judge, resolve(io.cwd, store), key));
        }
      }
    } catch (e) {
      if (e instanceof ReportInputError) throw new InputError(e.message);
      throw e;
    }
    const report = judge.finish(inputs);
    const render: Record<Format, () => string> = { md: () => renderReportMarkdown(report), html: () => renderReportHtml(report), json: () => renderReportJson(report) };
    const code = reportExitCode(report, { allowMissingEvidence: booleanOption(args, 'allow-missing-evidence') });
    if (out === '-') {
      write(io.stdout, render[formats[0]]().replace(/\n$/, ''));
    } else {
      const dir = resolve(io.cwd, out);
      mkdirSync(dir, { recursive: true });
      const written = formats.map((f) => {
        const file = join(dir, `report.${f}`);
        writeFileSync(file, render[f]());
        return file;
      });
      write(io.stdout, `judged ${report.policy.judged === 'deployed' ? `the deployed policy ${report.policy.source}` : "the preset's own policy (give --policy FILE to judge the deployed one)"}; settings: ${report.settings.source ?? "the preset's"}`);
      write(io.stdout, `wrote ${written.join(', ')}: ${report.requirements.length} requirements; ${Object.entries(report.counts).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(', ')}`);
      for (const r of report.requirements.filter((x) => !['evidenced', 'met-by-settings'].includes(x.status) && !(x.status === 'not-checked' && !inputs))) {
        write(io.stdout, `  ${STATUS_TEXT[r.status]}: ${r.preset} ${r.id} ${r.summary}${r.reasons[0] ? ` — ${r.reasons[0]}` : ''}`);
      }
    }
    return code === 0 ? ExitCode.OK : ExitCode.FINDING;
  },
};

function parseFormats(value: string | undefined): Format[] {
  if (value === undefined) return ['md', 'html'];
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = list.filter((f) => !(FORMATS as readonly string[]).includes(f));
  if (bad.length || list.length === 0) throw new UsageError(`--format ${JSON.stringify(value)}: ${bad.length ? `${bad.join(', ')} is not a format` : 'empty'}; give md, html, json or a comma-separated list`);
  return [...new Set(list)] as Format[];
}

function nonNegativeInteger(args: Parameters<Command['run']>[0], name: string): number | undefined {
  const v = stringOption(args, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} ${JSON.stringify(v)} is not a whole number ≥ 0; give e.g. --${name} ${name.endsWith('days') ? '365' : '0'}`);
  return Number(v);
}

function sinkRetentionOptions(args: Parameters<Command['run']>[0]): JudgedSettings['sink'] {
  const days = nonNegativeInteger(args, 'sink-retention-days');
  const bytes = nonNegativeInteger(args, 'sink-retention-max-bytes');
  if (days === undefined && bytes === undefined) return undefined;
  if (days === undefined) throw new UsageError('--sink-retention-max-bytes needs --sink-retention-days too (the sink\'s --retention-max-age in days, 0 = none)');
  return { maxAgeDays: days, maxBytes: bytes ?? 0 };
}

/**
 * The deployed policy (and, from dist/node/files.yaml, the deployed apiserver flags). files.yaml lists the
 * node files; the policy is the one whose description names --audit-policy-file, under rootfs/ next to it.
 */
async function deployed(path: string, given: string, io: CommandIO, version: string | undefined): Promise<Partial<JudgeOptions>> {
  if (basename(path) !== 'files.yaml') {
    const loaded = await loadPolicyFile(path, io, version);
    return { policy: { source: given, document: loaded.document } };
  }
  let manifest: { files?: { nodePath?: string; description?: string }[] };
  try {
    manifest = parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new InputError(`--policy ${given}: cannot be read as the node-files manifest (${(e as Error).message}); give the policy file itself, or dist/node/files.yaml from synth`);
  }
  const entry = manifest?.files?.find((f) => f.nodePath && /--audit-policy-file/.test(f.description ?? ''));
  if (!entry) throw new InputError(`--policy ${given}: lists no file described as the audit policy (--audit-policy-file); give the policy file itself`);
  const dir = dirname(path);
  const policyFile = join(dir, 'rootfs', entry.nodePath!);
  const loaded = await loadPolicyFile(policyFile, io, version);
  const argsFile = join(dir, 'apiserver-args.txt');
  let argsText: string;
  try {
    argsText = readFileSync(argsFile, 'utf8');
  } catch (e) {
    throw new InputError(`--policy ${given}: ${argsFile} next to it cannot be read (${(e as NodeJS.ErrnoException).code}); run synth again`);
  }
  return {
    policy: { source: policyFile, document: loaded.document },
    settings: { source: argsFile, apiserverFlags: parseApiserverArgs(argsText) },
  };
}
