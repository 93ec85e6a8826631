import { Command, ExitCode, InputError, UsageError, kubernetesVersionOption, stringOption } from '../command';
import { inputPath as pathFromCwd, openInput, readLines, write, writeLine } from '../io';
import { formatBytes } from '../../core/units';
import { loadPolicyFile } from '../policy-input';
import { PolicyDocument, RequestAttributes, evaluatePolicy, requestAttributesFromEvent, toRequestAttributes } from '../../policy';

export const evaluateCommand: Command = {
  name: 'evaluate',
  summary: 'evaluate JSONL requests (or audit events) against a policy, JSONL decisions out',
  help: `Usage: cdk8s-audit evaluate FILE [--input JSONL]

Reads one JSON object per line — request attributes, or audit.k8s.io/v1 Events as written by
the log backend — and writes one decision per line:
  {"line":N,"level":"Metadata","omitStages":["RequestReceived"],"omitManagedFields":true,"ruleIndex":3}
For events, "auditID" and "stage" are copied through, and the request is rebuilt from requestURI
the way the apiserver's request-info parser does.

Request attributes: {"user":{"name":"alice","groups":["dev"]},"verb":"get","namespace":"prod",
  "apiGroup":"","apiVersion":"v1","resource":"secrets","subresource":"","name":"db",
  "resourceRequest":true,"path":"/api/v1/namespaces/prod/secrets/db"}

Options:
  --input FILE             JSONL input (default standard input; '-' also means standard input)
  --kubernetes-version V   version to validate the policy for
  -h, --help               show this help

A line that is not valid JSON or not a request (or longer than 16 MiB) is reported on standard
error with its line number; the other lines are still evaluated, and the exit code is 1. Lines are
read and answered one at a time, so any input size runs in bounded memory.`,
  options: { input: { type: 'string' }, 'kubernetes-version': { type: 'string' } },
  async run(args, io) {
    if (args.positionals.length !== 1) throw new UsageError('evaluate needs exactly one policy FILE');
    const inputPath = stringOption(args, 'input') ?? '-';
    if (args.positionals[0] === '-' && inputPath === '-') throw new UsageError("the policy and the requests cannot both come from standard input: give --input FILE, or the policy as a FILE");
    const policy = await loadPolicyFile(args.positionals[0], io, kubernetesVersionOption(args));
    const { stream: input } = await openInput(pathFromCwd(io.cwd, inputPath), io.stdin, inputPath === '-' ? '(stdin)' : `--input ${inputPath}`);
    let lineCount = 0;
    let bad = 0;
    const report = async (number: number, message: string) => {
      bad++;
      await writeLine(io.stderr, `line ${number}: ${message}`);
    };
    try {
      // One line in, one decision out, each written before the next line is read (waiting for a slow
      // reader of the output): memory stays bounded whatever the size of the input.
      for await (const line of readLines(input, MAX_LINE_BYTES)) {
        lineCount = line.number;
        if ('tooLong' in line) {
          await report(line.number, `longer than ${formatBytes(MAX_LINE_BYTES)} (${line.tooLong} bytes), skipped; an audit event or request is far smaller`);
          continue;
        }
        if (line.text.trim() === '') continue;
        const decided = decide(policy.document, line.text);
        if ('problem' in decided) await report(line.number, decided.problem);
        else await writeLine(io.stdout, JSON.stringify({ line: line.number, ...decided.output }));
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === undefined) throw e;
      throw new InputError(`cannot read ${inputPath === '-' ? '(stdin)' : `--input ${inputPath}`}: ${(e as Error).message}`);
    }
    if (bad > 0) write(io.stderr, `${bad} of ${lineCount} lines could not be evaluated`);
    return bad > 0 ? ExitCode.FINDING : ExitCode.OK;
  },
};

/**
 * The longest input line evaluated: the sink's default request body limit (16 MiB), which no single
 * audit event the sink accepted can exceed. Longer lines are reported and skipped.
 */
const MAX_LINE_BYTES = 16 * 1024 * 1024;

/** One JSONL line → the decision to print, or the problem with the line. */
function decide(policy: PolicyDocument, text: string): { output: object } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { problem: `not valid JSON: ${(e as Error).message}` };
  }
  const isEvent = typeof value === 'object' && value !== null && (value as { kind?: string }).kind === 'Event';
  let request: RequestAttributes;
  try {
    request = isEvent ? requestAttributesFromEvent(value as object) : toRequestAttributes(value);
  } catch (e) {
    return { problem: (e as Error).message };
  }
  const ev = value as { auditID?: string; stage?: string };
  return { output: { ...(isEvent ? { auditID: ev.auditID, stage: ev.stage } : {}), ...evaluatePolicy(policy, request) } };
}
