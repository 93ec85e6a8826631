import { renderGoYaml } from '../../core/go-yaml';
import { Command, ExitCode, InputError, UsageError, choiceOption, stringOption } from '../command';
import { write } from '../io';
import { AuditConfigError } from '../../backends/errors';
import { KubeadmApiVersion, kubeadmClusterConfiguration } from '../../control-plane/kubeadm';
import { AUDIT_EXTRA_OPTIONS, AUDIT_FIELD_FLAGS, AUDIT_FLAG_OPTIONS, auditFromArgs, auditOptionsHelp, formatProblems, writeWarnings } from './flags';

const API_VERSIONS: Record<string, KubeadmApiVersion> = { v1beta3: KubeadmApiVersion.V1BETA3, v1beta4: KubeadmApiVersion.V1BETA4 };

export const kubeadmConfigCommand: Command = {
  name: 'kubeadm-config',
  summary: 'render a kubeadm ClusterConfiguration with the audit flags and directory mounts',
  help: `Usage: cdk8s-audit kubeadm-config [options]

Renders a kubeadm ClusterConfiguration holding only the audit settings, to merge into the cluster's
kubeadm config: apiServer.extraArgs (a map in v1beta3, a list of {name, value} in v1beta4) and
apiServer.extraVolumes mounting the policy directory (read-only), the log directory (read-write)
and the webhook directory (read-only) — directories, never single files, because log rotation
renames files and editors replace them.

Options:
  --api-version v1beta3|v1beta4                  kubeadm API (default: v1beta4 from Kubernetes 1.31, v1beta3 before;
                                                 kubeadm reads v1beta3 only up to 1.36)
  --format yaml|json|args                        output (default yaml; args prints the apiserver flags)

${auditOptionsHelp()}
  -h, --help                                     show this help

Exit codes: 0 ok, 1 a value breaks a rule, 2 usage error.

Example:
  cdk8s-audit kubeadm-config --kubernetes-version 1.35.4 --log-path /var/log/kubernetes/audit/audit.log --log-maxage 30`,
  fieldFlags: AUDIT_FIELD_FLAGS,
  options: { ...AUDIT_FLAG_OPTIONS, ...AUDIT_EXTRA_OPTIONS, 'api-version': { type: 'string' }, format: { type: 'string' } },
  async run(args, io) {
    if (args.positionals.length) throw new UsageError(`kubeadm-config takes no arguments, got ${args.positionals.map((p) => JSON.stringify(p)).join(' ')}`);
    const format = choiceOption(args, 'format', ['yaml', 'json', 'args'] as const, 'yaml');
    const apiVersionName = stringOption(args, 'api-version');
    if (apiVersionName !== undefined && !(apiVersionName.replace(/^kubeadm\.k8s\.io\//, '') in API_VERSIONS)) {
      throw new UsageError(`--api-version ${JSON.stringify(apiVersionName)} is not one of: v1beta3, v1beta4`);
    }
    const audit = auditFromArgs(args);
    writeWarnings(io, audit.warnings);
    if (format === 'args') {
      write(io.stdout, audit.commandLine().join('\n'));
      return ExitCode.OK;
    }
    let doc;
    try {
      doc = kubeadmClusterConfiguration(audit, { apiVersion: apiVersionName === undefined ? undefined : API_VERSIONS[apiVersionName.replace(/^kubeadm\.k8s\.io\//, '')] });
    } catch (e) {
      if (e instanceof AuditConfigError) throw new InputError(formatProblems(e.problems.map((p) => p.replace(/^apiVersion:/, '--api-version:'))));
      throw e;
    }
    write(io.stdout, format === 'json' ? JSON.stringify(doc, null, 2) : renderGoYaml(doc));
    return ExitCode.OK;
  },
};
