import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Duration, Size } from 'cdk8s';
import { parse as parseYaml, stringify } from 'yaml';
import { Command, CommandIO, ExitCode, FieldFlags, InputError, OptionSpec, ParsedArgs, UsageError, booleanOption, choiceOption, nameFlags, stringOption } from '../command';
import { POLICY_MAX_BYTES, readInput, write } from '../io';
import { ApiserverAudit, DEFAULT_POLICY_FILE } from '../../backends/apiserver-audit';
import { LogBackendProps, WebhookBackendProps } from '../../backends/backends';
import { AuditConfigError } from '../../backends/errors';
import { AUDIT_FLAGS, FlagType, FlagValue, flagDefault } from '../../backends/flag-table';
import { renderFlagReference } from '../../backends/flag-docs';
import { parseFlagText } from '../../backends/flags';
import { sizeFromBytes } from '../../backends/prop-units';
import { staticPodPatch } from '../../control-plane/static-pod';
import { DEFAULT_KUBERNETES_VERSION, KubernetesVersion, parseKubernetesVersion } from '../../core/kubernetes-version';
import { PRESET_NAMES, PresetConflictError, RetentionPrecedence, getPreset } from '../../presets';
import { formatProblems as formatProblemList } from '../../core/problem';

/*
 * Shared by the verbs that build the apiserver's audit configuration (flags, kubeadm-config,
 * kind-config): one option per audit flag, generated from the flag table, plus the settings
 * cdk8s-audit checks against (retention, rates, the sink's body limit) and --preset.
 */

const FLAG_SPECS = AUDIT_FLAGS.filter((f) => !f.deprecatedAliasOf);

/** `--log-maxage` etc.: one string option per audit flag. */
export const AUDIT_FLAG_OPTIONS: OptionSpec = Object.fromEntries(FLAG_SPECS.map((f) => [f.cliName, { type: 'string' as const }]));

export const AUDIT_EXTRA_OPTIONS: OptionSpec = {
  'kubernetes-version': { type: 'string' },
  preset: { type: 'string' },
  webhook: { type: 'boolean' },
  'retention-precedence': { type: 'string' },
  'retention-days': { type: 'string' },
  'expected-mib-per-day': { type: 'string' },
  'expected-events-per-second': { type: 'string' },
  'sink-max-body-bytes': { type: 'string' },
};

function typeHint(type: FlagType, choices?: readonly string[]): string {
  switch (type) {
    case FlagType.ENUM:
      return choices!.join('|');
    case FlagType.DURATION:
      return 'DURATION';
    case FlagType.BOOL:
      return 'true|false';
    case FlagType.STRING:
      return 'VALUE';
    default:
      return 'N';
  }
}

/** The options block of --help for the audit settings, generated from the flag table. */
export function auditOptionsHelp(): string {
  const newest = parseKubernetesVersion().minor;
  const line = (opt: string, text: string) => `  ${opt.padEnd(46)} ${text}`;
  const section = (group: 'global' | 'log' | 'webhook') =>
    FLAG_SPECS.filter((f) => f.group === group).map((f) => {
      const d = f.name === 'audit-policy-file' ? DEFAULT_POLICY_FILE : flagDefault(f, newest);
      const def = d === '' ? '' : ` (default ${d})`;
      return line(`--${f.cliName} ${typeHint(f.type, f.choices)}`, `--audit-${f.cliName}${def}`);
    });
  return [
    'Audit settings (each sets the kube-apiserver flag named on the right; defaults of the newest version):',
    ...section('global'),
    ...section('log'),
    ...section('webhook'),
    '',
    'Settings cdk8s-audit checks the flags against:',
    line('--kubernetes-version V', `version whose defaults and rules apply (default ${DEFAULT_KUBERNETES_VERSION})`),
    line('--preset NAME[,NAME]', `start from a compliance preset's flags and retention (${PRESET_NAMES.join(', ')}); options override it`),
    line('--webhook', "with --preset: also turn on the preset's webhook backend"),
    line('--retention-precedence minimum|maximum', 'with --preset gdpr and a preset with a longer minimum (pci-dss, hipaa…): which retention wins'),
    line('--retention-days N', 'days of log files that must stay on the node'),
    line('--expected-mib-per-day N', 'audit log volume per day, for the retention check'),
    line('--expected-events-per-second N', 'peak event rate, for the batch throttling check'),
    line('--sink-max-body-bytes N', "the webhook sink's request body limit, for the truncation check"),
  ].join('\n');
}

