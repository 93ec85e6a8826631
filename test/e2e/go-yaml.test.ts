/**
 * Every file cdk8s-audit writes for a Go reader (audit policy, webhook kubeconfig, kubeadm and kind
 * configs, the kind config's kubeadm patch, the example app's node files and kustomization) decoded by
 * the real sigs.k8s.io/yaml (test/go-yaml-check, built by scripts/build-go-yaml-check.sh), with
 * hostile strings wherever the user controls one: names, users, groups, paths, server URLs, tokens.
 * Go must read back exactly the values that were rendered. A control case shows the checker catches
 * the bug: the yaml package's plain (YAML 1.2) stringify of a kubeconfig makes Go read `on` as true.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Chart } from 'cdk8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { renderGoYaml, renderGoYamlDocuments } from '../../src/core/go-yaml';
import { ApiserverAudit } from '../../src/backends/apiserver-audit';
import { WebhookKubeconfigProps, buildWebhookKubeconfig, renderWebhookKubeconfig } from '../../src/backends/kubeconfig';
import { kindCluster, renderKindCluster } from '../../src/control-plane/kind';
import { kubeadmClusterConfiguration, renderKubeadmClusterConfiguration } from '../../src/control-plane/kubeadm';
import { AuditApp } from '../../src/gitops/write-node-files';
import { ClusterAudit } from '../../src/gitops/cluster-audit';
import { PolicyDocument } from '../../src/policy/model';
import { policyToJson, renderPolicyYaml } from '../../src/policy/render';
import { ROOT, runCli } from '../support/cli';
import { Rng } from '../support/rng';
import { makeTempDir, removeTempDir } from './support/processes';

/** Strings YAML 1.1 (go-yaml v2) reads as something else when plain, and a few that break the syntax. */
const HOSTILE = [
  'on', 'off', 'On', 'OFF', 'no', 'No', 'yes', 'y', 'Y', 'n', 'N', 'true', 'False', '~', 'null', 'Null', '',
  '1e3', '1E3', '-1e3', '+.5', '.5', '0x10', '0X10', '0o7', '0O7', '010', '0755', '08', '1_000', '0b101', '-0b1', '+1',
  '2026-01-01', '2026-1-2', '2026-01-01T10:00:00Z', '2026-01-01 10:00:00', '12:30:00', '1:20',
  '.inf', '-.Inf', '.nan', '.NaN', '<<', '-', '- x', '? x', ': x', 'a: b', 'a #b', '#a', ' lead', 'trail ',
  '*a', '&a', '!a', '%a', '@a', '`a', '|', '>', '[a]', '{a}', 'a,b', '"q"', "'q'", 'a\\b', '---', '...',
  'two\nlines', 'tab\there', 'nel\u0085x', 'ls\u2028x', 'ps\u2029x', 'bom\ufeffx', 'del\u007fx', 'c1\u0080x', 'emoji😀',
];

let checker: string;
let dir: string;

/** The checker's path; fails saying how to build it (and how to get Go) when it is missing. */
function goYamlChecker(): string {
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'build-go-yaml-check.sh'), '--print'], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(
      `the Go YAML checker is not built (${r.stdout.trim() || r.stderr.trim()}). Run \`bash scripts/build-go-yaml-check.sh\` ` +
        '(`npm run test:e2e` runs it through scripts/build-k8s.sh); it needs Go 1.22 or newer (Debian: apt-get install golang-go) ' +
        'and the Go module proxy for sigs.k8s.io/yaml.',
    );
  }
  return r.stdout.trim();
}

