import { resolve } from 'node:path';
import { Command, ExitCode, InputError, UsageError, booleanOption, stringOption } from '../command';
import { write } from '../io';
import { failureLines, prove, writeProveReport } from '../../testing';
import { writeEvidenceReport } from './prove-evidence';

export const proveCommand: Command = {
  name: 'prove',
  summary: "replay every requirement's example requests on a cluster and judge what its audit backends recorded",
  help: `Usage: cdk8s-audit prove --kind [--keep] [options]
       cdk8s-audit prove --kubeconfig FILE [--audit-log FILE | --audit-log-command CMD] [options]

Proves, on a real cluster, that the synthesized audit configuration records what the presets'
requirements need. For every requirement it sends the example requests as the identities they name
(the admin's client certificate, a service-account token with no grants — its requests are
forbidden — and anonymous requests), then reads the events back from the node's audit log and from
the sink's store, and checks:
  - each request is recorded at its required level, in each backend that was observed;
  - a canary Secret's value is in neither backend;
  - every node-log event of the replay window reached the sink, at the same level;
  - \`sink verify\` passes on the sink's store (run inside the sink pod).
It prints one line per step with its time, writes prove.md, prove.html and prove.json (and the
evidence report, report.md/.html/.json, from the node log) to --out, and names the requirement and
auditID of every failure. What was not observed is reported as such, never as passed.

--kind creates a kind cluster from dist/node/kind-cluster.yaml (its mounted files copied to a temp
directory with fresh webhook certificates, so nothing is written into the app), loads the sink
image (it must be in the local Docker engine: \`cdk8s-audit sink image\`), creates the sink's Secrets,
applies dist/*.k8s.yaml, and deletes the cluster afterwards unless --keep (also when a step fails,
after printing diagnostics, and when interrupted by SIGINT or SIGTERM). Needs Docker, kind and
kubectl (PATH, or CDK8S_AUDIT_KIND / CDK8S_AUDIT_KUBECTL).

--kubeconfig uses an existing cluster (the kubeconfig's current context: embedded CA data, and
client-certificate-data + client-key-data or a token; the user needs to create namespaces,
service accounts and tokens). Writes are sent with dryRun=All, so the cluster keeps no object of the requests;
only a namespace holding the canary Secret and a service account is created and deleted again. The
node's log is out of reach: give --audit-log FILE (read after the replay, polled until the events
arrive) or --audit-log-command CMD (its standard output is the log), else the node log is reported
as not observed. The sink is the one dist/*.k8s.yaml deploys, read with kubectl exec.

Options:
  --kind                   create (and delete) a kind cluster from dist/
  --kubeconfig FILE        prove an existing cluster
  --dir DIR                the app directory, holding dist/ (default: current directory)
  --dist DIR               the synth output (default: DIR/dist)
  --preset NAME[,NAME]     the requirement table (default: the presets dist/node/files.yaml names)
  --out DIR                where to write the reports (default: DIR/audit-proof)
  --keep                   with --kind: leave the cluster running (prints its name and kubeconfig)
  --name NAME              with --kind: cluster name (default: the kind config's name)
  --image IMAGE            with --kind: node image (default: the kind config's or kind's)
  --audit-log FILE         with --kubeconfig: the node's audit log, as copied from the node
  --audit-log-command CMD  with --kubeconfig: a shell command that prints the node's audit log
  -h, --help               show this help

Exit codes: 0 every observed fact holds and every request was observed, 1 a check failed (each
failure named with its requirement and auditID) or the cluster could not be set up, 2 usage error.`,
  options: {
    kind: { type: 'boolean' },
    kubeconfig: { type: 'string' },
    dir: { type: 'string' },
    dist: { type: 'string' },
    preset: { type: 'string' },
    out: { type: 'string' },
    keep: { type: 'boolean' },
    name: { type: 'string' },
    image: { type: 'string' },
    'audit-log': { type: 'string' },
    'audit-log-command': { type: 'string' },
  },
  async run(args, io) {
    if (args.positionals.length) throw new UsageError(`prove takes no positional arguments (got ${args.positionals.join(' ')}); use --kind or --kubeconfig FILE`);
    const kind = booleanOption(args, 'kind');
    const kubeconfig = stringOption(args, 'kubeconfig');
    if (kind === (kubeconfig !== undefined)) throw new UsageError('give exactly one of --kind (a new kind cluster from dist/) or --kubeconfig FILE (an existing cluster)');
    const kindOnly = ['keep', 'name', 'image'].filter((o) => args.values[o] !== undefined);
    if (!kind && kindOnly.length) throw new UsageError(`--${kindOnly[0]} applies only with --kind`);
    const logOpts = ['audit-log', 'audit-log-command'].filter((o) => args.values[o] !== undefined);
    if (kind && logOpts.length) throw new UsageError(`--${logOpts[0]} applies only with --kubeconfig (with --kind the log is read from the node)`);
    if (logOpts.length > 1) throw new UsageError('give --audit-log FILE or --audit-log-command CMD, not both');
    const appDir = resolve(io.cwd, stringOption(args, 'dir') ?? '.');
    const dist = stringOption(args, 'dist');
    const out = resolve(appDir, stringOption(args, 'out') ?? 'audit-proof');
    const presets = stringOption(args, 'preset')?.split(',').map((s) => s.trim()).filter(Boolean);
    const started = Date.now();
    let result;
    try {
      result = await prove({
        appDir,
        distDir: dist ? resolve(io.cwd, dist) : undefined,
        presets,
        target: kind
          ? { kind: true, keep: booleanOption(args, 'keep'), name: stringOption(args, 'name'), image: stringOption(args, 'image') }
          : { kubeconfig: resolve(io.cwd, kubeconfig!), auditLog: args.values['audit-log'] ? resolve(io.cwd, stringOption(args, 'audit-log')!) : undefined, auditLogCommand: stringOption(args, 'audit-log-command') },
        sinkImageHint: 'build it with `npx cdk8s-audit sink image` (see docs/sink.md), then run prove again',
        progress: (line) => write(io.stdout, line),
      });
    } catch (e) {
      throw new InputError(`prove: ${(e as Error).message}`);
    }
    const files = writeProveReport(result, out);
    const evidence = writeEvidenceReport(result, out);
    write(io.stdout, `wrote ${[...files, ...evidence.files].join(', ')}`);
    if (result.kept) write(io.stdout, `kept kind cluster ${result.kept.name}: kubectl --kubeconfig ${result.kept.kubeconfig} …; delete it with kind delete cluster --name ${result.kept.name}`);
    const failures = failureLines(result.verdict);
    for (const line of [...failures, ...evidence.failures]) write(io.stdout, line);
    const ok = result.verdict.ok && evidence.failures.length === 0;
    const passed = result.verdict.checks.filter((c) => c.status === 'pass').length;
    const unobserved = result.verdict.checks.filter((c) => c.status === 'not-observed').map((c) => c.title);
    write(io.stdout, `${ok ? 'PROVEN' : 'NOT PROVEN'}: ${passed}/${result.verdict.checks.length} checks passed${unobserved.length ? `; not observed: ${unobserved.join('; ')}` : ''} (${Math.round((Date.now() - started) / 1000)} s)`);
    return ok ? ExitCode.OK : ExitCode.FINDING;
  },
};
