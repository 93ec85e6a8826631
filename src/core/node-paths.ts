/**
 * Where the audit files live on a control-plane node: the backends' defaults, so presets, flag sets and
 * control-plane wiring name the same paths. Directories, not single files, are mounted into the apiserver
 * pod (rotation renames the log file).
 */

/** `--audit-policy-file`. */
export const DEFAULT_POLICY_FILE = '/etc/kubernetes/audit/policy.yaml';
/** `--audit-log-path`. */
export const DEFAULT_LOG_PATH = '/var/log/kubernetes/audit/audit.log';
/** `--audit-webhook-config-file`. */
export const DEFAULT_WEBHOOK_CONFIG_FILE = '/etc/kubernetes/audit-webhook/kubeconfig.yaml';
