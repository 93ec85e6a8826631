/**
 * YAML for files that Go programs read: the audit policy, the webhook kubeconfig, kubeadm and kind
 * configs, kustomizations and every other node file. Kubernetes components decode them with
 * sigs.k8s.io/yaml, which resolves plain scalars with go-yaml v2's YAML 1.1 rules: `on`, `no`, `y`,
 * `~`, `1e3`, `0x10`, `0o7`, `010`, `1_000` are booleans, nulls and numbers there, and keys are
 * resolved the same way (a key `on` becomes the JSON key "true"). A user's name, path or URL
 * written plain could change type on the node, so every string goes through this one renderer.
 *
 * The `yaml` package's YAML 1.1 schema already quotes most of these; `goReadsPlainAsNonString`
 * mirrors go-yaml v2's resolver (go.yaml.in/yaml/v2 resolve.go, v2.4.x, used by sigs.k8s.io/yaml
 * v1.6.0) for the forms that schema misses (`0o7`, `0X10`, `<<`, Go's `.5`), and those strings are
 * double-quoted too. test/e2e/go-yaml.test.ts decodes the output with the real Go library.
 * Pure: no I/O.
 */
import { Document, Scalar, visit } from 'yaml';

/** go-yaml v2's map of plain scalars it resolves to bool, null, float or the merge key. */
const RESOLVE_MAP: ReadonlySet<string> = new Set([
  'y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON',
  'n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF',
  '', '~', 'null', 'Null', 'NULL',
  '.nan', '.NaN', '.NAN', '.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF', '-.inf', '-.Inf', '-.INF',
  '<<',
]);

/** What Go's strconv.ParseInt/ParseUint(s, 0, 64) accept, after go-yaml removed every `_` (overflow included: quoting is harmless). */
const GO_INT = /^[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/;
/** go-yaml v2's yamlStyleFloat. */
const GO_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
/** The start of every timestamp go-yaml v2 tries (YYYY-M-D, optionally followed by a time). */
const GO_TIMESTAMP = /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?$/;
/** What strconv.ParseFloat accepts for a scalar starting with `.` (go-yaml's '.' hint). */
const GO_DOT_FLOAT = /^\.[0-9]+(?:[eE][-+]?[0-9]+)?$/;

/**
 * True when go-yaml v2 would resolve `s`, written as a plain (unquoted) scalar, to anything but a
 * string: bool, null, int, float, timestamp or the `<<` merge key.
 */
export function goReadsPlainAsNonString(s: string): boolean {
  if (RESOLVE_MAP.has(s)) return true;
  const first = s[0];
  if (first === '.') return GO_DOT_FLOAT.test(s);
  if (first === '+' || first === '-' || (first >= '0' && first <= '9')) {
    if (GO_TIMESTAMP.test(s)) return true;
    const plain = s.replace(/_/g, '');
    return GO_INT.test(plain) || GO_FLOAT.test(plain);
  }
  return false;
}

/**
 * Characters the `yaml` package writes raw but libyaml (go-yaml's scanner) does not read back as
 * written (test/e2e/go-yaml.test.ts found these): YAML 1.1 line breaks (NEL, LS, PS) fold inside
 * any scalar, and C1 controls, BOM, U+FFFE/U+FFFF are refused as non-printable. Lone surrogates cannot be encoded in UTF-8 at all.
 */
const NEEDS_GO_ESCAPE = /[\u{7F}-\u{9F}\u{2028}\u{2029}\u{FEFF}\u{FFFE}\u{FFFF}\p{Surrogate}]/u;
/**
 * Multi-line strings the yaml package writes as block scalars that libyaml misreads: a first
 * non-empty line starting with a blank (a tab there is refused as indentation; leading blank lines set the
 * auto-detected indentation), or a line of only blanks (dropped or refused when it holds a tab).
 */
const RISKY_BLOCK = /^\n*[ \t]|(?:^|\n)[ \t]+(?:\n|$)/;

function needsGoEscape(s: string): boolean {
  return NEEDS_GO_ESCAPE.test(s) || (s.includes('\n') && RISKY_BLOCK.test(s));
}

/** A double-quoted YAML scalar with every non-printable or line-breaking character escaped. */
function goDoubleQuoted(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp === 0x2028 || cp === 0x2029 || cp === 0xfeff || cp === 0xfffe || cp === 0xffff) out += '\\u' + cp.toString(16).padStart(4, '0');
    else if (cp >= 0xd800 && cp <= 0xdfff) throw new Error(`${JSON.stringify(s)} holds a lone UTF-16 surrogate (U+${cp.toString(16).toUpperCase()}), which UTF-8 cannot encode; remove it`);
    else out += ch;
  }
  return out + '"';
}

/** The `yaml` package's YAML 1.1 schema without the merge tag, whose writer prints the string `<<` plain whatever the node's style. */
function withoutMerge(tags: unknown[]): unknown[] {
  return tags.filter((t) => (t as { tag?: string }).tag !== 'tag:yaml.org,2002:merge');
}

/**
 * Renders one value (plain JSON data: objects, arrays, strings, numbers, booleans, null) as YAML
 * that sigs.k8s.io/yaml decodes back to exactly that value, keys included. Keys keep their
 * insertion order; lines are never folded.
 */
export function renderGoYaml(value: unknown): string {
  const doc = new Document(value, { version: '1.1', customTags: withoutMerge as never });
  // Strings the yaml package would write with raw breaks or non-printables are swapped for plain
  // placeholders and written by goDoubleQuoted after rendering.
  const escaped = new Map<string, string>();
  let nonce = 'cdk8s-audit-go-yaml-escape';
  while (JSON.stringify(value)?.includes(nonce)) nonce += '-x';
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'string') return;
      if (needsGoEscape(node.value)) {
        const placeholder = `${nonce}-${escaped.size}-end`;
        escaped.set(placeholder, goDoubleQuoted(node.value));
        node.value = placeholder;
        node.type = Scalar.PLAIN;
      } else if (goReadsPlainAsNonString(node.value)) {
        // The 1.1 schema quotes most of these already; this covers the forms it misses.
        node.type = Scalar.QUOTE_DOUBLE;
      }
    },
  });
  let text = doc.toString({ lineWidth: 0 });
  for (const [placeholder, quoted] of escaped) text = text.replace(placeholder, () => quoted);
  return text;
}

/** Several values as one multi-document stream (`---` between documents), each rendered by renderGoYaml. */
export function renderGoYamlDocuments(values: readonly unknown[]): string {
  return values.map((v) => renderGoYaml(v)).join('---\n');
}
