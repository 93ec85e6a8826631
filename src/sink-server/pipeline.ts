/**
 * Everything `sink serve` runs behind the store: the Elasticsearch and Loki forwarders and the alert
 * rules, each a consumer of durable records with its own cursor (consumer.ts), and their metrics.
 * Built before the store opens (so configuration errors stop the start), started before the server
 * listens, stopped after it has drained.
 */
import { AlertLineWriter, AlertWebhook, RulesTarget } from './alerts';
import { Consumer, ConsumerTarget, targetId } from './consumer';
import { RecordFeed } from './feed';
import { DEFAULT_ES_INDEX, LokiLabelField } from '../sink-contract/forward-format';
import { HttpTarget, HttpTargetConfig } from './forward-http';
import { ElasticsearchOutput, LokiOutput, newOutputStats, OutputStats } from './forward-outputs';
import { Pseudonymizer, PseudonymizingTarget } from './forward-pseudonym';
import { Counter, GaugeVec, Logger, Registry } from './metrics';
import { AlertRulesDocument, DEFAULT_FIRST_SEEN_MAX_KEYS } from '../sink-contract/alert-rules';
import { RulesEngine } from './rules-engine';
import { PersistentFirstSeen } from './rules-state';

export interface ElasticsearchForwardConfig {
  readonly kind: 'elasticsearch';
  readonly http: HttpTargetConfig;
  /** @default 'k8s-audit-%Y.%m.%d' */
  readonly index?: string;
}

export interface LokiForwardConfig {
  readonly kind: 'loki';
  readonly http: HttpTargetConfig;
  readonly labelFields: readonly LokiLabelField[];
  readonly staticLabels: Readonly<Record<string, string>>;
  readonly tenant?: string;
}

export type ForwardConfig = ElasticsearchForwardConfig | LokiForwardConfig;

export interface PipelineOptions {
  readonly forwards: readonly ForwardConfig[];
  readonly batch?: { maxRecords?: number; maxBytes?: number; maxWaitMs?: number };
  readonly retry?: { initialMs?: number; maxMs?: number };
  /** Where forwarders without a cursor begin. @default 'oldest' */
  readonly forwardFrom?: 'oldest' | 'now';
  readonly rules?: {
    readonly doc: AlertRulesDocument;
    /** Alert JSON lines go here (stdout or a file). */
    readonly stream: NodeJS.WritableStream;
    readonly webhook?: HttpTargetConfig;
  };
  readonly log: Logger;
  /** Forward pseudonymized copies (user names, UIDs, source addresses as keyed hashes) with the HMAC key in this file. @default as stored */
  readonly pseudonymizeKeyFile?: string;
}

interface Running {
  readonly label: string;
  readonly consumer: Consumer;
  readonly stats?: OutputStats;
  readonly http?: HttpTarget;
  retries: number;
  lost: number;
}

/** The option prefix of an output, for error messages. */
const optionOf = (kind: string) => `--forward-${kind}`;

export class Pipeline {
  private readonly running: Running[] = [];
  private readonly pending: { label: string; id: string; target: ConsumerTarget; stats?: OutputStats; http?: HttpTarget; startAt: 'oldest' | 'now'; batch?: PipelineOptions['batch'] }[] = [];
  private webhook: AlertWebhook | undefined;
  private rulesTarget: RulesTarget | undefined;
  private memory: PersistentFirstSeen | undefined;
  private alertsTotal: Counter | undefined;