/** What sigs.k8s.io/yaml reads from each file: its documents, as JSON values. */
function goDecode(files: readonly string[]): Record<string, unknown[]> {
  const r = spawnSync(checker, files, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`go-yaml-check failed (exit ${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown[]>;
}

let fileCount = 0;
/** Writes `text` to a fresh file and returns what Go read from it (one document expected). */
function goReads(text: string): unknown {
  const file = join(dir, `doc-${fileCount++}.yaml`);
  writeFileSync(file, text);
  const docs = goDecode([file])[file];
  expect(docs, `documents Go read from:\n${text}`).toHaveLength(1);
  return docs[0];
}

/** Plain JSON data, as Go would compare it (drops undefined, turns class instances into plain objects). */
function json(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

beforeAll(() => {
  checker = goYamlChecker();
  dir = makeTempDir('go-yaml');
});
afterAll(() => {
  if (dir) removeTempDir(dir);
});

describe('sigs.k8s.io/yaml reads back what renderGoYaml wrote', () => {
  it('every hostile string, as a value, a list item and a key', () => {
    const value = { values: Object.fromEntries(HOSTILE.map((s, i) => [`k${i}`, s])), list: HOSTILE, keys: Object.fromEntries(HOSTILE.map((s) => [s, s])) };
    expect(goReads(renderGoYaml(value))).toEqual(value);
  });

  it('numbers, booleans, null and empty collections keep their types', () => {
    const value = { int: 30, negative: -1, float: 0.5, big: 10485760, yes: true, no: false, none: null, list: [], map: {}, nested: [{ a: [1, 'on'] }] };
    expect(goReads(renderGoYaml(value))).toEqual(value);
  });

  it('seeded random strings built from YAML indicators, resolver prefixes and line breaks', () => {
    const rng = new Rng(Number(process.env.CDK8S_AUDIT_SEED) || 14_3);
    const parts = ['on', 'y', 'n', '~', '0', '1', '7', 'x', 'o', 'b', 'e', 'E', '_', '.', '-', '+', ':', ' ', '#', '\n', '\t', '"', "'", '\\',
      '2026-01-01', '0o', '0x', '<<', 'inf', 'nan', 'a', '%', '!', '&', '*', '?', '|', '>', '@', '`', ',', '[', ']', '{', '}', '\u2028', '\u0085', '---'];
    const strings = Array.from({ length: 2000 }, () => Array.from({ length: 1 + rng.int(4) }, () => rng.pick(parts)).join(''));
    const value = { list: strings, keys: Object.fromEntries(strings.map((s) => [s, s])) };
    expect(goReads(renderGoYaml(value)), `seed ${rng.seed}`).toEqual(value);
  });

  it('a multi-document stream splits and decodes as Kubernetes splits it', () => {
    const docs = [{ a: 'on' }, { b: ['0o7', '---'] }];
    const file = join(dir, 'multi.yaml');
    writeFileSync(file, renderGoYamlDocuments(docs));
    expect(goDecode([file])[file]).toEqual(docs);
  });

  it('control: the plain YAML 1.2 stringify of a kubeconfig is read differently by Go (the bug this renderer fixes)', () => {
    // YAML 1.2 already quotes `0x10` and `0o7`; `on`, `no`, `1_000` and `0b101` are YAML 1.1 only.
    const props: WebhookKubeconfigProps = { server: 'https://10.96.0.50:8443/audit', clusterName: 'on', userName: 'no', contextName: '0b101', tokenFile: '1_000' };
    const doc = buildWebhookKubeconfig(props);
    const got = goReads(stringify(doc, { lineWidth: 0 })) as { clusters: { name: unknown }[]; users: { name: unknown; user: Record<string, unknown> }[] };
    expect(got).not.toEqual(json(doc));
    expect(got.clusters[0].name).toBe(true);
    expect(got.users[0].name).toBe(false);
    expect(got.users[0].user.tokenFile).toBe(1000);
    // The same object through the renderer the package uses.
    expect(goReads(renderWebhookKubeconfig(props))).toEqual(json(doc));
  });
});

/** Hostile strings a field accepts: the builders refuse empty names and whitespace in tokens. */
const NAMES = HOSTILE.filter((s) => s.trim() !== '');
const TOKENS = HOSTILE.filter((s) => s !== '' && !/\s/u.test(s));

describe('the package renderers, with hostile strings in every user-controlled field', () => {
  it('audit policy: users, groups, verbs, namespaces, resources, resource names, URLs', () => {
    const policy: PolicyDocument = {
      apiVersion: 'audit.k8s.io/v1',
      kind: 'Policy',
      omitStages: ['RequestReceived'],
      rules: [
        { level: 'Metadata', users: HOSTILE, userGroups: HOSTILE, verbs: HOSTILE, namespaces: HOSTILE, resources: [{ group: '', resources: HOSTILE, resourceNames: HOSTILE }] },
        { level: 'None', nonResourceURLs: HOSTILE.map((s) => `/${s}`), userGroups: ['system:authenticated'] },
      ],
    } as PolicyDocument;
    expect(goReads(renderPolicyYaml(policy))).toEqual(json(policyToJson(policy)));
  });

  it.each(NAMES.map((s, i) => [i, s, TOKENS[i % TOKENS.length]]))('webhook kubeconfig #%i: names, paths, server URL and token %j', (_i, name, token) => {
    const file = { clusterName: name, userName: `${name}`, contextName: name };
    const cases: WebhookKubeconfigProps[] = [
      { server: `https://10.96.0.50:8443/${encodeURIComponent(name)}`, ...file, certificateAuthorityFile: name, clientCertificateFile: name, clientKeyFile: name, tlsServerName: name },
      { server: 'https://10.96.0.50:8443/audit', ...file, token, tokenFile: undefined },
      { server: 'https://10.96.0.50:8443/audit', ...file, tokenFile: name },
    ];
    for (const props of cases) expect(goReads(renderWebhookKubeconfig(props))).toEqual(json(buildWebhookKubeconfig(props)));
  });

  it('kubeadm ClusterConfiguration and kind Cluster (and its kubeadm patch) with hostile host paths, names and images', () => {
    const audit = new ApiserverAudit({ log: { path: '/var/log/kubernetes/audit/0755' }, webhook: {} });
    // The audit flags' values are strings for kubeadm (`audit-log-maxage: "30"`), numbers to YAML 1.1 when plain.
    expect(goReads(renderKubeadmClusterConfiguration(audit))).toEqual(json(kubeadmClusterConfiguration(audit)));
    let checked = 0;
    for (const s of NAMES) {
      const options = { hostPolicyDir: s, hostLogDir: `${s}/log`, name: s, nodeImage: s, hostWebhookDir: `./${s}` };
      const intended = json(kindCluster(audit, options)) as { nodes: { kubeadmConfigPatches: string[] }[] };
      const got = goReads(renderKindCluster(audit, options)) as typeof intended;
      expect(got).toEqual(intended);
      // kind hands the patch text to kubeadm, another Go YAML reader.
      expect(goReads(got.nodes[0].kubeadmConfigPatches[0])).toEqual(parse(intended.nodes[0].kubeadmConfigPatches[0]));
      checked++;
    }
    expect(checked).toBe(NAMES.length);
  });
});

