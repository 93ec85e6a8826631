import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { Command, ExitCode, InputError, UsageError, booleanOption, choiceOption, stringOption } from '../command';
import { POLICY_MAX_BYTES, readInput, write } from '../io';
import { AuditConfigError } from '../../backends/errors';
import { describeStaticPodChanges, editStaticPodManifest, lineDiff, staticPodSpecFromKubeadm } from '../../control-plane/static-pod-edit';
import { formatProblems } from './flags';

const DEFAULT_MANIFEST = '/etc/kubernetes/manifests/kube-apiserver.yaml';

/** `20261206T171500Z`: backups sort by time and never overwrite the first one. */
function stamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

export const staticPodApplyCommand: Command = {
  name: 'static-pod apply',
  summary: "put the audit flags, volumes and mounts into a kube-apiserver static pod manifest; safe to run twice",
  help: `Usage: cdk8s-audit static-pod apply [--root DIR] [--manifest FILE] [--from DIR] [--dry-run] [--diff] [--backup FILE] [--format text|json]

Edits the kube-apiserver static pod manifest structurally, with the audit settings of dist/node (its
kubeadm-config.yaml: the same flags and directory mounts kubeadm and kind get):
  - every --audit-* flag already there is removed and the new flags are put where the first one was;
  - volumes and volumeMounts of the same name, mounts at the same path and duplicates are replaced;
    a volume whose only mount was replaced is removed;
  - everything else (other flags, volumes, comments, layout) stays as it was.
Running it twice leaves the manifest unchanged the second time (exit 0, "no change"). Each replaced or
removed setting is printed, so earlier, conflicting audit settings are visible.

The file is written atomically (a hidden temp file in the same directory, then rename: the kubelet ignores
dot files) after the original is copied to the backup. The backup goes next to the manifests directory,
never into it: the kubelet would run a copy in /etc/kubernetes/manifests as a second apiserver pod.
The kubelet notices the change and restarts the apiserver; copy the node files (dist/node/rootfs/...)
to the node first, or the apiserver will not start (a warning says which are missing on this machine).

Options:
  --root DIR             the node's filesystem root, when editing it from outside (a container's
                         /proc/PID/root, a mounted disk); files are checked and the default manifest
                         is found under it (default /)
  --manifest FILE        the static pod manifest (default <root>${DEFAULT_MANIFEST})
  --from DIR             the node-files folder of your synth output (default dist/node)
  --dry-run              print what would change; write nothing
  --diff                 print a line diff of the manifest (with --dry-run or not)
  --backup FILE          where the original goes (default <manifest's parent's parent>/<name>.<UTC time>.cdk8s-audit.bak)
  --format text|json     the change report's format (default text)
  -h, --help             show this help

Exit codes: 0 applied or nothing to change, 1 the manifest or dist/node cannot be read or is not a
kube-apiserver pod, 2 usage error.

Examples:
  cdk8s-audit static-pod apply --from dist/node --dry-run --diff
  sudo cdk8s-audit static-pod apply --manifest /etc/kubernetes/manifests/kube-apiserver.yaml --from dist/node`,
  options: {
    root: { type: 'string' },
    manifest: { type: 'string' },
    from: { type: 'string' },
    'dry-run': { type: 'boolean' },
    diff: { type: 'boolean' },
    backup: { type: 'string' },
    format: { type: 'string' },
  },
  async run(args, io) {
    if (args.positionals.length) throw new UsageError(`static-pod apply takes no arguments, got ${args.positionals.map((p) => JSON.stringify(p)).join(' ')}; give the manifest with --manifest`);
    const format = choiceOption(args, 'format', ['text', 'json'] as const, 'text');
    const root = resolve(io.cwd, stringOption(args, 'root') ?? '/');
    const manifestArg = stringOption(args, 'manifest') ?? join(root, DEFAULT_MANIFEST);
    const fromArg = stringOption(args, 'from') ?? 'dist/node';
    const dryRun = booleanOption(args, 'dry-run');
    const manifest = resolve(io.cwd, manifestArg);
    const from = resolve(io.cwd, fromArg);

    const configFile = join(from, 'kubeadm-config.yaml');
    if (!existsSync(configFile)) {
      throw new InputError(`--from ${fromArg}: has no kubeadm-config.yaml; give the node-files folder of your synth output (dist/node), written by AuditApp or writeNodeFiles`);
    }
    let spec;
    try {
      spec = staticPodSpecFromKubeadm(parse(readFileSync(configFile, 'utf8')), join(fromArg, 'kubeadm-config.yaml'));
    } catch (e) {
      if (e instanceof AuditConfigError) throw new InputError(formatProblems(e.problems));
      throw new InputError(`${join(fromArg, 'kubeadm-config.yaml')}: not YAML (${(e as Error).message})`);
    }
    const before = await readInput(manifest, io.stdin, { maxBytes: POLICY_MAX_BYTES, what: 'a static pod manifest' }, manifestArg);
    let result;
    try {
      result = editStaticPodManifest(before, spec);
    } catch (e) {
      if (e instanceof AuditConfigError) throw new InputError(`${manifestArg}: ${formatProblems(e.problems.map((p) => p.replace(/^manifest: /, '')))}`);
      throw e;
    }

    // Files the new flags read must be on this node, or the apiserver will not start.
    const missing = spec.volumes.filter((v) => v.hostPath.type === 'Directory' && !existsSync(join(root, v.hostPath.path))).map((v) => v.hostPath.path);
    for (const m of missing) write(io.stderr, `warning: ${m} does not exist on this node${root === '/' ? '' : ` (under ${root})`}; copy it from ${fromArg}/rootfs${m} before the kubelet restarts the apiserver`);

    let backup: string | undefined;
    if (result.changed && !dryRun) {
      backup = resolve(io.cwd, stringOption(args, 'backup') ?? join(dirname(dirname(manifest)), `${basename(manifest)}.${stamp(new Date())}.cdk8s-audit.bak`));
      if (dirname(backup) === dirname(manifest)) {
        throw new UsageError(`--backup ${backup}: is in the manifests directory; the kubelet would run it as a second kube-apiserver pod — put it elsewhere`);
      }
      const mode = statSync(manifest).mode & 0o777;
      const tmp = join(dirname(manifest), `.${basename(manifest)}.cdk8s-audit.tmp`);
      try {
        writeFileSync(backup, before, { mode });
        writeFileSync(tmp, result.text, { mode });
        renameSync(tmp, manifest);
      } catch (e) {
        throw new InputError(`cannot write ${manifestArg} (or its backup ${backup}): ${(e as Error).message}`);
      }
    }

    if (booleanOption(args, 'diff')) io.stdout.write(lineDiff(before, result.text, [manifestArg, `${manifestArg} (with audit)`]));
    const lines = describeStaticPodChanges(result.changes);
    if (format === 'json') {
      write(io.stdout, JSON.stringify({ manifest: manifestArg, changed: result.changed, dryRun, ...(backup ? { backup } : {}), changes: result.changes }, null, 2));
    } else {
      for (const l of lines) write(io.stdout, l);
      if (!result.changed) write(io.stdout, `no change: ${manifestArg} already has these audit settings`);
      else if (dryRun) write(io.stdout, `dry run: ${manifestArg} not written`);
      else write(io.stdout, `wrote ${manifestArg} (original in ${backup}); the kubelet restarts the kube-apiserver`);
    }
    return ExitCode.OK;
  },
};