  /** Builds the outputs (reads TLS files, checks credential files); throws HttpTargetError naming the option. */
  constructor(private readonly options: PipelineOptions) {
    const pseudonymizer = options.pseudonymizeKeyFile ? Pseudonymizer.fromFile(options.pseudonymizeKeyFile) : undefined;
    for (const f of options.forwards) {
      const http = new HttpTarget(optionOf(f.kind), f.http);
      const stats = newOutputStats();
      const output = f.kind === 'elasticsearch' ? new ElasticsearchOutput(http, f.index ?? DEFAULT_ES_INDEX, options.log, stats) : new LokiOutput(http, { labelFields: f.labelFields, staticLabels: f.staticLabels, tenant: f.tenant }, options.log, stats);
      const target = pseudonymizer ? new PseudonymizingTarget(output, pseudonymizer) : output;
      this.pending.push({ label: f.kind, id: targetId(`forward-${f.kind}`, http.safeUrl), target, stats, http, startAt: options.forwardFrom ?? 'oldest', batch: options.batch });
    }
    if (options.rules?.webhook) this.webhook = new AlertWebhook(new HttpTarget('--alerts-webhook', options.rules.webhook), options.log);
  }

  /** Adds the metrics to the sink's registry (call once, before start). */
  registerMetrics(m: Registry): void {
    const outputs = () => this.running.filter((r) => r.stats);
    const sample = (f: (r: Running) => number) => () => outputs().map((r) => ({ labels: { output: r.label }, value: f(r) }));
    if (this.pending.some((p) => p.stats)) {
      m.add(new GaugeVec('audit_sink_forward_events_total', 'Events the destination holds (created, or found present on a retry).', sample((r) => r.stats!.delivered), 'counter'));
      m.add(new GaugeVec('audit_sink_forward_duplicate_events_total', 'Documents the destination already had when sent again (Elasticsearch 409 on create), over all attempts.', sample((r) => r.stats!.existing), 'counter'));
      m.add(new GaugeVec('audit_sink_forward_refused_events_total', 'Events the destination refused for good (they stay in the local store).', sample((r) => r.stats!.refused), 'counter'));
      m.add(new GaugeVec('audit_sink_forward_retries_total', 'Failed delivery attempts (the batch is retried with backoff).', sample((r) => r.retries), 'counter'));
      m.add(new GaugeVec('audit_sink_forward_lost_events_total', 'Events retention deleted before they were forwarded.', sample((r) => r.lost), 'counter'));
      m.add(
        new GaugeVec(
          'audit_sink_forward_requests_total',
          'Requests to the destination by HTTP status ("error": no answer).',
          () => outputs().flatMap((r) => [...r.stats!.requests].map(([code, value]) => ({ labels: { output: r.label, code }, value }))),
          'counter',
        ),
      );
      m.add(new GaugeVec('audit_sink_forward_lag_events', 'Durable events not yet forwarded.', sample((r) => r.consumer.lag)));
      m.add(new GaugeVec('audit_sink_forward_cursor', 'Sequence number of the last event forwarded.', sample((r) => r.consumer.cursor)));
      m.add(new GaugeVec('audit_sink_forward_last_success_timestamp_seconds', 'When the last batch was delivered (0: never since start).', sample((r) => Math.floor(r.consumer.lastSuccessMs / 1000))));
    }
    if (this.options.rules) {
      const names = this.options.rules.doc.rules.map((r) => r.name);
      this.alertsTotal = m.add(new Counter('audit_sink_alerts_total', 'Alerts raised by the alert rules (--rules).', names.map((rule) => ({ rule }))));
      const rulesRunning = () => this.running.find((r) => r.label === 'rules');
      m.add(new GaugeVec('audit_sink_rules_evaluated_events_total', 'Events the alert rules evaluated.', () => [{ labels: {}, value: this.rulesTarget?.evaluated ?? 0 }], 'counter'));
      m.add(new GaugeVec('audit_sink_rules_lag_events', 'Durable events the alert rules have not evaluated yet.', () => [{ labels: {}, value: rulesRunning()?.consumer.lag ?? 0 }]));
      m.add(new GaugeVec('audit_sink_rules_cursor', 'Sequence number of the last event the alert rules evaluated.', () => [{ labels: {}, value: rulesRunning()?.consumer.cursor ?? 0 }]));
      m.add(new GaugeVec('audit_sink_rules_rate_keys', 'Keys whose windows rate rules keep.', () => names.filter((n) => this.options.rules!.doc.rules.find((r) => r.name === n)?.type === 'rate').map((rule) => ({ labels: { rule }, value: this.memory?.rates.size(rule) ?? 0 }))));
      m.add(new GaugeVec('audit_sink_rules_first_seen_keys', 'Keys remembered by first-seen rules.', () => names.filter((n) => this.options.rules!.doc.rules.find((r) => r.name === n)?.type === 'first-seen').map((rule) => ({ labels: { rule }, value: this.memory?.size(rule) ?? 0 }))));
      if (this.webhook) {
        const w = this.webhook;
        m.add(new GaugeVec('audit_sink_alert_webhook_sent_total', 'Alerts the webhook accepted.', () => [{ labels: {}, value: w.sent }], 'counter'));
        m.add(new GaugeVec('audit_sink_alert_webhook_dropped_total', 'Alerts not delivered to the webhook (queue full, refused, attempts exhausted).', () => [{ labels: {}, value: w.dropped }], 'counter'));
        m.add(new GaugeVec('audit_sink_alert_webhook_failed_attempts_total', 'Failed webhook attempts (retried).', () => [{ labels: {}, value: w.failedAttempts }], 'counter'));
      }
    }
  }

