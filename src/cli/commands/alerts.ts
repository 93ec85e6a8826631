import { resolve } from 'node:path';
import { App, Chart, Duration } from 'cdk8s';
import { renderGoYaml } from '../../core/go-yaml';
import { Command, ExitCode, InputError, UsageError, booleanOption, choiceOption, stringOption } from '../command';
import { readInput, write } from '../io';
import { AuditAlerts } from '../../alerts/prometheus-rule';
import { AuditAlertOptions, renderPrometheusRuleFile, validateAlertOptions } from '../../alerts/rules';
import { sizeFromBytes } from '../../backends/prop-units';
import { parseDuration, parsePrometheusDuration, parseSize } from '../../core/units';
import { writeOutput } from './flags';

export const alertsCommand: Command = {
  name: 'alerts',
  summary: 'Prometheus alert rules for dropped and rejected audit events, webhook errors and the audit sink',
  help: `Usage: cdk8s-audit alerts [options]

Prints the audit alert rules as a Prometheus rule file (rule_files: in prometheus.yml) or as a
monitoring.coreos.com/v1 PrometheusRule for the Prometheus Operator. The rules, each with a severity,
summary, description and runbook:
  kube-apiserver: AuditEventsDroppedBufferFull, AuditWebhookDeliveryFailed, AuditEventsTooLargeDropped,
    AuditLogWriteFailed, AuditEventsDroppedOtherPlugin (apiserver_audit_error_total by plugin),
    AuditRequestsRejected, AuditEventsStopped, AuditApiserverMetricsAbsent; with --webhook-host also
    AuditWebhookRequestErrors and AuditWebhookSlow (client-go's rest_client_* for the sink's host);
    with --advice also AuditEventRateNearBatchCapacity.
  audit sink (cdk8s-audit sink serve): AuditSinkDown, AuditSinkOverloaded, AuditSinkCannotStore,
    AuditSinkRejectsBatches, AuditSinkTlsHandshakeFailures, AuditSinkFsyncSlow, AuditSinkQueueBacklog,
    AuditSinkDiskLow, AuditSinkDiskFillingUp, AuditSinkHeadWriteFailures.

Options:
  --format rules|prometheus-rule   rule file (default) or PrometheusRule manifest
  --apiserver-selector MATCHERS    series of the apiserver (default job="apiserver")
  --sink-selector MATCHERS         series of the sink (default job="audit-sink")
  --no-sink                        leave out the sink rules
  --webhook-host HOST:PORT         the sink's address in the webhook kubeconfig, e.g. 10.96.0.50:8443
  --advice FILE                    'cdk8s-audit advise --format json' output: the capacity rule and the
                                   sink latency threshold come from it
  --events-stopped-for DURATION    AuditEventsStopped after this long without events, a Prometheus duration (default 10m; 1h30m, 1w)
  --sink-disk-free-warning SIZE    AuditSinkDiskLow below this (default 1Gi)
  --sink-fsync-warning DURATION    AuditSinkFsyncSlow above this p99 (default 250ms)
  --sink-max-queue SIZE            the sink's --max-queue-bytes; warn at 75 % (default 64Mi)
  --runbook-url-base URL           add runbook_url annotations: URL#<alert name in lower case>
  --label KEY=VALUE                a label on every rule (repeatable)
  --name NAME                      PrometheusRule name (default cdk8s-audit-alerts)
  --namespace NS                   PrometheusRule namespace (default monitoring)
  --rule-label KEY=VALUE           a label on the PrometheusRule, for the Prometheus ruleSelector (repeatable)
  --out FILE                       write to FILE instead of standard output
  -h, --help                       show this help

Exit codes: 0 ok, 1 invalid input (the message names the option, the value and the fix), 2 usage error.

Examples:
  cdk8s-audit alerts --webhook-host 10.96.0.50:8443 > audit-alerts.rules.yaml
  cdk8s-audit advise --rps 200 --peak-rps 2000 --burst-duration 60s --sink-latency 200ms --format json > advice.json
  cdk8s-audit alerts --format prometheus-rule --advice advice.json --rule-label release=kube-prometheus-stack`,
  options: {
    format: { type: 'string' },
    'apiserver-selector': { type: 'string' },
    'sink-selector': { type: 'string' },
    'no-sink': { type: 'boolean' },
    'webhook-host': { type: 'string' },
    advice: { type: 'string' },
    'events-stopped-for': { type: 'string' },
    'sink-disk-free-warning': { type: 'string' },
    'sink-fsync-warning': { type: 'string' },
    'sink-max-queue': { type: 'string' },
    'runbook-url-base': { type: 'string' },
    label: { type: 'string', multiple: true },
    name: { type: 'string' },
    namespace: { type: 'string' },
    'rule-label': { type: 'string', multiple: true },
    out: { type: 'string' },
  },
  async run(args, io) {
    if (args.positionals.length) throw new UsageError(`alerts takes no arguments, got ${args.positionals.map((p) => JSON.stringify(p)).join(' ')}`);
    const format = choiceOption(args, 'format', ['rules', 'prometheus-rule'] as const, 'rules');
    const problems: string[] = [];
    const labels = (option: string): Record<string, string> => {
      const out: Record<string, string> = {};
      for (const kv of (args.values[option] as string[] | undefined) ?? []) {
        const i = kv.indexOf('=');
        if (i <= 0) problems.push(`--${option}: ${JSON.stringify(kv)} is not KEY=VALUE; write e.g. --${option} team=platform`);
        else out[kv.slice(0, i)] = kv.slice(i + 1);
      }
      return out;
    };
    const guarded = <T>(f: () => T): T | undefined => {
      try {
        return f();
      } catch (e) {
        problems.push((e as Error).message);
        return undefined;
      }
    };
    const text = (o: string) => stringOption(args, o);
    // Zero parses as a size or duration but is no threshold: refused here in the flag's own terms.
    const positive = (o: string, n: number): number | undefined => {
      if (n > 0) return n;
      problems.push(`--${o}: ${JSON.stringify(text(o))} is not above 0; write e.g. ${POSITIVE_EXAMPLE[o]}`);
      return undefined;
    };
    const size = (o: string) => {
      const n = text(o) === undefined ? undefined : guarded(() => positive(o, parseSize(`--${o}`, text(o)!)));
      return n === undefined ? undefined : sizeFromBytes(n);
    };
    const duration = (o: string) => {
      const t = text(o);
      if (t === undefined) return undefined;
      // --events-stopped-for becomes the rule's `for:`, so it is read in Prometheus's grammar (1w, 1h30m).
      const ms = o === 'events-stopped-for' ? parsePrometheusDuration(t) : guarded(() => parseDuration(`--${o}`, t));
      if (ms === undefined) {
        if (o === 'events-stopped-for') problems.push(`--${o}: ${JSON.stringify(t)} is not a Prometheus duration; write e.g. 10m, 1h30m or 1w`);
        return undefined;
      }
      const n = positive(o, ms);
      if (n !== undefined && !Number.isInteger(n)) {
        problems.push(`--${o}: ${JSON.stringify(text(o))} is not a whole number of milliseconds; write e.g. ${POSITIVE_EXAMPLE[o]}`);
        return undefined;
      }
      return n === undefined ? undefined : Duration.millis(n);
    };
    const options: AuditAlertOptions = {
      apiserverSelector: text('apiserver-selector'),
      sinkSelector: text('sink-selector'),
      sink: !booleanOption(args, 'no-sink'),
      webhookHost: text('webhook-host'),
      eventsStoppedFor: duration('events-stopped-for'),
      sinkDiskFreeWarning: size('sink-disk-free-warning'),
      sinkFsyncWarning: duration('sink-fsync-warning'),
      sinkMaxQueueSize: size('sink-max-queue'),
      runbookUrlBase: text('runbook-url-base'),
      extraLabels: labels('label'),
      advice: await readAdvice(text('advice'), io, problems),
    };
    const ruleLabels = labels('rule-label');
    problems.push(...validateAlertOptions(options).map(optionNames));
    if (problems.length) throw new InputError(problems.join('\n'));
    let output: string;
    try {
      if (format === 'rules') {
        output = renderPrometheusRuleFile(options);
      } else {
        const app = new App();
        const chart = new Chart(app, 'alerts');
        new AuditAlerts(chart, 'alerts', { ...options, name: text('name') ?? 'cdk8s-audit-alerts', namespace: text('namespace') ?? 'monitoring', labels: ruleLabels });
        output = renderGoYaml(chart.toJson()[0]); // kubectl (Go) reads it
      }
    } catch (e) {
      throw new InputError(optionNames((e as Error).message));
    }
    const out = text('out');
    if (out === undefined) write(io.stdout, output);
    else write(io.stderr, `wrote ${writeOutput(out, output, io)}`);
    return ExitCode.OK;
  },
};