function numberOption(args: ParsedArgs, name: string, problems: string[]): number | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v)) {
    problems.push(`--${name}: ${JSON.stringify(text)} is not a number; give e.g. --${name} 90`);
    return undefined;
  }
  return v;
}

function versionOption(args: ParsedArgs): string {
  const version = stringOption(args, 'kubernetes-version');
  try {
    return parseKubernetesVersion(version).text;
  } catch (e) {
    throw new UsageError(`--${(e as Error).message}`);
  }
}

/**
 * Builds the ApiserverAudit from the command line: preset flags, then the flag options, then the
 * checked settings. Bad values exit 1 naming the option, the value, the rule and the fix.
 */
export function auditFromArgs(args: ParsedArgs): ApiserverAudit {
  const kubernetesVersion = versionOption(args);
  const problems: string[] = [];
  const values: Record<string, FlagValue> = {};
  const log: Record<string, unknown> = {};
  const webhook: Record<string, unknown> = {};

  const presetName = stringOption(args, 'preset');
  if (presetName !== undefined) {
    let preset;
    const precedence = stringOption(args, 'retention-precedence') === undefined ? undefined
      : choiceOption(args, 'retention-precedence', Object.values(RetentionPrecedence), RetentionPrecedence.MINIMUM);
    try {
      preset = getPreset(presetName, precedence === undefined ? {} : { retentionPrecedence: precedence });
    } catch (e) {
      // Presets that conflict (gdpr with pci-dss) are input that breaks a rule, as in 'cdk8s-audit preset'; unknown names stay usage errors.
      throw new (e instanceof PresetConflictError ? InputError : UsageError)(`--preset: ${(e as Error).message}`);
    }
    Object.assign(values, preset.logFlags);
    if (booleanOption(args, 'webhook')) Object.assign(values, preset.webhookFlags);
    log.retentionPeriod = Duration.days(preset.retention.onlineDays);
  } else if (booleanOption(args, 'webhook')) {
    throw new UsageError('--webhook only selects the webhook flags of a --preset; without a preset set --webhook-config-file');
  }
  for (const spec of FLAG_SPECS) {
    const text = stringOption(args, spec.cliName);
    if (text === undefined) continue;
    const parsed = parseFlagText(spec, text);
    if ('problem' in parsed) problems.push(parsed.problem.replace(`--${spec.name}:`, `--${spec.cliName} (--${spec.name}):`));
    else values[spec.name] = parsed.value;
  }
  // The props take a Duration and Sizes, which cannot be negative: the options are checked here.
  const retention = numberOption(args, 'retention-days', problems);
  if (retention !== undefined && !(retention > 0)) problems.push(`--retention-days: ${retention} is not a number of days > 0; give e.g. --retention-days 90`);
  else if (retention !== undefined) log.retentionPeriod = Duration.days(retention);
  const volume = numberOption(args, 'expected-mib-per-day', problems);
  if (volume !== undefined && !(volume > 0)) problems.push(`--expected-mib-per-day: ${volume} is not a volume; give MiB per day > 0, e.g. --expected-mib-per-day 20`);
  else if (volume !== undefined) log.expectedVolumePerDay = Size.mebibytes(volume);
  const rate = numberOption(args, 'expected-events-per-second', problems);
  const limit = numberOption(args, 'sink-max-body-bytes', problems);
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) problems.push(`--sink-max-body-bytes: ${limit} is not a size; give whole bytes > 0, e.g. --sink-max-body-bytes 16777216`);
  else if (limit !== undefined) webhook.sinkMaxBody = sizeFromBytes(limit);
  if (problems.length) throw new InputError(formatProblems(problems));

  const hasLog = Object.keys(values).some((n) => n.startsWith('audit-log-'));
  const hasWebhook = Object.keys(values).some((n) => n.startsWith('audit-webhook-'));
  if (!hasLog && !hasWebhook) {
    throw new UsageError('no backend: give --log-path (log file) and/or --webhook-config-file (remote sink), or --preset NAME');
  }
  if (rate !== undefined) {
    if (hasLog) log.expectedEventsPerSecond = rate;
    if (hasWebhook) webhook.expectedEventsPerSecond = rate;
  }
  if (!hasWebhook && webhook.sinkMaxBody !== undefined) {
    throw new UsageError('--sink-max-body-bytes applies to the webhook backend; set --webhook-config-file too');
  }
  try {
    return ApiserverAudit.fromFlags(values, {
      kubernetesVersion: KubernetesVersion.of(kubernetesVersion),
      log: hasLog ? (log as LogBackendProps) : undefined,
      webhook: hasWebhook ? (webhook as WebhookBackendProps) : undefined,
    });
  } catch (e) {
    if (e instanceof AuditConfigError) throw new InputError(formatProblems(e.problems.map(cliProblem)));
    throw e;
  }
}

