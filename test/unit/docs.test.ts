import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOCS_COMMAND, generatedDocs, replaceSection } from '../../scripts/docs';

const ROOT = join(__dirname, '..', '..');

describe('documentation generated from the code tables', () => {
  it.each(generatedDocs(ROOT).map((d) => [d.file, d] as const))(`%s is current (fix: ${DOCS_COMMAND})`, (file, doc) => {
    expect(doc.current, `${file} differs from the table it is generated from; run \`${DOCS_COMMAND}\` and commit the result`).toBe(doc.expected);
  });

  it('replaces only the text between the markers, and refuses a file without them', () => {
    const text = 'before\n<!-- BEGIN t: generated -->\nold\nlines\n<!-- END t -->\nafter\n';
    expect(replaceSection(text, 'X.md', 't', 'new\n')).toBe('before\n<!-- BEGIN t: generated -->\nnew\n<!-- END t -->\nafter\n');
    expect(() => replaceSection('no markers\n', 'X.md', 't', 'new')).toThrow(/X\.md: the markers "<!-- BEGIN t: … -->" and "<!-- END t -->" are missing/);
  });
});
