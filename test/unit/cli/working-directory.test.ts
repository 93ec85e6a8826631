/**
 * A relative path on the command line is taken from the command's io.cwd, not from the process's
 * working directory: main() embedded in a program (or these tests, which run it in-process) gives its
 * own cwd. Defect: validate, lint, explain, evaluate, detections and sink rules opened relative paths
 * from process.cwd(), so they read the wrong file or none.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../../support/cli';
import { tempDir } from '../support/temp-dir';

const cwd = tempDir('cwd');
writeFileSync(join(cwd, 'policy.yaml'), 'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n  - level: Metadata\n');
writeFileSync(join(cwd, 'requests.jsonl'), JSON.stringify({ verb: 'list', resourceRequest: true, path: '/api/v1/pods', resource: 'pods' }) + '\n');
writeFileSync(join(cwd, 'sample.jsonl'), JSON.stringify({ kind: 'Event', stage: 'ResponseComplete', verb: 'create', objectRef: { resource: 'services' } }) + '\n');

describe('relative paths resolve against io.cwd', () => {
  it('the test runs main() somewhere else than the process (or this test could not fail)', () => {
    expect(process.cwd()).not.toBe(cwd);
    expect(ROOT).not.toBe(cwd);
  });

  it.each([
    ['validate FILE', ['validate', 'policy.yaml'], /policy\.yaml: valid/],
    ['lint FILE', ['lint', 'policy.yaml'], /^policy\.yaml: no findings/],
    ['explain FILE', ['explain', 'policy.yaml', '--verb', 'get', '--url', '/api/v1/pods'], /Metadata/],
    ['evaluate FILE --input FILE', ['evaluate', 'policy.yaml', '--input', 'requests.jsonl'], /"level":"Metadata"/],
    ['detections FILE --sample-log FILE', ['detections', 'policy.yaml', '--sample-log', 'sample.jsonl'], /volume: .* of the sample/],
  ])('%s', async (_name, args, out) => {
    const r = await runCli(args, { cwd });
    expect(r.stderr).not.toMatch(/cannot read|no such file|ENOENT/);
    expect(r.stdout).toMatch(out);
  });

  it('sink rules validate/eval read the rules and --input from io.cwd; messages name the path as written', async () => {
    const preset = await runCli(['sink', 'rules', 'preset', 'baseline']);
    expect(preset.code, preset.stderr).toBe(0);
    writeFileSync(join(cwd, 'rules.yaml'), preset.stdout);
    const v = await runCli(['sink', 'rules', 'validate', 'rules.yaml'], { cwd });
    expect(v.stdout).toMatch(/^rules\.yaml: valid: 3 rules/);
    expect(v.code).toBe(0);
    expect(await runCli(['sink', 'rules', 'eval', 'rules.yaml', '--input', 'sample.jsonl'], { cwd })).toMatchObject({ code: 0, stderr: '' });
    const missing = await runCli(['validate', 'nope.yaml'], { cwd });
    expect(missing.stderr).toContain('cannot read nope.yaml: no such file');
  });
});