const EXTRA_PROP_OPTIONS: Record<string, string> = {
  retentionPeriod: '--retention-days',
  expectedVolumePerDay: '--expected-mib-per-day',
  expectedEventsPerSecond: '--expected-events-per-second',
  sinkMaxBody: '--sink-max-body-bytes',
};

/**
 * Rewrites the prop names that start core messages into the CLI's option names:
 * `log.maxAge (--audit-log-maxage): …` → `--log-maxage (--audit-log-maxage): …`; the props' `Duration.days(30)`,
 * `Size.mebibytes(100)` and `Size.kibibytes(40)` become the options' plain days, MiB and bytes.
 */
export function cliProblem(problem: string): string {
  let text = problem
    .replace(/^(?:(?:log|webhook)\.)?[\w.]+ \(--audit-([a-z-]+)(?:=[^)]*)?[,)]/, (m, flag: string) => (m.includes(',') ? m : `--${flag} (--audit-${flag})`))
    .replace(/^(?:(?:log|webhook)\.)?(retentionPeriod|expectedVolumePerDay|expectedEventsPerSecond|sinkMaxBody)\b/, (_m, prop: string) => EXTRA_PROP_OPTIONS[prop])
    .replace(/\b(?:Duration\.days|Size\.mebibytes)\((\d+)\)/g, '$1')
    .replace(/\bSize\.kibibytes\((\d+)\)/g, (_m, kib: string) => String(Number(kib) * 1024));
  // Props named in the rest of the message (the fix): camelCase or dotted ones only, so plain words stay.
  const group = /--audit-(log|webhook)-/.exec(text)?.[1] ?? /^(log|webhook)\./.exec(problem)?.[1];
  if (group) {
    for (const spec of FLAG_SPECS) {
      if (spec.group !== group || !spec.prop || !/[A-Z.]/.test(spec.prop)) continue;
      text = text.replace(new RegExp(`(?<![\\w.-])${spec.prop.replace(/\./g, '\\.')}(?![\\w.])`, 'g'), `--${spec.cliName}`);
    }
  }
  for (const [prop, option] of Object.entries(EXTRA_PROP_OPTIONS)) text = text.replace(new RegExp(`(?<![\\w.-])${prop}\\b`, 'g'), option);
  return text;
}

/**
 * Every prop of LogBackendProps/WebhookBackendProps → the option that sets it, for messages that name
 * props anywhere (warnings, fixes): `log.batch.maxSize` and, where only one backend has the prop,
 * `maxBackups` alone.
 */
export const AUDIT_FIELD_FLAGS: FieldFlags = (() => {
  const map: Record<string, string> = {};
  const groupsOf = new Map<string, number>();
  for (const spec of FLAG_SPECS) if (spec.prop) groupsOf.set(spec.prop, (groupsOf.get(spec.prop) ?? 0) + 1);
  for (const spec of FLAG_SPECS) {
    if (!spec.prop) continue;
    if (spec.group === 'log' || spec.group === 'webhook') map[`${spec.group}.${spec.prop}`] = `--${spec.cliName}`;
    if (groupsOf.get(spec.prop) === 1 && /[A-Z.]/.test(spec.prop)) map[spec.prop] = `--${spec.cliName}`;
  }
  return { ...map, ...EXTRA_PROP_OPTIONS };
})();

/** The CLI's problem list: the one formatter constructs and the sink server use too. */
export const formatProblems = formatProblemList;

export function writeWarnings(io: CommandIO, warnings: readonly string[]): void {
  for (const w of warnings) write(io.stderr, `warning: ${nameFlags(cliProblem(w), AUDIT_FIELD_FLAGS)}`);
}

/** Writes text to a file (relative to the command's cwd), creating its directory; I/O errors become InputError. */
export function writeOutput(path: string, text: string, io: CommandIO, mode = 0o644): string {
  const full = resolve(io.cwd, path);
  try {
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, text.endsWith('\n') ? text : text + '\n', { mode });
    chmodSync(full, mode);
  } catch (e) {
    throw new InputError(`cannot write ${path}: ${(e as Error).message}`);
  }
  return full;
}

