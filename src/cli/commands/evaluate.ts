import { createInterface } from 'node:readline';
import { createReadStream } from 'node:fs';
import { Command, ExitCode, InputError, UsageError, stringOption } from '../command';
import { write } from '../io';
import { loadPolicyFile } from '../policy-input';
import { RequestAttributes, evaluatePolicy, requestAttributesFromEvent, toRequestAttributes } from '../../policy';

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

A line that is not valid JSON or not a request is reported on standard error with its line
number; the other lines are still evaluated, and the exit code is 1.`,
  options: { input: { type: 'string' }, 'kubernetes-version': { type: 'string' } },
  async run(args, io) {
    if (args.positionals.length !== 1) throw new UsageError('evaluate needs exactly one policy FILE');
    const inputPath = stringOption(args, 'input') ?? '-';
    const policy = await loadPolicyFile(args.positionals[0], io.stdin, stringOption(args, 'kubernetes-version'));
    let input: NodeJS.ReadableStream;
    if (inputPath === '-') {
      input = io.stdin;
    } else {
      input = createReadStream(inputPath);
      await new Promise<void>((resolve, reject) => {
        (input as ReturnType<typeof createReadStream>).once('open', () => resolve()).once('error', (e) => reject(new InputError(`cannot read --input ${inputPath}: ${(e as Error).message}`)));
      });
    }
    let lineNo = 0;
    let bad = 0;
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      lineNo++;
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (e) {
        bad++;
        write(io.stderr, `line ${lineNo}: not valid JSON: ${(e as Error).message}`);
        continue;
      }
      let request: RequestAttributes;
      const isEvent = typeof value === 'object' && value !== null && (value as { kind?: string }).kind === 'Event';
      try {
        request = isEvent ? requestAttributesFromEvent(value as object) : toRequestAttributes(value);
      } catch (e) {
        bad++;
        write(io.stderr, `line ${lineNo}: ${(e as Error).message}`);
        continue;
      }
      const decision = evaluatePolicy(policy.document, request);
      const ev = value as { auditID?: string; stage?: string };
      write(io.stdout, JSON.stringify({ line: lineNo, ...(isEvent ? { auditID: ev.auditID, stage: ev.stage } : {}), ...decision }));
    }
    if (bad > 0) write(io.stderr, `${bad} of ${lineNo} lines could not be evaluated`);
    return bad > 0 ? ExitCode.FINDING : ExitCode.OK;
  },
};
