/**
 * Documentation generated from the tables in the code, so the docs cannot drift from what the code does:
 * docs/flags.md from the flag table, and the README's lint rule table from LINT_RULES. `npm run docs`
 * rewrites what differs; test/unit/docs.test.ts fails while anything differs and names this command.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderFlagReference } from '../src/backends/flag-docs';
import { renderLintRulesMarkdown } from '../src/policy/lint-rules';

export const DOCS_COMMAND = 'npm run docs';

/** A generated document: a whole file, or the part of a file between `<!-- BEGIN name… -->` and `<!-- END name -->`. */
interface GeneratedDoc {
  readonly file: string;
  readonly section?: string;
  readonly render: () => string;
}

const GENERATED: readonly GeneratedDoc[] = [
  { file: 'docs/flags.md', render: renderFlagReference },
  { file: 'README.md', section: 'lint-rules', render: renderLintRulesMarkdown },
];

/** `text` with the lines between the section's markers replaced by `body`; throws when the markers are missing. */
export function replaceSection(text: string, file: string, name: string, body: string): string {
  const begin = new RegExp(`^<!-- BEGIN ${name}[ :].*-->\\n`, 'm').exec(text);
  const endMarker = `<!-- END ${name} -->`;
  const end = begin ? text.indexOf(endMarker, begin.index) : -1;
  if (!begin || end < 0) throw new Error(`${file}: the markers "<!-- BEGIN ${name}: … -->" and "${endMarker}" are missing; put them around the generated part`);
  const from = begin.index + begin[0].length;
  return `${text.slice(0, from)}${body.trimEnd()}\n${text.slice(end)}`;
}

/** Every generated document as it is on disk and as the code says it should be. */
export function generatedDocs(root: string): { readonly file: string; readonly current: string; readonly expected: string }[] {
  return GENERATED.map((doc) => {
    const current = readFileSync(join(root, doc.file), 'utf8');
    const expected = doc.section === undefined ? doc.render() : replaceSection(current, doc.file, doc.section, doc.render());
    return { file: doc.file, current, expected };
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
