import { resolve } from 'node:path';
import { renderGoYaml } from '../../core/go-yaml';
import { Command, ExitCode, InputError, UsageError, choiceOption, stringOption } from '../command';
import { write } from '../io';
import { AuditConfigError } from '../../backends/errors';
import { kindCluster } from '../../control-plane/kind';
import { AUDIT_EXTRA_OPTIONS, AUDIT_FIELD_FLAGS, AUDIT_FLAG_OPTIONS, auditFromArgs, auditOptionsHelp, formatProblems, writeWarnings } from './flags';

const MAX_KIND_WORKERS = 100;

export const kindConfigCommand: Command = {
  name: 'kind-config',
  summary: 'render a kind Cluster config whose control plane runs the apiserver with auditing',
  help: `Usage: cdk8s-audit kind-config --host-policy-dir DIR [options]

Renders a kind Cluster (kind.x-k8s.io/v1alpha4): the control-plane node mounts host directories
(extraMounts) and a kubeadmConfigPatches ClusterConfiguration adds the audit flags and the
apiserver's directory volumes. The patch is kubeadm v1beta4 from Kubernetes 1.36 on (kind's switch)
and v1beta3 before; it names its apiVersion so kind applies it to exactly that document.

Options:
  --host-policy-dir DIR                          host directory holding the policy file (required)
  --host-webhook-dir DIR                         host directory with the webhook kubeconfig and TLS files
                                                 (required with a webhook backend)
  --host-log-dir DIR                             host directory that receives the audit logs
                                                 (default: logs stay inside the node container)
  --node-image IMAGE                             node image, e.g. kindest/node:v1.36.1
  --workers N                                    worker nodes (default 0)
  --name NAME                                    cluster name
  --format yaml|json|args                        output (default yaml; args prints the apiserver flags)
Relative directories are written as absolute paths, resolved against the current directory.

${auditOptionsHelp()}
  -h, --help                                     show this help

Exit codes: 0 ok, 1 a value breaks a rule, 2 usage error.

Example:
  cdk8s-audit kind-config --kubernetes-version 1.36 --host-policy-dir ./audit --host-log-dir ./logs \\
    --log-path /var/log/kubernetes/audit/audit.log --log-maxage 7 > kind.yaml && kind create cluster --config kind.yaml`,
  fieldFlags: AUDIT_FIELD_FLAGS,
  options: {
    ...AUDIT_FLAG_OPTIONS,
    ...AUDIT_EXTRA_OPTIONS,
    'host-policy-dir': { type: 'string' },
    'host-webhook-dir': { type: 'string' },
    'host-log-dir': { type: 'string' },
    'node-image': { type: 'string' },
    workers: { type: 'string' },
    name: { type: 'string' },
    format: { type: 'string' },
  },
  async run(args, io) {
    if (args.positionals.length) throw new UsageError(`kind-config takes no arguments, got ${args.positionals.map((p) => JSON.stringify(p)).join(' ')}`);
    const format = choiceOption(args, 'format', ['yaml', 'json', 'args'] as const, 'yaml');
    const hostDir = (name: string) => {
      const v = stringOption(args, name);
      return v === undefined ? undefined : resolve(io.cwd, v);
    };
    const hostPolicyDir = hostDir('host-policy-dir');
    if (hostPolicyDir === undefined) throw new UsageError('kind-config needs --host-policy-dir DIR (the host directory with the policy file)');
    const workersText = stringOption(args, 'workers');
    const workers = workersText === undefined ? undefined : Number(workersText);
    // kind runs every node as a container on one machine; the cap also keeps a typo from becoming a huge array.
    if (workersText !== undefined && !(Number.isInteger(workers) && workers! >= 0 && workers! <= MAX_KIND_WORKERS)) {
      throw new InputError(`--workers: ${JSON.stringify(workersText)} is not a count of nodes; give a whole number from 0 to ${MAX_KIND_WORKERS}`);
    }
    const audit = auditFromArgs(args);
    writeWarnings(io, audit.warnings);
    if (format === 'args') {
      write(io.stdout, audit.commandLine().join('\n'));
      return ExitCode.OK;
    }
    let doc;
    try {
      doc = kindCluster(audit, {
        hostPolicyDir,
        hostWebhookDir: hostDir('host-webhook-dir'),
        hostLogDir: hostDir('host-log-dir'),
        nodeImage: stringOption(args, 'node-image'),
        workers,
        name: stringOption(args, 'name'),
      });
    } catch (e) {
      if (e instanceof AuditConfigError) throw new InputError(formatProblems(e.problems.map((p) => `--${p.replace(/^host(\w+)Dir/, (_m, w: string) => `host-${w.toLowerCase()}-dir`)}`)));
      throw e;
    }
    write(io.stdout, format === 'json' ? JSON.stringify(doc, null, 2) : renderGoYaml(doc));
    return ExitCode.OK;
  },
};
