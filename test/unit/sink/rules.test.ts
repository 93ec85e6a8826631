/**
 * Alert rules: the file format's strict validation (every problem names the path with the rule's name,
 * the value, the rule broken and the fix), the evaluation semantics (audit Policy selectors, except,
 * stages, outcome, IPv4/IPv6 source ranges, first-seen keys), the preset defaults, and the
 * `sink rules validate|preset|eval` verbs as child processes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ALERT_RULES, presetAlertRules } from '../../../src/presets/alert-rules';
import { getPreset, PRESET_NAMES } from '../../../src/presets';
import { evaluatePolicy } from '../../../src/policy/evaluate';
import { requestAttributesFromHttp } from '../../../src/policy/request-attributes';
import { AlertRule, AlertRulesDocument, AlertRulesError, alertRulesProblems, parseAlertRules, renderAlertRulesYaml } from '../../../src/sink-contract/alert-rules';
import { AuditEventFields, InMemoryFirstSeen, ipInCidrs, RulesEngine } from '../../../src/sink-server/rules-engine';
import { parseCidr } from '../../../src/core/cidr';
import { runCli } from '../../support/cli';
import { tempDir } from '../support/temp-dir';

const doc = (rules: AlertRule[], cidrSets?: Record<string, string[]>): AlertRulesDocument => ({ apiVersion: 'cdk8s-audit.io/v1alpha1', kind: 'AlertRules', ...(cidrSets ? { cidrSets } : {}), rules });

let n = 0;
function event(over: Partial<AuditEventFields> & { uri: string; verb: string; user?: string; groups?: string[] }): AuditEventFields {
  const { uri, user, groups, ...rest } = over;
  return {
    auditID: `id-${++n}`,
    stage: 'ResponseComplete',
    stageTimestamp: '2026-01-01T00:00:00.000000Z',
    requestURI: uri,
    sourceIPs: ['10.1.2.3'],
    responseStatus: { code: 200 },
    ...(user ? { user: { username: user, groups: groups ?? ['system:authenticated'] } } : {}),
    ...rest,
  };
}

function problems(value: unknown): string[] {
  return alertRulesProblems(value).map((i) => `${i.path}: ${i.message}${i.fix ? ` | ${i.fix}` : ''}`);
}

describe('rules file validation', () => {
  it('names the path (with the rule name), the value, the rule and the fix for each problem', () => {
    const found = problems({
      apiVersion: 'cdk8s-audit.io/v1',
      kind: 'AlertRules',
      cidrSets: { approved: ['10.0.0.0/33', '192.168.1.1'] },
      rules: [
        { name: 'Exec', type: 'match', severty: 'critical', match: { verbs: ['GET'], resources: [{ group: 'Apps', resources: ['Pods'] }] } },
        { name: 'cidr', type: 'source-cidr', allowedSourceCidrSets: ['aproved'], sourceIPs: 'first', key: ['user'] },
        { name: 'cidr', type: 'first-seen', key: ['user', 'user', 'ip'], maxKeys: 0, stages: [] },
        { name: 'urls', type: 'match', match: { nonResourceURLs: ['healthz', '/a*b'], namespaces: ['x'] }, outcome: 'ok' },
        { name: 'names', type: 'match', match: { resources: [{ resourceNames: ['x'] }] }, except: { users: ['a'] } },
        { name: 'typo', type: 'mach' },
      ],
    });
    expect(found).toEqual([
      'apiVersion: "cdk8s-audit.io/v1" is not cdk8s-audit.io/v1alpha1 | write apiVersion: cdk8s-audit.io/v1alpha1',
      'cidrSets.approved[0]: "10.0.0.0/33" is not a CIDR (address/prefix length) | write an IPv4 or IPv6 CIDR such as 10.0.0.0/8 or fd00::/8',
      'cidrSets.approved[1]: "192.168.1.1" is not a CIDR (address/prefix length) | write 192.168.1.1/32 for one address',
      'rules[0] (Exec).severty: unknown field (a rule has: name, type, severity, description, match, except, stages, outcome, allowedSourceCidrs, allowedSourceCidrSets, sourceIPs, key, maxKeys, ipv4PrefixLength, ipv6PrefixLength, threshold, window, newKeysWithin) | did you mean "severity"?',
      'rules[0] (Exec).name: "Exec" is not a rule name (1-63 lowercase letters, digits and \'-\', starting and ending alphanumeric) | e.g. exec-into-pods; it becomes the rule label of audit_sink_alerts_total',
      'rules[0] (Exec).match.verbs[0]: "GET" is not a verb any request has (verbs are lowercase: get, list, watch, create, update, patch, delete, deletecollection, post, put, head, options) | did you mean "get"?',
      'rules[0] (Exec).match.resources[0].group: "Apps" is not an API group (a lowercase DNS subdomain, "" for the core group, or "*") | e.g. rbac.authorization.k8s.io',
      'rules[0] (Exec).match.resources[0].resources[0]: "Pods" is not a resource (lowercase plural, optionally /subresource) | e.g. pods or pods/exec',
      'rules[1] (cidr).key: only a first-seen or rate rule has key; this rule is type "source-cidr" | remove it, or make the rule type: first-seen or rate',
      'rules[1] (cidr).allowedSourceCidrSets[0]: "aproved" is not a set in cidrSets (approved) | did you mean "approved"?',
      'rules[1] (cidr).sourceIPs: "first" is not one of all, client, peer | use one of all, client, peer',
      'rules[2] (cidr).name: "cidr" is also the name of rules[1] | give every rule its own name',
      'rules[2] (cidr).stages: the list is empty, so the rule never fires | list stages or leave it out (default ResponseComplete, Panic)',
      'rules[2] (cidr).key[2]: "ip" is not one of user, namespace, resource, name, verb, sourceIP, sourceNetwork | use one of user, namespace, resource, name, verb, sourceIP, sourceNetwork',
      'rules[2] (cidr).key: ["user","user","ip"] lists a field twice | list each field once',
      'rules[2] (cidr).maxKeys: 0 is not a whole number from 1 to 10000000 | leave it out for 100000',
      'rules[3] (urls).match.nonResourceURLs[0]: "healthz": a non-resource URL is "*" or a path starting with "/" with "*" only at the end | e.g. "/healthz*"',
      'rules[3] (urls).match.nonResourceURLs[1]: "/a*b": a non-resource URL is "*" or a path starting with "/" with "*" only at the end | e.g. "/healthz*"',
      'rules[3] (urls).match.nonResourceURLs: nonResourceURLs cannot be combined with resources or namespaces (a request is one or the other, so the selector would match nothing) | split it into two rules',
      'rules[3] (urls).outcome: "ok" is not one of any, success, failure | use one of any, success, failure',
      'rules[4] (names).match.resources[0].resourceNames: resourceNames need resources (names of which resource?) | add resources: [...]',
      'rules[4] (names).except: {"users":["a"]} is not a list of selectors | write e.g. except: [{userGroups: [system:masters]}]',
      'rules[5] (typo).type: "mach" is not one of match, source-cidr, first-seen, rate | did you mean "match"?',
    ]);
  });

  it('a source-cidr rule needs approved ranges; an empty file, duplicate keys and YAML errors are refused with their line', () => {
    expect(problems(doc([{ name: 'x', type: 'source-cidr' }]))).toEqual([
      'rules[0] (x).allowedSourceCidrs: a source-cidr rule needs the approved addresses | give allowedSourceCidrs: [10.0.0.0/8] and/or allowedSourceCidrSets: [name]',
    ]);
    expect(problems(doc([]))).toEqual(['rules: the list is empty | add at least one rule (cdk8s-audit sink rules preset NAME prints defaults)']);
    expect(() => parseAlertRules('apiVersion: cdk8s-audit.io/v1alpha1\nkind: AlertRules\nkind: AlertRules\nrules: []\n', 'r.yaml')).toThrow(/r\.yaml: invalid alert rules \(1 problem\):\n {2}- line 3, column 1: not valid YAML or JSON: Map keys must be unique; fix: remove one of the duplicate keys/);
    expect(() => parseAlertRules('rules: [\n')).toThrow(AlertRulesError);
  });

  it('renders what it parses (YAML round trip) and refuses to render an invalid document', () => {
    const d = presetAlertRules('pci-dss');
    expect(parseAlertRules(renderAlertRulesYaml(d))).toEqual(d);
    expect(() => renderAlertRulesYaml(doc([{ name: 'x', type: 'match', match: { verbs: ['read'] } }]))).toThrow(/rules\[0\] \(x\)\.match\.verbs\[0\]: "read" is not a verb/);
  });
});

describe('rule evaluation', () => {
  it('match: audit Policy selector semantics (subresources, groups, namespaces, non-resource URLs), except, default stages, outcome', () => {
    const engine = new RulesEngine(
      doc([
        { name: 'exec', type: 'match', match: { resources: [{ group: '', resources: ['pods/exec'] }] } },
        { name: 'pods-any', type: 'match', match: { resources: [{ group: '', resources: ['pods/*'] }], namespaces: ['prod'] } },
        { name: 'rbac-writes', type: 'match', match: { verbs: ['create', 'delete'], resources: [{ group: 'rbac.authorization.k8s.io' }] }, except: [{ userGroups: ['system:masters'] }, { users: ['flux'] }] },
        { name: 'anon-ok', type: 'match', match: { userGroups: ['system:unauthenticated'] }, except: [{ nonResourceURLs: ['/healthz*', '/version'] }], outcome: 'success' },
        { name: 'failed', type: 'match', match: { users: ['mallory'] }, outcome: 'failure', stages: ['ResponseStarted', 'ResponseComplete'] },
      ]),
    );
    const rules = (e: AuditEventFields) => engine.evaluate(e).map((a) => a.rule);
    expect(rules(event({ uri: '/api/v1/namespaces/prod/pods/web/exec?command=id', verb: 'create', user: 'alice' }))).toEqual(['exec', 'pods-any']);
    expect(rules(event({ uri: '/api/v1/namespaces/dev/pods/web/exec', verb: 'create', user: 'alice' }))).toEqual(['exec']);
    // `pods/*` also matches plain pods (the apiserver compares only the resource).
    expect(rules(event({ uri: '/api/v1/namespaces/prod/pods/web', verb: 'get', user: 'alice' }))).toEqual(['pods-any']);
    // Only ResponseComplete and Panic by default: one alert per request.
    expect(rules(event({ uri: '/api/v1/namespaces/prod/pods/web/exec', verb: 'create', user: 'alice', stage: 'ResponseStarted' }))).toEqual([]);
    expect(rules(event({ uri: '/apis/rbac.authorization.k8s.io/v1/namespaces/x/roles', verb: 'create', user: 'bob' }))).toEqual(['rbac-writes']);
    expect(rules(event({ uri: '/apis/rbac.authorization.k8s.io/v1/namespaces/x/roles', verb: 'create', user: 'root', groups: ['system:masters'] }))).toEqual([]);
    expect(rules(event({ uri: '/apis/rbac.authorization.k8s.io/v1/namespaces/x/roles', verb: 'create', user: 'flux' }))).toEqual([]);
    expect(rules(event({ uri: '/apis/rbac.authorization.k8s.io/v1/namespaces/x/roles', verb: 'get', user: 'bob' }))).toEqual([]);
    const anon = { user: 'system:anonymous', groups: ['system:unauthenticated'] };
    expect(rules(event({ uri: '/version', verb: 'get', ...anon }))).toEqual([]);
    expect(rules(event({ uri: '/healthz/etcd', verb: 'get', ...anon }))).toEqual([]);
    expect(rules(event({ uri: '/api/v1/namespaces', verb: 'list', ...anon, responseStatus: { code: 403 } }))).toEqual([]);
    expect(rules(event({ uri: '/api/v1/namespaces', verb: 'list', ...anon }))).toEqual(['anon-ok']);
    // Outcome needs a response code: an event without one is neither success nor failure.
    expect(rules(event({ uri: '/api/v1/namespaces', verb: 'list', ...anon, responseStatus: undefined }))).toEqual([]);
    expect(rules(event({ uri: '/api/v1/pods', verb: 'list', user: 'mallory', responseStatus: { code: 401 }, stage: 'ResponseStarted' }))).toEqual(['failed']);
    expect(rules(event({ uri: '/api/v1/pods', verb: 'list', user: 'mallory' }))).toEqual([]);
    // Failed authentication has no user: user selectors do not match it.
    expect(rules(event({ uri: '/api/v1/pods', verb: 'list', responseStatus: { code: 401 } }))).toEqual([]);
  });

  it('source-cidr: IPv4, IPv6 and IPv4-mapped addresses against the approved ranges; all / client / peer', () => {
    const rule = (sourceIPs: 'all' | 'client' | 'peer'): AlertRule => ({
      name: `src-${sourceIPs}`, type: 'source-cidr', match: { verbs: ['create'] }, allowedSourceCidrs: ['10.0.0.0/8'], allowedSourceCidrSets: ['v6'], sourceIPs,
    });
    const engine = new RulesEngine(doc([rule('all'), rule('client'), rule('peer')], { v6: ['fd00::/8', '::1/128'] }));
    const fired = (ips: string[]) => engine.evaluate(event({ uri: '/api/v1/namespaces/a/configmaps', verb: 'create', user: 'u', sourceIPs: ips })).map((a) => `${a.rule}:${a.unapprovedSourceIPs!.join(',')}`);
    expect(fired(['10.9.9.9'])).toEqual([]);
    expect(fired(['fd12:3456::1'])).toEqual([]);
    expect(fired(['::ffff:10.1.1.1'])).toEqual([]);
    expect(fired(['192.0.2.1'])).toEqual(['src-all:192.0.2.1', 'src-client:192.0.2.1', 'src-peer:192.0.2.1']);
    // X-Forwarded-For from outside, connection from inside: the client is outside, the peer is not.
    expect(fired(['203.0.113.7', '10.0.0.1'])).toEqual(['src-all:203.0.113.7', 'src-client:203.0.113.7']);
    // A forged approved X-Forwarded-For does not hide an outside peer.
    expect(fired(['10.0.0.1', '2001:db8::1'])).toEqual(['src-all:2001:db8::1', 'src-peer:2001:db8::1']);
    expect(fired(['not-an-ip'])).toEqual(['src-all:not-an-ip', 'src-client:not-an-ip', 'src-peer:not-an-ip']);
    const cidrs = ['10.0.0.0/8', '2001:db8::/32'].map((c) => parseCidr(c)!);
    expect([ipInCidrs('10.255.255.255', cidrs), ipInCidrs('11.0.0.0', cidrs), ipInCidrs('2001:db8:ffff::1', cidrs), ipInCidrs('2001:db9::1', cidrs)]).toEqual([true, false, true, false]);
  });

  it('first-seen: fires once per key (user and namespace here), remembers at most maxKeys', () => {
    const memory = new InMemoryFirstSeen(() => 2);
    const engine = new RulesEngine(doc([{ name: 'new-reader', type: 'first-seen', match: { resources: [{ group: '', resources: ['secrets'] }] }, outcome: 'success', key: ['user', 'namespace'] }]), memory);
    const read = (user: string, ns: string, code = 200) => engine.evaluate(event({ uri: `/api/v1/namespaces/${ns}/secrets/s`, verb: 'get', user, responseStatus: { code } })).length;
    expect([read('alice', 'a'), read('alice', 'a'), read('alice', 'b'), read('bob', 'a', 403), read('bob', 'a'), read('bob', 'a')]).toEqual([1, 0, 1, 0, 1, 0]);
    // Three keys seen, two remembered: the oldest (alice, a) is forgotten and fires again.
    expect(memory.size('new-reader')).toBe(2);
    expect(read('alice', 'a')).toBe(1);
    const a = new RulesEngine(doc([{ name: 'r', type: 'first-seen', key: ['resource'] }])).evaluate(event({ uri: '/apis/apps/v1/namespaces/x/deployments/d/scale', verb: 'get', user: 'u' }))[0];
    expect(a.firstSeen).toEqual({ resource: 'apps/deployments/scale' });
    expect(a.reason).toBe('first time: resource "apps/deployments/scale"');
  });

  it('an alert carries who, what, where and why, never a body', () => {
    const engine = new RulesEngine(doc([{ name: 'exec', type: 'match', severity: 'critical', description: 'exec into a pod', match: { resources: [{ group: '', resources: ['pods/exec'] }] } }]));
    const [a] = engine.evaluate(
      {
        ...event({ uri: '/api/v1/namespaces/prod/pods/web/exec?command=sh', verb: 'create', user: 'alice', groups: ['dev'] }),
        impersonatedUser: { username: 'bob' },
        objectRef: { resource: 'pods', subresource: 'exec', namespace: 'prod', name: 'web' },
        userAgent: 'kubectl/v1.35',
        requestObject: { secret: 'do-not-copy' },
      } as AuditEventFields,
      42,
    );
    expect(a).toEqual({
      kind: 'cdk8s-audit/alert', rule: 'exec', type: 'match', severity: 'critical', description: 'exec into a pod', reason: 'matched rule exec', seq: 42,
      auditID: a.auditID, stage: 'ResponseComplete', time: '2026-01-01T00:00:00.000000Z', user: 'alice', groups: ['dev'], impersonatedUser: 'bob', verb: 'create',
      requestURI: '/api/v1/namespaces/prod/pods/web/exec?command=sh', object: { apiGroup: '', resource: 'pods', subresource: 'exec', namespace: 'prod', name: 'web' },
      sourceIPs: ['10.1.2.3'], code: 200, userAgent: 'kubectl/v1.35',
    });
  });
});

describe('preset alert rules', () => {
  it('every preset gets valid defaults; baseline the three without site-specific ranges; options are validated', () => {
    for (const p of PRESET_NAMES) expect(alertRulesProblems(presetAlertRules(p)), p).toEqual([]);
    expect(presetAlertRules('baseline').rules.map((r) => r.name)).toEqual(['exec-into-pod', 'rbac-change-by-non-admin', 'anonymous-request-succeeded']);
    expect(presetAlertRules(['cis', 'baseline']).rules.map((r) => r.name)).toEqual(DEFAULT_ALERT_RULES.map((d) => d.build({ approvedSourceCidrs: [], protectedNamespaces: [], adminGroups: [], adminUsers: [] }).name));
    const custom = presetAlertRules('pci-dss', { approvedSourceCidrs: ['192.168.10.0/24'], protectedNamespaces: ['payments'], adminGroups: ['platform'], adminUsers: ['system:serviceaccount:flux-system:kustomize-controller'] });
    expect(custom.cidrSets).toEqual({ approved: ['192.168.10.0/24'] });
    expect(custom.rules[0].match!.namespaces).toEqual(['kube-system', 'kube-public', 'kube-node-lease', 'payments']);
    expect(custom.rules.find((r) => r.name === 'rbac-change-by-non-admin')!.except).toEqual([
      { userGroups: ['system:masters', 'platform'] },
      { users: ['system:apiserver', 'system:kube-controller-manager', 'system:kube-scheduler', 'system:serviceaccount:kube-system:clusterrole-aggregation-controller', 'system:serviceaccount:flux-system:kustomize-controller'] },
    ]);
    expect(() => presetAlertRules('pci-dss', { approvedSourceCidrs: ['10.0.0.0'] })).toThrow(/cidrSets\.approved\[0\]: "10\.0\.0\.0" is not a CIDR/);
    expect(() => presetAlertRules('pci')).toThrow(/unknown preset "pci"; valid presets: baseline, cis, pci-dss/);
  });
});

describe('preset alert rules see what the preset policy records', () => {
  // A request each default rule is about, and a user it fires for.
  const examples: Record<string, [string, string, { name: string; groups: string[] }]> = {
    'protected-namespace-write-from-unapproved-source': ['POST', '/api/v1/namespaces/kube-system/configmaps', { name: 'alice', groups: ['system:authenticated'] }],
    'new-secret-reader': ['GET', '/api/v1/namespaces/payments/secrets/db', { name: 'alice', groups: ['system:authenticated'] }],
    'exec-into-pod': ['POST', '/api/v1/namespaces/dev/pods/web/exec?command=id', { name: 'alice', groups: ['system:authenticated'] }],
    'exec-from-unapproved-source': ['POST', '/api/v1/namespaces/dev/pods/web/attach', { name: 'alice', groups: ['system:authenticated'] }],
    'rbac-change-by-non-admin': ['POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/dev/rolebindings', { name: 'bob', groups: ['system:authenticated'] }],
    'anonymous-request-succeeded': ['GET', '/api/v1/namespaces/payments', { name: 'system:anonymous', groups: ['system:unauthenticated'] }],
    'new-user-object-burst': ['POST', '/api/v1/namespaces/dev/configmaps', { name: 'alice', groups: ['system:authenticated'] }],
    'user-from-new-network': ['GET', '/api/v1/namespaces/dev/pods', { name: 'alice', groups: ['system:authenticated'] }],
  };
  it.each(PRESET_NAMES)('%s: every request its rules are about is logged at Metadata or more with the ResponseComplete stage', (preset) => {
    const policy = getPreset(preset).policy;
    const rules = presetAlertRules(preset);
    for (const rule of rules.rules) {
      const [method, uri, user] = examples[rule.name];
      const attrs = requestAttributesFromHttp(method, uri, user);
      // The example is one the rule is about…
      const engine = new RulesEngine({ ...rules, rules: [rule] });
      // (a rate rule fires on the event after its threshold)
      const fired = Array.from({ length: (rule.threshold ?? 0) + 1 }, () => engine.evaluate({ auditID: 'x', stage: 'ResponseComplete', verb: attrs.verb, requestURI: uri, user: { username: user.name, groups: user.groups }, sourceIPs: ['203.0.113.1'], responseStatus: { code: 200 } })).flat();
      expect(fired.map((a) => a.rule), `${rule.name} example`).toEqual([rule.name]);
      // …and the preset's policy records it so that the sink sees it.
      const decision = evaluatePolicy(policy, attrs);
      expect(decision.level, `${preset}: ${rule.name}`).not.toBe('None');
      expect(decision.omitStages, `${preset}: ${rule.name}`).not.toContain('ResponseComplete');
    }
  });
});

describe('sink rules CLI', () => {
  it('validate: exit 0 naming the rules, exit 1 listing every problem; preset prints rules that validate; eval prints alerts and exits 1 when any fired', async () => {
    const dir = tempDir('rules-cli');
    const preset = await runCli(['sink', 'rules', 'preset', 'pci-dss', '--approved-cidr', '10.0.0.0/8', '--protected-namespace', 'payments']);
    expect(preset.code, preset.stderr).toBe(0);
    const good = join(dir, 'good.yaml');
    writeFileSync(good, preset.stdout);
    const v = await runCli(['sink', 'rules', 'validate', good]);
    expect(v.code).toBe(0);
    expect(v.stdout).toBe(`${good}: valid: 8 rules (protected-namespace-write-from-unapproved-source, new-secret-reader, exec-into-pod, exec-from-unapproved-source, rbac-change-by-non-admin, anonymous-request-succeeded, new-user-object-burst, user-from-new-network)\n`);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: cdk8s-audit.io/v1alpha1\nkind: AlertRules\nrules:\n  - name: x\n    type: source-cidr\n    allowedSourceCidrs: [10.0.0.0/40]\n');
    const b = await runCli(['sink', 'rules', 'validate', good, bad]);
    expect(b.code).toBe(1);
    expect(b.stderr).toBe(`${bad}: invalid alert rules (1 problem):\n  - rules[0] (x).allowedSourceCidrs[0]: "10.0.0.0/40" is not a CIDR (address/prefix length); fix: write an IPv4 or IPv6 CIDR such as 10.0.0.0/8 or fd00::/8\n`);
    expect((await runCli(['sink', 'rules', 'validate'])).code).toBe(2);
    expect((await runCli(['sink', 'rules', 'preset', 'nope'])).code).toBe(2);
    const badCidr = await runCli(['sink', 'rules', 'preset', 'cis', '--approved-cidr', '300.1.1.1/8']);
    expect(badCidr.code).toBe(1);
    expect(badCidr.stderr).toMatch(/--approved-cidr\[0\]: "300\.1\.1\.1\/8" is not a CIDR/);
    expect(JSON.parse((await runCli(['sink', 'rules', 'preset', 'baseline', '--format', 'json'])).stdout).rules).toHaveLength(3);

    const events = join(dir, 'events.jsonl');
    const exec = { kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', auditID: 'a1', stage: 'ResponseComplete', verb: 'create', requestURI: '/api/v1/namespaces/dev/pods/web/exec', user: { username: 'alice', groups: ['system:authenticated'] }, sourceIPs: ['203.0.113.9'], responseStatus: { code: 101 } };
    const read = { ...exec, auditID: 'a2', verb: 'get', requestURI: '/api/v1/namespaces/dev/configmaps/c', sourceIPs: ['10.0.0.1'] };
    writeFileSync(events, `${JSON.stringify(exec)}\n${JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: [read, { ...exec, auditID: 'a3', sourceIPs: ['10.0.0.2'] }] })}\n`);
    const e = await runCli(['sink', 'rules', 'eval', good, '--input', events]);
    expect(e.code).toBe(1);
    expect(e.stdout.trim().split('\n').map((l) => { const a = JSON.parse(l); return `${a.auditID} ${a.rule}`; })).toEqual(['a1 exec-into-pod', 'a1 exec-from-unapproved-source', 'a1 user-from-new-network', 'a2 user-from-new-network', 'a3 exec-into-pod']);
    writeFileSync(events, `${JSON.stringify({ ...read, responseStatus: { code: 403 } })}\n`);
    expect(await runCli(['sink', 'rules', 'eval', good, '--input', events])).toMatchObject({ code: 0, stdout: '' });
    writeFileSync(events, 'not json\n');
    expect((await runCli(['sink', 'rules', 'eval', good, '--input', events])).stderr).toMatch(/line 1: not JSON/);
  });
});
