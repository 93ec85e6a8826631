/**
 * Documentation generated from the tables in the code, so the docs cannot drift from what the code does:
 * docs/flags.md from the flag table; in the README, the verb table from the CLI's COMMANDS (each verb's usage
 * line and summary, as its --help says), the lint rule table from LINT_RULES and the preset table from PRESETS.
 * `npm run docs`
 * rewrites what differs; test/unit/docs.test.ts fails while anything differs and names this command.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderFlagReference } from '../src/backends/flag-docs';
import { COMMANDS } from '../src/cli/commands';
import { renderLintRulesMarkdown } from '../src/policy/lint-rules';
import { PRESETS } from '../src/presets';

export const DOCS_COMMAND = 'npm run docs';

/** A generated document: a whole file, or the part of a file between `<!-- BEGIN name… -->` and `<!-- END name -->`. */
interface GeneratedDoc {
  readonly file: string;
  readonly section?: string;
  readonly render: () => string;
}

const GENERATED: readonly GeneratedDoc[] = [
  { file: 'docs/flags.md', render: renderFlagReference },
  { file: 'README.md', section: 'verbs', render: renderVerbTable },
  { file: 'README.md', section: 'lint-rules', render: renderLintRulesMarkdown },
  { file: 'README.md', section: 'presets', render: renderPresetTable },
];

const cell = (v: unknown) => String(v).replace(/\|/g, '\\|');

/** The README's verb table: every verb in the order `cdk8s-audit --help` lists them, its usage line and summary. */
function renderVerbTable(): string {
  // The usage lines open each --help: `Usage: cdk8s-audit …`, then `       cdk8s-audit …` for other forms.
  const usages = (help: string) => {
    const lines = help.split('\n');
    const end = lines.findIndex((l, i) => i > 0 && !/^\s+cdk8s-audit /.test(l));
    return lines.slice(0, end < 0 ? lines.length : end).map((l) => l.replace(/^(Usage:)?\s*cdk8s-audit /, ''));
  };
  const row = (c: (typeof COMMANDS)[number]) => `| ${usages(c.help).map((u) => `\`${cell(u)}\``).join('<br>')} | ${cell(c.summary)} |`;
  return ['| verb | what |', '|---|---|', ...COMMANDS.map(row)].join('\n');
}

/**
 * The README's preset table: each preset's framework, node log rotation, sink retention and its basis. The two
 * scanner columns hold for every preset because test/unit/presets/scanner-checks.test.ts runs both checks on
 * every preset in PRESETS (and every pair), so a preset added there is checked before it shows here.
 */
function renderPresetTable(): string {
  return [
    '| preset | framework | node log (`--audit-log-maxage` / `-maxbackup`) | sink (`--retention-max-age`, no `--retention-max-bytes`) | retention basis | kubescape C-0161 | kube-bench CIS 1.2.16–1.2.19, 3.2.1 |',
    '|---|---|---|---|---|---|---|',
    ...PRESETS.map(
      (p) =>
        `| \`${p.name}\` | ${cell(p.framework)} | ${p.logFlags['audit-log-maxage']} d / ${p.logFlags['audit-log-maxbackup']} | ${p.retention.totalDays} d | ${cell(p.retention.basis)} | passes | passes |`,
    ),
  ].join('\n');
}

/** `text` with the lines between the section's markers replaced by `body`; throws when the markers are missing. */
export function replaceSection(text: string, file: string, name: string, body: string): string {
  const begin = new RegExp(`^<!-- BEGIN ${name}[ :].*-->\\n`, 'm').exec(text);
  const endMarker = `<!-- END ${name} -->`;
  const end = begin ? text.indexOf(endMarker, begin.index) : -1;
  if (!begin || end < 0) throw new Error(`${file}: the markers "<!-- BEGIN ${name}: … -->" and "${endMarker}" are missing; put them around the generated part`);
  const from = begin.index + begin[0].length;
  return `${text.slice(0, from)}${body.trimEnd()}\n${text.slice(end)}`;
}

/** Every generated file as it is on disk and as the code says it should be (all its sections applied). */
export function generatedDocs(root: string): { readonly file: string; readonly current: string; readonly expected: string }[] {
  const files = [...new Set(GENERATED.map((doc) => doc.file))];
  return files.map((file) => {
    const current = readFileSync(join(root, file), 'utf8');
    const expected = GENERATED.filter((doc) => doc.file === file).reduce(
      (text, doc) => (doc.section === undefined ? doc.render() : replaceSection(text, file, doc.section, doc.render())),
      current,
    );
    return { file, current, expected };
  });
}

if (require.main === module) {
  const root = join(__dirname, '..');
  for (const doc of generatedDocs(root)) {
    if (doc.current === doc.expected) continue;
    writeFileSync(join(root, doc.file), doc.expected);
    console.log(`updated ${doc.file}`);
  }
}
