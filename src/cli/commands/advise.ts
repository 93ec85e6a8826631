import { Command, ExitCode, FieldFlags, InputError, ParsedArgs, UsageError, choiceOption, nameFlags, stringOption } from '../command';
import { write } from '../io';
import {
  AdvisorFinding,
  AdvisorStep,
  BatchingAdvisorInput,
  BatchingCheck,
  MODEL_SOURCES,
  SETTING_NAMES,
  adviseBatching,
  checkBatching,
  num,
  settingFlag,
  settingsFromFlagValues,
  settingsToFlags,
} from '../../backends/advisor';
import { AuditConfigError } from '../../backends/errors';
import { FlagValue, getFlag } from '../../backends/flag-table';
import { parseFlagText } from '../../backends/flags';
import { parseKubernetesVersion } from '../../core/kubernetes-version';
import { parseDuration, parseSize } from '../../core/units';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_IN_FLIGHT } from '../../sink-server/server';

/** Value hint and one line of help per setting option. */
const SETTING_HELP: Record<string, [string, string]> = {
  'audit-webhook-initial-backoff': ['DURATION', 'first retry wait (default 10s)'],
  'audit-webhook-mode': ['batch|blocking|blocking-strict', '(default batch)'],
  'audit-webhook-batch-buffer-size': ['N', 'events buffered (default 10000)'],
  'audit-webhook-batch-max-size': ['N', 'events per batch (default 400)'],
  'audit-webhook-batch-max-wait': ['DURATION', 'a partial batch leaves after this (default 30s)'],
  'audit-webhook-batch-throttle-enable': ['true|false', '(default true)'],
  'audit-webhook-batch-throttle-qps': ['N', 'batches per second (default 10)'],
  'audit-webhook-batch-throttle-burst': ['N', 'batches at once after a quiet time (default 15)'],
  'audit-webhook-truncate-enabled': ['true|false', '(default false)'],
  'audit-webhook-truncate-max-batch-size': ['BYTES', 'never splits a webhook batch (above) (default 10485760)'],
  'audit-webhook-truncate-max-event-size': ['BYTES', 'larger events lose bodies (default 102400)'],
};

/** The webhook settings `advise` can check, as `--webhook-…` options (the names `flags` uses). */
const SETTING_OPTIONS = SETTING_NAMES.map((name) => getFlag(settingFlag(name)));