const POSITIVE_EXAMPLE: Record<string, string> = {
  'events-stopped-for': '10m',
  'sink-fsync-warning': '250ms',
  'sink-max-queue': '64Mi',
  'sink-disk-free-warning': '1Gi',
};

const OPTION_OF: Record<string, string> = {
  apiserverSelector: '--apiserver-selector',
  sinkSelector: '--sink-selector',
  webhookHost: '--webhook-host',
  eventsStoppedFor: '--events-stopped-for',
  sinkDiskFreeWarning: '--sink-disk-free-warning',
  sinkFsyncWarning: '--sink-fsync-warning',
  sinkMaxQueueSize: '--sink-max-queue',
  extraLabels: '--label',
  name: '--name',
};

/** `apiserverSelector: …` → `--apiserver-selector: …` in messages. */
function optionNames(message: string): string {
  return message.replace(/\b([a-zA-Z]+):( |$)/g, (m, field: string, rest: string) => (OPTION_OF[field] ? `${OPTION_OF[field]}:${rest}` : m));
}

/** Reads `advise --format json` output: the settings, the capacity and the sink latency it assumed. */
async function readAdvice(path: string | undefined, io: { stdin: NodeJS.ReadableStream; cwd: string }, problems: string[]): Promise<AuditAlertOptions['advice']> {
  if (path === undefined) return undefined;
  let doc: { settings?: { throttleQps?: number; maxBatchSize?: number; bufferSize?: number }; capacity?: { drainEventsPerSecond?: number | null }; input?: { sink?: { latencySeconds?: number } } };
  try {
    doc = JSON.parse(await readInput(path === '-' ? '-' : resolve(io.cwd, path), io.stdin));
  } catch (e) {
    problems.push(`--advice: ${(e as Error).message.startsWith('cannot read') ? (e as Error).message : `${path} is not JSON`}; write it with 'cdk8s-audit advise … --format json > ${path}'`);
    return undefined;
  }
  const drain = doc.capacity?.drainEventsPerSecond;
  const latency = doc.input?.sink?.latencySeconds;
  if (!doc.settings || !doc.capacity || !(drain === null || (typeof drain === 'number' && drain > 0))) {
    problems.push(`--advice: ${path} has no settings and capacity.drainEventsPerSecond; write it with 'cdk8s-audit advise … --format json'`);
    return undefined;
  }
  return {
    settings: doc.settings as never,
    capacity: doc.capacity as never,
    // advise takes the latency in seconds; the rule's threshold keeps it to the millisecond.
    sinkLatency: typeof latency === 'number' && latency > 0 ? Duration.millis(Math.round(latency * 1000)) : undefined,
  };
}
