import { stringify } from 'yaml';
import { Command, ExitCode, InputError, UsageError, choiceOption } from '../command';
import { inputPath, readInput, write } from '../io';
import { formatProblemList } from '../../core/problem';
import { formatIssue, policyIssueToProblem } from '../../policy/issue';
import { AlertRulePresetOptions, presetAlertRules } from '../../presets/alert-rules';
import { AlertRulesError, parseAlertRules } from '../../sink-contract/alert-rules';
import { AuditEventFields, RulesEngine } from '../../sink-server/rules-engine';

export const sinkRulesValidateCommand: Command = {
  name: 'sink rules validate',
  summary: "check alert rules files for 'sink serve --rules'",
  help: `Usage: cdk8s-audit sink rules validate FILE...

Checks each alert rules file (YAML or JSON; '-' reads standard input) strictly, as 'sink serve --rules'
reads it: syntax, duplicate keys, unknown fields (with "did you mean"), types, rule names, selectors
(audit Policy rule selectors: verbs, resources, groups, nonResourceURLs), CIDRs (IPv4 and IPv6), stages.
Each problem names the path (with the rule's name), the value, the rule it breaks and the fix.

The format:
  apiVersion: cdk8s-audit.io/v1alpha1
  kind: AlertRules
  cidrSets: { approved: [10.0.0.0/8, "fd00::/8"] }
  rules:
    - name: exec-from-unapproved-source     # the rule label of audit_sink_alerts_total
      type: source-cidr                     # match | source-cidr | first-seen | rate
      severity: critical                    # critical | warning | info (default warning)
      match: { resources: [{ group: "", resources: [pods/exec] }] }
      except: [{ userGroups: [system:masters] }]
      allowedSourceCidrSets: [approved]
    - name: new-user-object-burst           # rate: > threshold matching events per key in the window
      type: rate
      match: { verbs: [create] }
      key: [user]                           # user, namespace, resource, name, verb, sourceIP, sourceNetwork
      threshold: 20
      window: 1m
      newKeysWithin: 24h                    # only keys first seen in the last 24h
'cdk8s-audit sink rules preset NAME' prints a preset's defaults; docs/sink.md describes every field.

Options:
  -h, --help   show this help

Exit codes: 0 every file is valid, 1 a file is invalid or unreadable, 2 usage error.

Example:
  cdk8s-audit sink rules validate rules.yaml`,
  options: {},
  async run(args, io) {
    if (args.positionals.length === 0) throw new UsageError("sink rules validate needs at least one FILE (or '-' for standard input)");
    let ok = true;
    for (const file of args.positionals) {
      try {
        const doc = parseAlertRules(await readInput(inputPath(io.cwd, file), io.stdin, undefined, file === '-' ? '(stdin)' : file));
        write(io.stdout, `${file}: valid: ${doc.rules.length} rule${doc.rules.length === 1 ? '' : 's'} (${doc.rules.map((r) => r.name).join(', ')})`);
      } catch (e) {
        ok = false;
        if (e instanceof AlertRulesError) {
          write(io.stderr, `${file}: invalid alert rules (${e.issues.length} problem${e.issues.length === 1 ? '' : 's'}):`);
          write(io.stderr, formatProblemList(e.issues.map(policyIssueToProblem)));
        } else write(io.stderr, `${file}: ${(e as Error).message}`);
      }
    }
    return ok ? ExitCode.OK : ExitCode.FINDING;
  },
};