export const adviseCommand: Command = {
  name: 'advise',
  summary: 'webhook batching settings (buffer, batch, throttle, truncate) that do not drop under a load, with the arithmetic',
  help: `Usage: cdk8s-audit advise --rps N --sink-latency DURATION [load and sink options] [--format text|json|flags]
       cdk8s-audit advise --rps N --sink-latency DURATION --webhook-batch-… VALUE …   (check given settings)

Computes kube-apiserver webhook audit settings from the load and the sink, each number with its formula
and inputs, by the apiserver's own batching model (k8s.io/apiserver plugin/pkg/audit/buffered): events
wait in a buffer of --audit-webhook-batch-buffer-size and are dropped when it is full ("audit buffer queue
blocked", apiserver_audit_error_total{plugin="buffered"}); ONE goroutine takes up to batch-max-size events
per batch and waits for a throttle token per batch, so it drains qps × max-size events/s; each batch is
POSTed from its own goroutine (in parallel, so the sink's latency does not slow the drain but holds one
sink slot per batch); a failed POST is retried 5 times, then dropped (plugin="webhook"). Truncation runs
before the buffer, one event at a time: a POST is up to max-size × truncate-max-event-size bytes, and
--audit-webhook-truncate-max-batch-size never splits it.

With any --webhook-… setting option it checks those settings instead (the others at their defaults)
and says whether they drop under the load, and what to change.

Load:
  --rps N                       average requests per second (required)
  --events-per-request N        audit events per request (default 1: RequestReceived omitted; 2 if not)
  --peak-rps N                  requests per second during a burst (the total)
  --burst-duration DURATION     how long the burst lasts, e.g. 60s (required with --peak-rps)
  --event-size SIZE             average event size (default 2Ki)
  --largest-event SIZE          largest event to deliver whole; larger ones lose bodies (default 100Ki)
Sink:
  --sink-latency DURATION       time the sink takes per batch, a high percentile, e.g. 200ms (required)
  --sink-max-in-flight N        requests the sink takes at once (default ${DEFAULT_MAX_IN_FLIGHT}: cdk8s-audit's
                                sink, sink serve --max-in-flight; give another sink's limit, or unlimited)
  --sink-max-body SIZE          largest request body the sink accepts (default ${DEFAULT_MAX_BODY_BYTES / 1024 / 1024}Mi: cdk8s-audit's
                                sink, sink serve --max-body-bytes; or unlimited)
  --sink-outage DURATION        longest sink outage that must not lose events (sets the retry backoff)
Advice:
  --headroom X                  capacity ≥ X × the need (default 2)
  --max-delay DURATION          longest a quiet-time event waits for its batch (default 30s)
  --kubernetes-version V        the apiserver version (default the newest supported)
Settings to check (each the kube-apiserver flag --audit-<name>):
${SETTING_OPTIONS.map((f) => `  ${`--${f.cliName} ${SETTING_HELP[f.name][0]}`.padEnd(46)}${SETTING_HELP[f.name][1]}`).join('\n')}
Output:
  --format text|json|flags      text with the arithmetic (default), JSON, or only the flags
  -h, --help                    show this help

Sizes: bytes or a number with Ki, Mi, Gi (16Mi). Durations: 500ms, 30s, 2m.
Exit codes: 0 no drops under the load, 1 the settings drop events (or no settings can carry the load, or
an input is invalid; the message names the input, the value and the fix), 2 usage error.

Examples:
  cdk8s-audit advise --rps 200 --peak-rps 2000 --burst-duration 60s --sink-latency 200ms --sink-max-in-flight 8
  cdk8s-audit advise --rps 200 --peak-rps 2000 --burst-duration 60s --sink-latency 200ms --format flags
  cdk8s-audit advise --rps 200 --peak-rps 8000 --burst-duration 60s --sink-latency 200ms --webhook-batch-buffer-size 10000`,
  options: {
    rps: { type: 'string' },
    'events-per-request': { type: 'string' },
    'peak-rps': { type: 'string' },
    'burst-duration': { type: 'string' },
    'event-size': { type: 'string' },
    'largest-event': { type: 'string' },
    'sink-latency': { type: 'string' },
    'sink-max-in-flight': { type: 'string' },
    'sink-max-body': { type: 'string' },
    'sink-outage': { type: 'string' },
    headroom: { type: 'string' },
    'max-delay': { type: 'string' },
    'kubernetes-version': { type: 'string' },
    format: { type: 'string' },
    ...Object.fromEntries(SETTING_OPTIONS.map((f) => [f.cliName!, { type: 'string' as const }])),
  },
  async run(args, io) {
    if (args.positionals.length) throw new UsageError(`advise takes no arguments, got ${args.positionals.map((p) => JSON.stringify(p)).join(' ')}`);
    const format = choiceOption(args, 'format', ['text', 'json', 'flags'] as const, 'text');
    if (stringOption(args, 'rps') === undefined) throw new UsageError('advise needs --rps N, the average requests per second, e.g. --rps 200');
    if (stringOption(args, 'sink-latency') === undefined) throw new UsageError("advise needs --sink-latency DURATION, the sink's time per batch, e.g. --sink-latency 200ms");
    let version: string;
    try {
      version = parseKubernetesVersion(stringOption(args, 'kubernetes-version')).text;
    } catch (e) {
      throw new UsageError(`--${(e as Error).message}`);
    }
    const problems: string[] = [];
    const input = inputFromArgs(args, problems, version);
    const given = settingValuesFromArgs(args, problems);
    if (problems.length) throw new InputError(problems.join('\n'));

    let result: BatchingCheck & { flags?: readonly string[] };
    const checking = Object.keys(given).length > 0;
    try {
      if (checking) {
        const settings = settingsFromFlagValues(given, version);
        result = { ...checkBatching(settings, input), flags: settingsToFlags(settings, version) };
      } else {
        result = adviseBatching(input);
      }
    } catch (e) {
      if (e instanceof AuditConfigError) throw new InputError(e.problems.map((p) => optionNames(p)).join('\n'));
      throw e;
    }
    const flags = result.flags ?? settingsToFlags(result.settings, version);
    if (format === 'flags') write(io.stdout, flags.join('\n'));
    else if (format === 'json') write(io.stdout, JSON.stringify(toJson(result, flags, checking, input), (_k, v) => (v === Infinity ? null : v), 2));
    else write(io.stdout, renderText(result, flags, checking, version));
    if (result.drops) {
      if (format !== 'text') for (const f of result.findings.filter((x) => x.severity === 'drop')) write(io.stderr, `cdk8s-audit: ${optionNames(f.message)}`);
      return ExitCode.FINDING;
    }
    return ExitCode.OK;
  },
};