  /** Loads cursors and state, starts every consumer. */
  async start(feed: RecordFeed, storeDir: string): Promise<void> {
    const log = this.options.log;
    const rules = this.options.rules;
    const pending = [...this.pending];
    if (rules) {
      const byName = new Map(rules.doc.rules.map((r) => [r.name, r]));
      this.memory = new PersistentFirstSeen(storeDir, (rule) => byName.get(rule)?.maxKeys ?? DEFAULT_FIRST_SEEN_MAX_KEYS, [...byName.keys()]);
      const engine = new RulesEngine(rules.doc, this.memory);
      this.alertsTotal ??= new Counter('audit_sink_alerts_total', 'unregistered', []);
      this.rulesTarget = new RulesTarget(engine, this.memory, new AlertLineWriter(rules.stream), this.alertsTotal, log, this.webhook);
      // Alerts are about what arrives from now on; a store that existed before the rules is not replayed.
      pending.unshift({ label: 'rules', id: 'rules', target: this.rulesTarget, startAt: 'now', batch: { maxRecords: 1000, maxBytes: 8 * 1024 * 1024, maxWaitMs: 0 } });
    }
    for (const p of pending) {
      const r: Running = {
        label: p.label,
        stats: p.stats,
        http: p.http,
        retries: 0,
        lost: 0,
        consumer: undefined as unknown as Consumer,
      };
      (r as { consumer: Consumer }).consumer = new Consumer({
        id: p.id,
        label: p.label,
        feed,
        storeDir,
        target: p.target,
        batch: p.batch,
        retry: this.options.retry,
        startAt: p.startAt,
        log,
        onRetry: () => r.retries++,
        onLost: (n) => (r.lost += n),
      });
      this.running.push(r);
    }
    // The first-seen keys must match the rules cursor: load them after the cursor is known.
    for (const r of this.running) {
      if (r.label === 'rules') {
        await r.consumer.start(async (cursor) => {
          const loaded = await this.memory!.load(cursor);
          log.info('alert rules loaded', { rules: rules!.doc.rules.length, firstSeenKeys: loaded, cursor });
        });
      } else {
        await r.consumer.start();
        log.info('forwarding', { output: r.label, url: r.http?.safeUrl, cursor: r.consumer.cursor });
      }
    }
  }

  /** After the server drained: the rules evaluate everything stored, forwarders catch up, each within `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    await Promise.all(this.running.map((r) => r.consumer.stop(timeoutMs, true)));
    await this.webhook?.stop(timeoutMs);
    for (const r of this.running) r.http?.close();
  }
}
