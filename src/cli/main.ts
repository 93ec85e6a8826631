#!/usr/bin/env node
import { Command, CommandIO, ExitCode, InputError, UsageError, fieldFlagsOf, nameFlags, nearest, parseCommandArgs } from './command';
import { COMMANDS } from './commands';
import { write } from './io';
import { KubernetesVersionError } from '../core/kubernetes-version';

function commandList(commands: readonly Command[]): string[] {
  const width = Math.max(...commands.map((c) => c.name.length));
  return commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
}

function overview(): string {
  return [
    'Usage: cdk8s-audit <command> [options]',
    '',
    'Kubernetes API-server auditing: policies, backend flags, control-plane wiring and a remote sink.',
    '',
    'Commands:',
    ...commandList(COMMANDS),
    '',
    "Run 'cdk8s-audit <command> --help' for a command's options.",
    'Exit codes: 0 ok, 1 a finding or invalid input, 2 a usage error.',
  ].join('\n');
}

/** The verbs under a group word or words (`sink`, `sink rules`). */
function groupMembers(words: readonly string[]): Command[] {
  return COMMANDS.filter((c) => {
    const name = c.name.split(' ');
    return name.length > words.length && words.every((w, i) => name[i] === w);
  });
}

function groupHelp(words: readonly string[], members: readonly Command[]): string {
  const group = words.join(' ');
  return [`Usage: cdk8s-audit ${group} <subcommand> [options]`, '', 'Subcommands:', ...commandList(members), '', `Run 'cdk8s-audit ${group} <subcommand> --help' for its options.`].join('\n');
}

/** Finds the verb: the longest command name that prefixes argv (so `sink serve` beats `sink`). */
function findCommand(argv: string[]): { command?: Command; rest: string[] } {
  const sorted = [...COMMANDS].sort((a, b) => b.name.split(' ').length - a.name.split(' ').length);
  for (const command of sorted) {
    const words = command.name.split(' ');
    if (words.every((w, i) => argv[i] === w)) return { command, rest: argv.slice(words.length) };
  }
  return { rest: argv };
}

/** `--help`/`-h` anywhere before `--` asks for help, whatever else is on the line. */
function asksHelp(rest: readonly string[]): boolean {
  const end = rest.indexOf('--');
  return (end === -1 ? rest : rest.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** No verb matched: a group word without its subcommand, or a typo. */
function unknownCommand(argv: string[], io: CommandIO): ExitCode {
  const firstOption = argv.findIndex((a) => a.startsWith('-'));
  const words = firstOption === -1 ? argv : argv.slice(0, firstOption);
  for (let n = words.length; n > 0; n--) {
    const members = groupMembers(words.slice(0, n));
    if (members.length === 0) continue;
    if (n === words.length && asksHelp(argv)) {
      write(io.stdout, groupHelp(words.slice(0, n), members));
      return ExitCode.OK;
    }
    const said = words.slice(0, n).join(' ');
    const guess = words[n] !== undefined ? nearest(words[n], [...new Set(members.map((c) => c.name.split(' ')[n]))]) : undefined;
    const extra = words[n] !== undefined ? `'${said}' has no subcommand '${words[n]}'${guess ? `; did you mean '${said} ${guess}'?` : ''}` : `'${said}' needs a subcommand`;
    throw new UsageError(`${extra}\n\n${groupHelp(words.slice(0, n), members)}`);
  }
  const names = [...new Set(COMMANDS.flatMap((c) => [c.name, c.name.split(' ')[0]]))];
  const guess = nearest(argv[0], names);
  throw new UsageError(`unknown command '${argv[0]}'${guess ? `; did you mean '${guess}'?` : ''}\n\n${overview()}`);
}

export async function main(argv: string[], io: CommandIO): Promise<ExitCode> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || (argv[0] === 'help' && argv.length === 1)) {
    write(argv.length === 0 ? io.stderr : io.stdout, overview());
    return argv.length === 0 ? ExitCode.USAGE : ExitCode.OK;
  }
  if (argv[0] === '--version') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    write(io.stdout, require('../../package.json').version);
    return ExitCode.OK;
  }
  // `help VERB` is `VERB --help`.
  if (argv[0] === 'help') return main([...argv.slice(1), '--help'], io);
  const { command, rest } = findCommand(argv);
  try {
    if (!command) return unknownCommand(argv, io);
    if (asksHelp(rest)) {
      write(io.stdout, command.help);
      return ExitCode.OK;
    }
    const args = parseCommandArgs(command, rest);
    return await command.run(args, io);
  } catch (e) {
    // Library messages name TypeScript props; the user typed this verb's flags.
    const say = (message: string) => write(io.stderr, `cdk8s-audit: ${command ? nameFlags(message, fieldFlagsOf(command)) : message}`);
    // A verb that passed --kubernetes-version on unchecked: the library's refusal is still a usage error.
    if (e instanceof UsageError || e instanceof KubernetesVersionError) {
      say(e.message);
      return ExitCode.USAGE;
    }
    if (e instanceof InputError) {
      say(e.message);
      return ExitCode.FINDING;
    }
    write(io.stderr, `cdk8s-audit: internal error: ${(e as Error).stack ?? e}`);
    return ExitCode.FINDING;
  }
}

/** Verbs that run until stopped: their output going away is a failure to report, not a reader that is done. */
const SERVERS = new Set(['sink serve']);

/**
 * A reader that goes away (`cdk8s-audit preset --list | head -1`) closes the pipe: the output is no
 * longer wanted, so the command ends quietly with exit 0 instead of an unhandled EPIPE stack trace.
 * A server (`sink serve --forward-stdout`) exits 1 saying why: its supervisor must not see success.
 */
export function exitOnClosedPipe(stream: NodeJS.WriteStream, argv: readonly string[], exit: (code: number) => void = process.exit): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    if (!SERVERS.has(argv.slice(0, 2).join(' '))) return exit(0);
    if (stream !== process.stderr) process.stderr.write(`cdk8s-audit: standard output was closed by its reader; stopping\n`);
    exit(1);
  });
}

if (require.main === module) {
  exitOnClosedPipe(process.stdout, process.argv.slice(2));
  exitOnClosedPipe(process.stderr, process.argv.slice(2));
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, cwd: process.cwd() }).then(
    (code) => {
      process.exitCode = code;
    },
  );
}
