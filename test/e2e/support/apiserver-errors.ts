/**
 * Turns a failed kube-apiserver start into a message a user can act on: the apiserver's own error
 * lines, and the flag (with its file) that the error is about.
 */

/** klog error/fatal lines (`E1123 …`, `F1123 …`) and cobra's `Error: …` lines, in order. */
export function apiserverErrorLines(stderr: string, max = 8): string[] {
  const lines = stderr.split('\n').filter((line) => /^[EF]\d{4} /.test(line) || /^Error: /.test(line));
  // The final "command failed" line is the one that explains the exit; keep it even when there are many.
  return lines.length <= max ? lines : [...lines.slice(0, max - 1), lines[lines.length - 1]];
}

/** Error prefixes the apiserver uses for audit setup, and the flag each one is about (pkg/server/options/audit.go). */
const ERROR_FLAGS: ReadonlyArray<readonly [RegExp, string]> = [
  [/loading audit policy file/, '--audit-policy-file'],
  [/ensureLogFile/, '--audit-log-path'],
  [/initializing audit webhook/, '--audit-webhook-config-file'],
  [/invalid audit log format/, '--audit-log-format'],
  [/invalid audit (log|webhook) mode/, '--audit-$1-mode'],
  [/invalid audit batch (log|webhook) buffer size/, '--audit-$1-batch-buffer-size'],
  [/invalid audit batch (log|webhook) max batch size/, '--audit-$1-batch-max-size'],
  [/invalid audit batch (log|webhook) throttle QPS/, '--audit-$1-batch-throttle-qps'],
  [/invalid audit batch (log|webhook) throttle burst/, '--audit-$1-batch-throttle-burst'],
  [/invalid audit truncate (log|webhook) max event size/, '--audit-$1-truncate-max-event-size'],
  [/invalid audit truncate (log|webhook) max batch size/, '--audit-$1-truncate-max-batch-size'],
  [/--audit-[a-z-]+/, ''], // some validation errors name the flag themselves
];

/** The `--flag=value` arguments an error message is about: by known prefix, by flag name, or by the file path it quotes. */
export function flagsNamedBy(errorText: string, args: readonly string[]): string[] {
  const named = new Set<string>();
  for (const [pattern, flag] of ERROR_FLAGS) {
    const match = pattern.exec(errorText);
    if (!match) continue;
    const flagName = flag ? flag.replace('$1', match[1] ?? '') : match[0];
    for (const arg of args) if (arg.startsWith(`${flagName}=`)) named.add(arg);
  }
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq < 0) continue;
    const value = arg.slice(eq + 1);
    // Only values that look like paths: short values like "1" or "json" would match by accident.
    if (value.includes('/') && errorText.includes(value)) named.add(arg);
  }
  return [...named];
}

export class ApiserverStartError extends Error {
  constructor(
    readonly version: string,
    readonly exitStatus: number | string | undefined,
    readonly errorLines: string[],
    readonly flags: string[],
    readonly stderrPath: string,
    reason: string,
  ) {
    super(
      [
        `kube-apiserver v${version} ${reason}.`,
        errorLines.length ? `Its errors:\n  ${errorLines.join('\n  ')}` : 'It printed no error lines.',
        flags.length ? `Flag(s) involved: ${flags.join(' ')}` : '',
        `Full log: ${stderrPath}`,
      ]
        .filter(Boolean)
        .join('\n'),
    );
    this.name = 'ApiserverStartError';
  }
}