/** Input field names in messages → the options that set them. */
const OPTION_OF: Record<string, string> = {
  'load.requestsPerSecond': '--rps',
  'load.eventsPerRequest': '--events-per-request',
  'load.peakRequestsPerSecond': '--peak-rps',
  'load.burstSeconds': '--burst-duration',
  'load.eventSizeBytes': '--event-size',
  'load.largestEventBytes': '--largest-event',
  'sink.latencySeconds': '--sink-latency',
  'sink.maxInFlight': '--sink-max-in-flight',
  'sink.maxBodyBytes': '--sink-max-body',
  'sink.outageSeconds': '--sink-outage',
  headroom: '--headroom',
  maxDelaySeconds: '--max-delay',
};

/**
 * The advisor's field names → this verb's options, dotted (`load.burstSeconds`) and bare where the
 * message names a field alone (`peakRequestsPerSecond 0 is given`), plus the settings' props.
 */
const ADVISE_FIELD_FLAGS: FieldFlags = Object.fromEntries([
  ...Object.entries(OPTION_OF).flatMap(([field, option]) => [[field, option], [field.split('.').pop()!, option]]),
  ...SETTING_OPTIONS.filter((spec) => spec.prop).flatMap((spec) => [[spec.prop!, `--${spec.cliName}`], [spec.prop!.split('.').pop()!, `--${spec.cliName}`]]),
  ['batch.throttle', '--webhook-batch-throttle-qps/-burst'],
]);

/** `load.burstSeconds: …` → `--burst-duration: …`: the user wrote options, not the advisor's fields. */
function optionNames(message: string): string {
  return nameFlags(message, ADVISE_FIELD_FLAGS);
}

function inputFromArgs(args: ParsedArgs, problems: string[], kubernetesVersion: string): BatchingAdvisorInput {
  const number = (name: string): number | undefined => {
    const text = stringOption(args, name);
    if (text === undefined) return undefined;
    const v = Number(text);
    if (text.trim() === '' || !Number.isFinite(v)) {
      problems.push(`--${name}: ${JSON.stringify(text)} is not a number; give e.g. --${name} ${name === 'headroom' ? 2 : 100}`);
      return undefined;
    }
    return v;
  };
  const seconds = (name: string): number | undefined => {
    const text = stringOption(args, name);
    if (text === undefined) return undefined;
    try {
      return parseDuration(`--${name}`, text) / 1000;
    } catch (e) {
      problems.push((e as Error).message);
      return undefined;
    }
  };
  const size = (name: string): number | undefined => {
    const text = stringOption(args, name);
    if (text === undefined) return undefined;
    try {
      return parseSize(`--${name}`, text);
    } catch (e) {
      problems.push((e as Error).message);
      return undefined;
    }
  };
  // "unlimited" describes a sink without that limit; no option means cdk8s-audit's own sink.
  const sinkLimit = (name: string, parse: (n: string) => number | undefined, ours: number): number | undefined =>
    stringOption(args, name) === 'unlimited' ? undefined : parse(name) ?? ours;
  const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  return {
    kubernetesVersion,
    headroom: number('headroom'),
    maxDelaySeconds: seconds('max-delay'),
    load: defined({
      requestsPerSecond: number('rps') ?? 0,
      eventsPerRequest: number('events-per-request'),
      peakRequestsPerSecond: number('peak-rps'),
      burstSeconds: seconds('burst-duration'),
      eventSizeBytes: size('event-size'),
      largestEventBytes: size('largest-event'),
    }),
    sink: defined({
      latencySeconds: seconds('sink-latency') ?? 0,
      // cdk8s-audit's own sink unless told otherwise: the scaffold deploys it, and advice that ignores its
      // limits would send more POSTs, or bigger ones, than it accepts.
      maxInFlight: sinkLimit('sink-max-in-flight', number, DEFAULT_MAX_IN_FLIGHT),
      maxBodyBytes: sinkLimit('sink-max-body', size, DEFAULT_MAX_BODY_BYTES),
      outageSeconds: seconds('sink-outage'),
    }),
  };
}