export const sinkRulesPresetCommand: Command = {
  name: 'sink rules preset',
  summary: "print the default alert rules of presets (for 'sink serve --rules')",
  help: `Usage: cdk8s-audit sink rules preset NAME[,NAME...] [options]

Prints the default alert rules of the named compliance presets (baseline, cis, pci-dss, hipaa, soc2,
nist-800-53, iso-27001): writes in protected namespaces from unapproved networks, a new user reading
secrets, exec into pods (and from unapproved networks), RBAC changes by non-admins, anonymous requests
that succeeded. Tailor them with:

  --approved-cidr CIDR         an approved source network (repeatable; default: private and loopback ranges)
  --protected-namespace NS     a protected namespace (repeatable; kube-system, kube-public, kube-node-lease always)
  --admin-group GROUP          a group whose RBAC changes are expected (repeatable; system:masters always)
  --admin-user USER            a user whose RBAC changes are expected (repeatable)
  --format yaml|json           (default yaml)
  -h, --help                   show this help

Exit codes: 0 printed, 1 invalid option value (e.g. a CIDR), 2 usage error.

Example:
  cdk8s-audit sink rules preset pci-dss --approved-cidr 192.168.10.0/24 --protected-namespace payments > rules.yaml`,
  options: {
    'approved-cidr': { type: 'string', multiple: true },
    'protected-namespace': { type: 'string', multiple: true },
    'admin-group': { type: 'string', multiple: true },
    'admin-user': { type: 'string', multiple: true },
    format: { type: 'string' },
  },
  async run(args, io) {
    if (args.positionals.length !== 1) throw new UsageError('sink rules preset needs one argument: NAME[,NAME...], e.g. pci-dss');
    const format = choiceOption(args, 'format', ['yaml', 'json'] as const, 'yaml');
    const list = (n: string) => args.values[n] as string[] | undefined;
    const options: AlertRulePresetOptions = {
      approvedSourceCidrs: list('approved-cidr'),
      protectedNamespaces: list('protected-namespace'),
      adminGroups: list('admin-group'),
      adminUsers: list('admin-user'),
    };
    let doc;
    try {
      doc = presetAlertRules(args.positionals[0], options);
    } catch (e) {
      if (e instanceof AlertRulesError) {
        const msg = e.issues.map((i) => formatIssue({ ...i, path: i.path.replace(/^cidrSets\.approved/, '--approved-cidr') })).join('; ');
        throw new InputError(msg);
      }
      throw new UsageError((e as Error).message);
    }
    write(io.stdout, format === 'json' ? JSON.stringify(doc, null, 2) : stringify(doc, { lineWidth: 0 }));
    return ExitCode.OK;
  },
};

export const sinkRulesEvalCommand: Command = {
  name: 'sink rules eval',
  summary: 'run alert rules over audit events (JSON lines) and print the alerts',
  help: `Usage: cdk8s-audit sink rules eval RULES-FILE [--input FILE]

Evaluates the rules over audit events — JSON lines of audit.k8s.io/v1 Events (an apiserver audit log,
'sink verify --events' output) or EventList objects — read from --input (or standard input), and
prints the alerts as JSON lines, exactly as 'sink serve --rules' would (first-seen and rate memory start empty).

Options:
  --input FILE   events to evaluate ('-' = standard input, the default)
  -h, --help     show this help

Exit codes: 0 no alert, 1 at least one alert (or invalid input), 2 usage error.

Example:
  cdk8s-audit sink verify --store /var/lib/audit-sink --key signing.key --events | cdk8s-audit sink rules eval rules.yaml`,
  options: { input: { type: 'string' } },
  async run(args, io) {
    if (args.positionals.length !== 1) throw new UsageError('sink rules eval needs one argument: the RULES-FILE');
    let doc;
    try {
      doc = parseAlertRules(await readInput(inputPath(io.cwd, args.positionals[0]), io.stdin, undefined, args.positionals[0] === '-' ? '(stdin)' : args.positionals[0]), args.positionals[0]);
    } catch (e) {
      throw new InputError((e as Error).message);
    }
    const input = typeof args.values.input === 'string' ? args.values.input : '-';
    if (input === '-' && args.positionals[0] === '-') throw new UsageError('the rules and the events cannot both come from standard input');
    const text = await readInput(inputPath(io.cwd, input), io.stdin, undefined, input === '-' ? '(stdin)' : input);
    const engine = new RulesEngine(doc);
    let alerts = 0;
    let seq = 0;
    text.split('\n').forEach((line, i) => {
      if (!line.trim()) return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw new InputError(`${input === '-' ? 'standard input' : input} line ${i + 1}: not JSON; give one audit event (or EventList) per line`);
      }
      const v = value as { kind?: string; items?: unknown[] };
      const events = v && v.kind === 'EventList' && Array.isArray(v.items) ? v.items : [value];
      for (const e of events) {
        for (const a of engine.evaluate(e as AuditEventFields, ++seq)) {
          alerts++;
          io.stdout.write(JSON.stringify(a) + '\n');
        }
      }
    });
    return alerts > 0 ? ExitCode.FINDING : ExitCode.OK;
  },
};
