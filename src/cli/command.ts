import { parseArgs, ParseArgsConfig } from 'node:util';

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
    throw new UsageError(`${(e as Error).message}\nRun 'cdk8s-audit ${command.name} --help' for the options.`);
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