function settingValuesFromArgs(args: ParsedArgs, problems: string[]): Record<string, FlagValue> {
  const out: Record<string, FlagValue> = {};
  for (const spec of SETTING_OPTIONS) {
    const text = stringOption(args, spec.cliName!);
    if (text === undefined) continue;
    const parsed = parseFlagText(spec, text);
    if ('problem' in parsed) problems.push(parsed.problem.replace(`--${spec.name}:`, `--${spec.cliName} (--${spec.name}):`));
    else out[spec.name] = parsed.value;
  }
  return out;
}

function toJson(result: BatchingCheck, flags: readonly string[], checking: boolean, input: BatchingAdvisorInput): object {
  return {
    kind: checking ? 'check' : 'advice',
    kubernetesVersion: input.kubernetesVersion,
    input: { load: input.load, sink: input.sink, headroom: input.headroom ?? 2, maxDelaySeconds: input.maxDelaySeconds },
    drops: result.drops,
    settings: result.settings,
    flags,
    capacity: result.capacity,
    steps: result.steps,
    findings: result.findings.map((f) => ({ ...f, message: optionNames(f.message) })),
    sources: MODEL_SOURCES,
  };
}

function stepLine(s: AdvisorStep): string {
  const value = typeof s.value === 'number' ? num(s.value) : String(s.value);
  const head = s.flag ? `${s.name} = ${value} ${s.unit}  (--${s.flag})` : `${s.name} = ${value} ${s.unit}`;
  const lines = [`  ${head}`, `      ${s.formula}`, `      = ${s.arithmetic}`, `      ${s.why}${s.source ? `  [${s.source}]` : ''}`];
  return lines.join('\n');
}

function findingLine(f: AdvisorFinding): string {
  const tag = f.severity === 'drop' ? 'DROP   ' : f.severity === 'warning' ? 'warning' : 'info   ';
  return `  ${tag} ${optionNames(f.message)}`;
}

function renderText(result: BatchingCheck, flags: readonly string[], checking: boolean, version: string): string {
  const settingSteps = result.steps.filter((s) => s.flag);
  const capacitySteps = result.steps.filter((s) => !s.flag);
  const used = new Set(result.steps.map((s) => s.source).filter((s): s is keyof typeof MODEL_SOURCES => s !== undefined));
  const out = [
    `${checking ? 'Check of webhook batching settings' : 'Webhook batching advice'} for kube-apiserver ${version} (batch mode, the k8s.io/apiserver buffered backend)`,
    '',
  ];
  if (settingSteps.length) out.push('Settings (each: formula, the arithmetic, why):', ...settingSteps.map(stepLine), '');
  out.push('Load and capacity:', ...capacitySteps.map(stepLine), '');
  out.push(checking ? 'Settings checked:' : 'Flags:', ...flags.map((f) => `  ${f}`), '');
  const findings = [...result.findings].sort((a, b) => rank(a) - rank(b));
  out.push('Findings:', ...(findings.length ? findings.map(findingLine) : ['  none']), '');
  out.push('Model (k8s.io/apiserver v0.37.2):', ...[...used].map((k) => `  [${k}] ${MODEL_SOURCES[k]}`), '');
  out.push(
    result.drops
      ? `Result: events are DROPPED under this load (exit 1)${checking ? '' : ': no settings carry it; change the sink as the findings say'}.`
      : `Result: no drops under this load (exit 0).`,
  );
  return out.join('\n');
}

function rank(f: AdvisorFinding): number {
  return f.severity === 'drop' ? 0 : f.severity === 'warning' ? 1 : 2;
}
