/**
 * The flag reference (docs/flags.md), generated from AUDIT_FLAGS so it cannot drift from what
 * cdk8s-audit renders and validates. Regenerate with `cdk8s-audit flags --docs --out docs/flags.md`.
 */
import { SUPPORTED_KUBERNETES_MINORS } from '../core/kubernetes-version';
import { AUDIT_FLAGS, AuditFlagSpec, FlagGroup, FlagType, flagDefault, formatFlagValue } from './flag-table';
import { ruleText } from './flags';
import { PropUnit } from './prop-units';

const GROUP_TITLES: Record<FlagGroup, string> = {
  global: 'Global',
  log: 'Log backend (on when `--audit-log-path` is set)',
  webhook: 'Webhook backend (on when `--audit-webhook-config-file` is set)',
};

const PROP_OWNER: Record<FlagGroup, string> = { global: 'ApiserverAuditProps', log: 'LogBackendProps', webhook: 'WebhookBackendProps' };

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function shown(spec: AuditFlagSpec, minor: number): string {
  const v = flagDefault(spec, minor);
  if (v === '') return '""';
  return `\`${formatFlagValue(spec, v)}\``;
}

/** Minor ranges over which the table's defaults are constant, e.g. [[30, 35], [36, 37]]. */
function defaultEras(): [number, number][] {
  const minors = [...SUPPORTED_KUBERNETES_MINORS];
  const eras: [number, number][] = [];
  for (const m of minors) {
    const last = eras[eras.length - 1];
    const same = last && AUDIT_FLAGS.every((f) => flagDefault(f, m) === flagDefault(f, last[0]));
    if (same) last[1] = m;
    else eras.push([m, m]);
  }
  return eras;
}

/** The Markdown reference of every kube-apiserver audit flag. */
export function renderFlagReference(): string {
  const eras = defaultEras();
  const eraTitle = ([a, b]: [number, number]) => (a === b ? `default 1.${a}` : `default 1.${a}–1.${b}`);
  const out: string[] = [
    '# kube-apiserver audit flags',
    '',
    '<!-- Generated from src/backends/flag-table.ts by `cdk8s-audit flags --docs --out docs/flags.md`. Do not edit by hand. -->',
    '',
    'Every audit flag of the kube-apiserver (k8s.io/apiserver `pkg/server/options/audit.go`), with its',
    'defaults per Kubernetes version and the rule the apiserver enforces at start-up. A backend\'s rules are',
    'checked only when that backend is on; the truncate sizes are checked even when truncation is off.',
    'cdk8s-audit renders a flag when it differs from the version\'s default, and always renders the paths',
    'and the log rotation trio (their defaults changed in 1.36, so writing them pins the behaviour).',
    '',
    `The CLI option of each flag drops the \`audit-\` prefix (\`--audit-log-maxage\` → \`cdk8s-audit flags --log-maxage\`);`,
    'the prop is the field of the construct props that sets it.',
  ];
  for (const group of ['global', 'log', 'webhook'] as const) {
    out.push('', `## ${GROUP_TITLES[group]}`, '');
    out.push(`| flag | type | ${eras.map(eraTitle).join(' | ')} | apiserver rule | prop (${PROP_OWNER[group]}) | description |`);
    out.push(`|---|---|${eras.map(() => '---|').join('')}---|---|---|`);
    for (const spec of AUDIT_FLAGS.filter((f) => f.group === group)) {
      const type = spec.type === FlagType.ENUM ? `enum: ${spec.choices!.join(' | ')}` : spec.unit ? `${spec.type} (${spec.unit})` : spec.type;
      const rules = spec.rules.map(ruleText).join('; ') || '—';
      const unit = spec.propUnit ? ` (${spec.propUnit === PropUnit.DAYS ? 'Duration' : 'Size'}, whole ${spec.propUnit})` : '';
      const prop = spec.prop ? `\`${spec.prop}\`${unit}` : spec.deprecatedAliasOf ? `(alias of \`--${spec.deprecatedAliasOf}\`)` : '—';
      out.push(`| \`--${spec.name}\` | ${cell(type)} | ${eras.map(([m]) => shown(spec, m)).join(' | ')} | ${cell(rules)} | ${prop} | ${cell(spec.doc)} |`);
    }
  }
  out.push(
    '',
    '## Checks cdk8s-audit adds',
    '',
    '- Flags of a backend that is off, a backend without `--audit-policy-file` (nothing is recorded), a policy without a backend, relative paths, a deprecated alias that disagrees with its flag.',
    '- Mounts: directories only (log rotation renames files), never `/`, `/etc`, `/etc/kubernetes`, `/var/log` and the like, and never a directory kubeadm already mounts; the policy and webhook directories read-only and apart from the read-write log directory.',
    '- Props in `Size` and `Duration` (`maxAge`, `maxSize`, `truncate.maxEventSize`, `truncate.maxBatchSize`) must be whole numbers of the unit the flag counts (days, MiB, bytes); `Duration.hours(36)` for `maxAge` is refused, naming the prop and the two nearest whole values.',
    '- `LogBackendProps.retentionPeriod`: `maxAge` must not delete files earlier, and with `expectedVolumePerDay`, `maxBackups × maxSize` must hold the days; stdout cannot meet a retention goal.',
    '- `expectedEventsPerSecond`: in batch mode with throttling, `qps × batch max size` must carry the rate, or the buffer fills and events are dropped.',
    '- `WebhookBackendProps.sinkMaxBody`: truncation must be on, with `batch.maxSize` × `truncate.maxEventSize` + 1024 bytes of EventList envelope within the sink\'s limit (a POST holds up to batch max-size events; `truncate.maxBatchSize` does not split webhook batches).',
    '',
  );
  return out.join('\n');
}
