import { describe, expect, it } from 'vitest';
import { AuditConfigError, REDACTED, problem } from '../../../src/backends/errors';
import { Problem, ProblemError, formatProblem, formatProblemValue, formatProblems, throwIfProblems } from '../../../src/core/problem';
import { formatIssue, policyIssueToProblem } from '../../../src/policy/issue';

describe('formatProblem', () => {
  it.each<[string, Problem, string]>([
    ['field, value, rule and fix', { path: 'server', value: '"sink.audit.svc"', rule: 'is a Service DNS name', fix: 'use the ClusterIP' }, 'server: "sink.audit.svc" is a Service DNS name; use the ClusterIP'],
    ['no value', { path: 'hostWebhookDir', rule: 'is unset while a webhook backend is configured', fix: 'give the host directory' }, 'hostWebhookDir: is unset while a webhook backend is configured; give the host directory'],
    ['no fix', { path: 'rules[0].level', value: '"Foo"', rule: 'is not a level' }, 'rules[0].level: "Foo" is not a level'],
    ['empty path is the document', { path: '', rule: 'has no rules' }, '(document): has no rules'],
    ['a CLI flag as the path', { path: '--audit-log-maxage', value: '-1', rule: 'is negative', fix: 'give 0 or more days' }, '--audit-log-maxage: -1 is negative; give 0 or more days'],
    ['an empty fix is no fix', { path: 'x', rule: 'is wrong', fix: '' }, 'x: is wrong'],
  ])('%s', (_name, p, text) => {
    expect(formatProblem(p)).toBe(text);
  });
});

describe('formatProblemValue', () => {
  it.each<[unknown, string]>([
    ['on', '"on"'],
    ['', '""'],
    [' a ', '" a "'],
    [undefined, '(unset)'],
    [30, '30'],
    [false, 'false'],
    [null, 'null'],
    [REDACTED, '(redacted)'],
  ])('%j → %s', (value, text) => {
    expect(formatProblemValue(value)).toBe(text);
  });
});

describe('formatProblems', () => {
  const a: Problem = { path: 'a', value: '1', rule: 'is odd', fix: 'make it even' };
  it.each<[string, readonly (Problem | string)[], string | undefined, string]>([
    ['one problem, one line', [a], undefined, 'a: 1 is odd; make it even'],
    ['one problem with a subject', [a], 'AuditSink sink', 'AuditSink sink: a: 1 is odd; make it even'],
    ['several: counted and bulleted', [a, 'b: "x" is wrong; fix it'], undefined, '2 problems:\n  - a: 1 is odd; make it even\n  - b: "x" is wrong; fix it'],
    ['several with a subject', [a, a], 'AuditAlerts alerts', 'AuditAlerts alerts: 2 problems:\n  - a: 1 is odd; make it even\n  - a: 1 is odd; make it even'],
  ])('%s', (_name, problems, subject, text) => {
    expect(formatProblems(problems, subject)).toBe(text);
  });
});

describe('the errors built on it', () => {
  it('ProblemError keeps each problem formatted, and its message is formatProblems', () => {
    const e = new ProblemError([{ path: 'port', value: '0', rule: 'is not a TCP port', fix: 'give 1-65535' }, 'name: "" is empty; give a name'], 'FalcoSink falco');
    expect(e).toBeInstanceOf(Error);
    expect(e.problems).toEqual(['port: 0 is not a TCP port; give 1-65535', 'name: "" is empty; give a name']);
    expect(e.message).toBe('FalcoSink falco: 2 problems:\n  - port: 0 is not a TCP port; give 1-65535\n  - name: "" is empty; give a name');
  });

  it('throwIfProblems throws only when there is a problem', () => {
    expect(() => throwIfProblems([])).not.toThrow();
    expect(() => throwIfProblems([{ path: 'x', rule: 'is wrong' }], 'S')).toThrow(new ProblemError([{ path: 'x', rule: 'is wrong' }], 'S'));
  });

  it('AuditConfigError is a ProblemError with the same message shape, and problem() is formatProblem', () => {
    const text = problem('server', 'ftp://x', 'has scheme ftp', 'use https://');
    expect(text).toBe(formatProblem({ path: 'server', value: '"ftp://x"', rule: 'has scheme ftp', fix: 'use https://' }));
    const e = new AuditConfigError([text]);
    expect(e).toBeInstanceOf(ProblemError);
    expect(e.name).toBe('AuditConfigError');
    expect(e.message).toBe('server: "ftp://x" has scheme ftp; use https://');
  });

  it.each([
    [{ path: 'rules[1].level', message: 'unknown level "Foo"', fix: 'use one of None, Metadata, Request, RequestResponse' }, 'rules[1].level: unknown level "Foo"; fix: use one of None, Metadata, Request, RequestResponse'],
    [{ path: '', message: 'the document is empty' }, '(document): the document is empty'],
  ])('a PolicyIssue maps 1:1 to a Problem and formats through formatProblem: %j', (issue, text) => {
    expect(formatIssue(issue)).toBe(text);
    expect(formatProblem(policyIssueToProblem(issue))).toBe(text);
    expect(policyIssueToProblem(issue).path).toBe(issue.path);
    expect(policyIssueToProblem(issue).rule).toBe(issue.message);
  });
});
