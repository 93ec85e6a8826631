import { parseArgs, ParseArgsConfig } from 'node:util';
import { parseKubernetesVersion } from '../core/kubernetes-version';

/** Exit codes shared by every verb. */
export enum ExitCode {
  OK = 0,
  /** A finding, or input that is invalid (bad policy, unreadable file, bad flag value). */
  FINDING = 1,
  /** The command line itself is wrong. */
  USAGE = 2,
}

/** The command line is wrong: unknown verb, unknown option, missing argument. Exits 2. */
export class UsageError extends Error {}

/** The input is wrong or a check found something. Exits 1. */
export class InputError extends Error {}

export interface CommandIO {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream;
  readonly cwd: string;
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs {
  readonly values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  readonly positionals: string[];
}

/** One CLI verb. Each verb lives in its own file under src/cli/commands/. */
export interface Command {
  /** The verb, e.g. `validate`, or two words for a group, e.g. `sink serve`. */
  readonly name: string;
  /** One line for the verb list. */
  readonly summary: string;
  /** Full `--help` text (usage line, arguments, options, examples). */
  readonly help: string;
  readonly options: OptionSpec;
  /**
   * The library's names for the fields this verb's flags set (`certificateAuthorityPem` → `--ca`):
   * library messages name props, and main() rewrites them into this verb's flags before printing.
   */
  readonly fieldFlags?: FieldFlags;
  /** Run the verb; resolve to the exit code. Throw UsageError / InputError for failures. */
  run(args: ParsedArgs, io: CommandIO): Promise<ExitCode>;
}

/**
 * `parseArgs` refuses `--opt -1` as ambiguous; a negative number after a string option is its value
 * (so `--log-maxage -1` reaches validation and gets a precise exit-1 message, like `--log-maxage=-1`).
 */
function joinNegativeNumbers(options: OptionSpec, argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : undefined;
    if (name && options[name]?.type === 'string' && /^-\d/.test(argv[i + 1] ?? '')) {
      out.push(`${argv[i]}=${argv[i + 1]}`);
      i++;
    } else {
      out.push(argv[i]);
    }
  }
  return out;
}

/** Levenshtein distance: the nearest option or verb to a typo. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

/**
 * The candidate a typo most likely meant: the only one it is a prefix of, or the nearest within a third
 * of its length (at least 1, at most 3 edits); undefined when nothing is that close.
 */
export function nearest(typo: string, candidates: readonly string[]): string | undefined {
  const prefixed = candidates.filter((c) => c.startsWith(typo));
  if (typo.length >= 3 && prefixed.length === 1) return prefixed[0];
  const limit = Math.min(3, Math.max(1, Math.floor(typo.length / 3)));
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = editDistance(typo, c);
    if (d <= limit && (!best || d < best.d)) best = { c, d };
  }
  return best?.c;
}

/** `Unknown option '--polcy'` → `… did you mean --policy?` (parseArgs' own message otherwise). */
function usageMessage(command: Command, message: string): string {
  const unknown = /^Unknown option '(-{1,2})([^']+)'/.exec(message);
  if (!unknown) return message;
  const name = unknown[2];
  const candidates = [...Object.keys(command.options), 'help'];
  const guess = unknown[1] === '--' ? nearest(name, candidates) : undefined;
  return `unknown option '${unknown[1]}${name}'${guess ? `; did you mean --${guess}?` : ''}`;
}

export function parseCommandArgs(command: Command, argv: string[]): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({
      args: joinNegativeNumbers(command.options, argv),
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (e) {
    throw new UsageError(`${usageMessage(command, (e as Error).message)}\nRun 'cdk8s-audit ${command.name} --help' for the options.`);
  }
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function booleanOption(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/** Parses one of a closed set of values, or throws a UsageError listing the choices. */
export function choiceOption<T extends string>(args: ParsedArgs, name: string, choices: readonly T[], fallback: T): T {
  const v = stringOption(args, name);
  if (v === undefined) return fallback;
  if (!(choices as readonly string[]).includes(v)) {
    throw new UsageError(`--${name} ${JSON.stringify(v)} is not one of: ${choices.join(', ')}`);
  }
  return v as T;
}

/** Library field name → the CLI flag that sets it (e.g. `kubernetesVersion` → `--kubernetes-version`). */
export type FieldFlags = Readonly<Record<string, string>>;

/** Fields every verb that has the flag sets the same way. */
const COMMON_FIELD_FLAGS: Readonly<Record<string, string>> = { kubernetesVersion: 'kubernetes-version' };

/** The field → flag map for a verb: its own, plus the common ones whose option it has. */
export function fieldFlagsOf(command: Command): FieldFlags {
  const common = Object.entries(COMMON_FIELD_FLAGS).filter(([, option]) => option in command.options).map(([field, option]) => [field, `--${option}`]);
  return { ...Object.fromEntries(common), ...command.fieldFlags };
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Rewrites library field names in a message into the verb's flags: camelCase or dotted names
 * (`certificateAuthorityPem`, `load.burstSeconds`, `--kubernetesVersion`) wherever they stand as a
 * word; plain words (`server`) only where they start a problem line (`server: …`), so prose stays.
 * `--flag (field)` or `--flag (CLI: --flag)` left by other rewrites becomes `--flag`.
 */
export function nameFlags(message: string, fields: FieldFlags): string {
  let text = message;
  for (const [field, flag] of Object.entries(fields).sort(([a], [b]) => b.length - a.length)) {
    const name = escapeRegExp(field);
    text = /[A-Z.]/.test(field)
      ? text.replace(new RegExp(`(?<![\\w.-])(?:--)?${name}(?![\\w])`, 'g'), flag)
      : text.replace(new RegExp(`^(\\s*(?:- )?)(?:--)?${name}(?=:)`, 'gm'), `$1${flag}`);
  }
  return text.replace(/(--[\w-]+) \((?:CLI: )?\1\)/g, '$1');
}

/** The `--kubernetes-version` option, checked: a version cdk8s-audit does not know is a usage error. */
export function kubernetesVersionOption(args: ParsedArgs): string | undefined {
  const version = stringOption(args, 'kubernetes-version');
  try {
    parseKubernetesVersion(version);
  } catch (e) {
    throw new UsageError(nameFlags((e as Error).message, { kubernetesVersion: '--kubernetes-version' }));
  }
  return version;
}