export const flagsCommand: Command = {
  name: 'flags',
  summary: 'render and check the kube-apiserver audit flags (log and webhook backends)',
  help: `Usage: cdk8s-audit flags [options]
       cdk8s-audit flags --docs [--out FILE]

Builds the kube-apiserver's audit flags from the options below, checks them with the apiserver's own
start-up rules (AuditOptions.Validate) for the chosen Kubernetes version plus cdk8s-audit's checks
(retention, throttling, sink body limit, paths), and prints them. Only flags that differ from the
version's defaults are printed, plus the paths and the log rotation trio.

${auditOptionsHelp()}

Output:
  --format args|json|yaml|patch                  args: one --flag=value a line (default); json: {"args": [...]};
                                                 patch: RFC 6902 JSON patch for the kube-apiserver static pod
  --manifest FILE                                with --format patch: the current static pod manifest, so existing
                                                 flags and volumes are replaced rather than appended
  --docs                                         print the flag reference (Markdown) instead
  --out FILE                                     with --docs: write the reference to FILE (e.g. docs/flags.md)
  -h, --help                                     show this help

Exit codes: 0 ok, 1 a value breaks a rule (the message names the flag, the value, the rule and the fix), 2 usage error.

Examples:
  cdk8s-audit flags --format json --log-path /var/log/kubernetes/audit/audit.log --log-maxage 30 --log-maxbackup 10 --log-maxsize 100
  cdk8s-audit flags --webhook-config-file /etc/kubernetes/audit-webhook/kubeconfig.yaml --webhook-batch-max-wait 5s
  cdk8s-audit flags --preset pci-dss --kubernetes-version 1.35 --format patch --manifest /etc/kubernetes/manifests/kube-apiserver.yaml`,
  fieldFlags: AUDIT_FIELD_FLAGS,
  options: {
    ...AUDIT_FLAG_OPTIONS,
    ...AUDIT_EXTRA_OPTIONS,
    format: { type: 'string' },
    manifest: { type: 'string' },
    docs: { type: 'boolean' },
    out: { type: 'string' },
  },
  async run(args, io) {
    if (args.positionals.length) throw new UsageError(`flags takes no arguments, got ${args.positionals.map((p) => JSON.stringify(p)).join(' ')}`);
    if (booleanOption(args, 'docs')) {
      const doc = renderFlagReference();
      const out = stringOption(args, 'out');
      if (out === undefined) write(io.stdout, doc);
      else write(io.stderr, `wrote ${writeOutput(out, doc, io)}`);
      return ExitCode.OK;
    }
    if (stringOption(args, 'out') !== undefined) throw new UsageError('--out is for --docs; redirect standard output to save the flags');
    const format = choiceOption(args, 'format', ['args', 'json', 'yaml', 'patch'] as const, 'args');
    const manifestPath = stringOption(args, 'manifest');
    if (manifestPath !== undefined && format !== 'patch') throw new UsageError('--manifest is for --format patch');
    const audit = auditFromArgs(args);
    writeWarnings(io, audit.warnings);
    const commandLine = audit.commandLine();
    switch (format) {
      case 'json':
        write(io.stdout, JSON.stringify({ args: commandLine }, null, 2));
        break;
      case 'yaml':
        write(io.stdout, stringify({ args: commandLine }));
        break;
      case 'patch': {
        let manifest: unknown;
        if (manifestPath !== undefined) {
          try {
            manifest = parseYaml(await readInput(manifestPath === '-' ? '-' : resolve(io.cwd, manifestPath), io.stdin, { maxBytes: POLICY_MAX_BYTES, what: 'a static pod manifest' }));
          } catch (e) {
            if (e instanceof InputError) throw e;
            throw new InputError(`${manifestPath}: not YAML (${(e as Error).message}); pass the kube-apiserver static pod manifest`);
          }
        }
        try {
          write(io.stdout, JSON.stringify(staticPodPatch(audit, { manifest }), null, 2));
        } catch (e) {
          if (e instanceof AuditConfigError) throw new InputError(`${manifestPath}: ${formatProblems(e.problems)}`);
          throw e;
        }
        break;
      }
      default:
        write(io.stdout, commandLine.join('\n'));
    }
    return ExitCode.OK;
  },
};
