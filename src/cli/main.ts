#!/usr/bin/env node
import { Command, CommandIO, ExitCode, InputError, UsageError, parseCommandArgs } from './command';
import { COMMANDS } from './commands';
import { write } from './io';

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: cdk8s-audit <command> [options]',
    '',
    'Kubernetes API-server auditing: policies, backend flags, control-plane wiring and a remote sink.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'cdk8s-audit <command> --help' for a command's options.",
    'Exit codes: 0 ok, 1 a finding or invalid input, 2 a usage error.',
  ].join('\n');
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

export async function main(argv: string[], io: CommandIO): Promise<ExitCode> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    write(argv.length === 0 ? io.stderr : io.stdout, overview());
    return argv.length === 0 ? ExitCode.USAGE : ExitCode.OK;
  }
  if (argv[0] === '--version') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    write(io.stdout, require('../../package.json').version);
    return ExitCode.OK;
  }
  const { command, rest } = findCommand(argv);
  try {
    if (!command) {
      const group = COMMANDS.filter((c) => c.name.startsWith(argv[0] + ' ')).map((c) => c.name);
      const hint = group.length ? `'${argv[0]}' needs a subcommand: ${group.join(', ')}` : `unknown command '${argv[0]}'`;
      throw new UsageError(`${hint}\n\n${overview()}`);
    }
    const args = parseCommandArgs(command, rest);
    if (args.values.help) {
      write(io.stdout, command.help);
      return ExitCode.OK;
    }
    return await command.run(args, io);
  } catch (e) {
    if (e instanceof UsageError) {
      write(io.stderr, `cdk8s-audit: ${e.message}`);
      return ExitCode.USAGE;
    }
    if (e instanceof InputError) {
      write(io.stderr, `cdk8s-audit: ${e.message}`);
      return ExitCode.FINDING;
    }
    write(io.stderr, `cdk8s-audit: internal error: ${(e as Error).stack ?? e}`);
    return ExitCode.FINDING;
  }
}

if (require.main === module) {
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, cwd: process.cwd() }).then(
    (code) => {
      process.exitCode = code;
    },
  );
}