describe('the CLI verbs that print files for Go readers', () => {
  /** The verb's YAML, decoded by Go, equals its own --format json output. */
  async function expectYamlMeansJson(args: string[]): Promise<void> {
    const yaml = await runCli(args);
    const json = await runCli([...args, '--format', 'json']);
    expect(yaml.code, yaml.stderr).toBe(0);
    expect(json.code, json.stderr).toBe(0);
    expect(goReads(yaml.stdout)).toEqual(JSON.parse(json.stdout));
  }

  it.each([['on'], ['0o7'], ['y'], ['1_000'], ['2026-01-01']])('kubeconfig, kind-config and kubeadm-config with %j in every name and path', async (s) => {
    await expectYamlMeansJson(['kubeconfig', '--server', `https://10.96.0.50:8443/${s}`, '--token-file', s, '--ca-path', s, '--tls-server-name', s]);
    const log = ['--log-path', '/var/log/kubernetes/audit/audit.log'];
    await expectYamlMeansJson(['kind-config', ...log, '--host-policy-dir', join(dir, s), '--host-log-dir', join(dir, s, s), '--name', s, '--node-image', s]);
    await expectYamlMeansJson(['kubeadm-config', ...log]);
  });
});

/** Every YAML file under `root` (node files, kustomization), relative paths sorted. */
function yamlFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(e) && !e.endsWith('.k8s.yaml')) out.push(p);
    }
  };
  walk(root);
  return out.sort();
}

/**
 * Go's reading of each file against the yaml package's (YAML 1.2 core schema). The renderer only adds
 * quotes, so the 1.2 reading is the intended one; a plain `on` or `0o7` would make the two differ.
 */
function expectGoAgreesWithIntent(files: readonly string[], root: string): void {
  const go = goDecode(files);
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const intended = text.split(/^---[ \t]*$/m).filter((d) => d.trim()).map((d) => parse(d) as unknown);
    expect(go[f], relative(root, f)).toEqual(json(intended));
  }
}

describe('node files written by synth', () => {
  it('the example app (main.ts): every dist/node YAML file and the kustomization', () => {
    const outdir = join(dir, 'example-dist');
    const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', 'main.ts'], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, CDK8S_OUTDIR: outdir }, timeout: 120_000,
    });
    if (r.status !== 0) throw new Error(`synth of main.ts failed (exit ${r.status}):\n${r.stderr}`);
    const files = yamlFiles(outdir);
    expect(files.map((f) => relative(outdir, f))).toEqual(expect.arrayContaining(['kustomization.yaml', 'node/files.yaml', 'node/kind-cluster.yaml', 'node/kubeadm-config.yaml', 'node/rootfs/etc/kubernetes/audit/policy.yaml', 'node/rootfs/etc/kubernetes/audit-webhook/kubeconfig.yaml']));
    expectGoAgreesWithIntent(files, outdir);
  });

  it.each([['on'], ['0o7'], ['2026-01-01'], ['0755'], ['y']])('a ClusterAudit app with the hostile string %j in its names, paths and kind options', (s) => {
    const cwd = join(dir, `app-${fileCount++}`);
    const outdir = join(cwd, 'dist');
    mkdirSync(outdir, { recursive: true });
    const app = new AuditApp({ outdir, nodeFiles: { cwd } });
    const chart = new Chart(app, 'cluster');
    new ClusterAudit(chart, 'audit', {
      webhook: {
        externalSink: true,
        kubeconfig: { server: `https://10.96.0.50:8443/${s}`, clusterName: s, userName: s, contextName: s, tokenFile: s, certificateAuthorityFile: s, tlsServerName: s },
      },
      kind: { name: s, nodeImage: s },
    });
    app.synth();
    const files = yamlFiles(outdir);
    expectGoAgreesWithIntent(files, outdir);
    const kubeconfig = goDecode([join(outdir, 'node', 'rootfs', 'etc', 'kubernetes', 'audit-webhook', 'kubeconfig.yaml')]);
    const doc = Object.values(kubeconfig)[0][0] as { users: { name: unknown; user: { tokenFile: unknown } }[] };
    expect(doc.users[0]).toEqual({ name: s, user: { tokenFile: s } });
    const kind = Object.values(goDecode([join(outdir, 'node', 'kind-cluster.yaml')]))[0][0] as { name: unknown };
    expect(kind.name).toBe(s);
  });
});
