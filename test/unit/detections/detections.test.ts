import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli';
import { tempDir } from '../support/temp-dir';
import { Level, PolicyDocument, RequestAttributes, Stage, evaluatePolicy, getPreset } from '../../../src';
import {
  DETECTIONS, FALCO_DETECTIONS, WatchedRequest, checkDetection, checkDetections, estimateGapVolume, fieldValues, formatVolume, minimumLevel, watchedAttributes,
} from '../../../src/detections';
import { levelRank } from '../../../src/policy/model';
import { probeAttributes } from '../../../src/presets/compose';

const byName = (name: string) => {
  const d = FALCO_DETECTIONS.find((x) => x.name === name);
  if (!d) throw new Error(`no detection ${name}`);
  return d;
};

describe('the Falco detection table', () => {
  it('names each rule once, cites its source, watches requests and reads fields', () => {
    expect(new Set(FALCO_DETECTIONS.map((d) => d.name)).size).toBe(FALCO_DETECTIONS.length);
    for (const d of FALCO_DETECTIONS) {
      expect(d.source.file, d.name).toMatch(/k8s_audit_rules\.yaml/);
      expect(d.source.version, d.name).toMatch(/\S/);
      expect(d.watches.length, d.name).toBeGreaterThan(0);
      expect(d.reads.length, d.name).toBeGreaterThan(0);
    }
  });
  it.each([
    ['Create Privileged Pod', Level.REQUEST],
    ['Create Sensitive Mount Pod', Level.REQUEST],
    ['Attach to cluster-admin Role', Level.REQUEST],
    ['K8s Secret Get Successfully', Level.METADATA],
    ['Attach/Exec Pod', Level.METADATA],
    ['Anonymous Request Allowed', Level.METADATA],
  ])('%s needs %s', (name, level) => {
    expect(minimumLevel(byName(name).reads)).toBe(level);
  });
});

describe('the Sigma and Elastic tables', () => {
  it.each([
    ['sigma', 16, /^SigmaHQ\/sigma rules\/application\/kubernetes\/audit\/kubernetes_audit_\w+\.yml$/, /^commit [0-9a-f]{8} \(rule date \d{4}-\d{2}-\d{2}\)$/],
    ['elastic', 45, /^elastic\/detection-rules rules\/integrations\/kubernetes\/\w+\.toml$/, /^commit [0-9a-f]{8} \(updated \d{4}\/\d{2}\/\d{2}\)$/],
  ] as const)('%s: every rule of the folder once (%i), with its id, file, commit and date; watches requests, reads fields', (set, count, file, version) => {
    const table = DETECTIONS[set];
    expect(table).toHaveLength(count);
    expect(new Set(table.map((d) => d.name)).size).toBe(count);
    expect(new Set(table.map((d) => d.id)).size).toBe(count);
    expect(new Set(table.map((d) => d.source.file)).size).toBe(count);
    for (const d of table) {
      expect(d.ruleSet).toBe(set);
      expect(d.id, d.name).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(d.source.file, d.name).toMatch(file);
      expect(d.source.version, d.name).toMatch(version);
      expect(d.watches.length * d.reads.length, d.name).toBeGreaterThan(0);
      for (const w of d.watches) expect(w.verbs.length, d.name).toBeGreaterThan(0);
    }
  });
  it.each([
    ['sigma', 'Privileged Container Deployed', Level.REQUEST],
    ['sigma', 'Kubernetes Secrets Enumeration', Level.METADATA],
    ['sigma', 'Kubernetes Unauthorized or Unauthenticated Access', Level.METADATA],
    ['elastic', 'Kubernetes Pod Created With HostPID', Level.REQUEST],
    ['elastic', 'Kubernetes Cluster-Admin Role Binding Created', Level.REQUEST_RESPONSE],
    ['elastic', 'Kubernetes RBAC Wildcard Elevation on Existing Role', Level.REQUEST_RESPONSE],
    ['elastic', 'Kubernetes User Exec into Pod', Level.REQUEST],
    ['elastic', 'Kubernetes Anonymous User Create/Update/Patch Pods Request', Level.REQUEST],
    ['elastic', 'Kubernetes Pod Exec Potential Reverse Shell', Level.METADATA],
  ] as const)('%s %s needs %s', (set, name, level) => {
    const d = DETECTIONS[set].find((x) => x.name === name);
    expect(d && minimumLevel(d.reads, d.levels)).toBe(level);
  });
  it('pci-dss silences the Events Deleted rules of both sets (its ignore-events rule) and the pod-body rules; detections for all three sets cover them, and Event deletion is the only Event request raised', () => {
    const pci = getPreset('pci-dss').policy;
    const open = (policy: PolicyDocument, set: 'sigma' | 'elastic') => checkDetections(policy, [set]).filter((r) => r.status === 'not-covered').map((r) => r.detection.name);
    expect(open(pci, 'sigma')).toEqual(['Privileged Container Deployed', 'Container With A hostPath Mount Created', 'Kubernetes Events Deleted']);
    expect(open(pci, 'elastic')).toEqual([
      'Kubernetes Privileged Pod Created', 'Kubernetes Container Created with Excessive Linux Capabilities', 'Kubernetes Pod Created With HostIPC', 'Kubernetes Pod Created With HostNetwork',
      'Kubernetes Pod Created With HostPID', 'Kubernetes Pod Created with a Sensitive hostPath Volume', 'Kubernetes Suspicious Assignment of Controller Service Account',
      'Kubernetes Exposed Service Created With Type NodePort', 'Kubernetes Events Deleted', 'Kubernetes User Exec into Pod',
      'Kubernetes Potential Endpoint Permission Enumeration Attempt by Anonymous User Detected', 'Kubernetes Anonymous User Create/Update/Patch Pods Request',
    ]);
    for (const set of ['sigma', 'elastic'] as const) {
      const r = checkDetections(pci, [set]).find((x) => x.detection.name === 'Kubernetes Events Deleted');
      expect(r?.gaps[0].level).toBe(Level.NONE);
    }
    const all = getPreset('pci-dss', { detections: ['falco', 'sigma', 'elastic'] }).policy;
    expect(checkDetections(all).filter((r) => r.status === 'not-covered').map((r) => r.detection.name)).toEqual([]);
    const events = (verb: string) => watchedAttributes({ verbs: [verb], group: '', resource: 'events' }, verb);
    expect(evaluatePolicy(all, events('delete')).level).toBe(Level.METADATA);
    expect(evaluatePolicy(all, events('create')).level).toBe(Level.NONE);
  });
});

describe("presetOptions.detections raises exactly the levels the set's rules need, never secret bodies", () => {
  const pci = getPreset('pci-dss').policy;
  const SECRETS = ['secrets', 'configmaps', 'serviceaccounts/token', 'tokenreviews'];
  it.each(['falco', 'sigma', 'elastic'] as const)('%s', (set) => {
    const composed = getPreset('pci-dss', { detections: [set] });
    // Per watched request: the most that any detection of the set (not withheld) whose watches include it needs. A watch
    // without a namespace or user stands for all of them ("default" and the detection user are only representatives).
    const covers = (w: WatchedRequest, a: RequestAttributes) =>
      w.verbs.includes(a.verb) && w.group === (a.apiGroup ?? '') && w.resource === a.resource && (w.subresource ?? '') === (a.subresource ?? '') &&
      (w.namespace === undefined || w.namespace === a.namespace) && (w.user === undefined || w.user.name === a.user?.name);
    const rows = DETECTIONS[set].map((d) => checkDetection(pci, d)).filter((r) => r.status !== 'withheld');
    const watched = rows.flatMap((r) => r.detection.watches.flatMap((w) => w.verbs.map((v) => watchedAttributes(w, v))));
    for (const a of watched) {
      const need = rows.filter((r) => r.detection.watches.some((w) => covers(w, a))).map((r) => r.minLevel).reduce((x, y) => (levelRank(y) > levelRank(x) ? y : x), Level.NONE);
      const before = evaluatePolicy(pci, a).level;
      const expected = levelRank(before) >= levelRank(need) ? before : need;
      expect(evaluatePolicy(composed.policy, a).level, `${a.verb} ${a.path} by ${a.user?.name}`).toBe(expected);
    }
    const inserted = composed.origins.filter((o) => o.kind === 'detection').length;
    expect(composed.policy.rules.length - pci.rules.length).toBe(inserted);
    expect(inserted).toBeGreaterThan(0);
    for (const probe of getPreset('pci-dss').requirements.flatMap((r) => r.probes.map(probeAttributes))) {
      expect(levelRank(evaluatePolicy(composed.policy, probe).level), probe.path).toBeGreaterThanOrEqual(levelRank(evaluatePolicy(pci, probe).level));
    }
    for (const resource of SECRETS) {
      const [res, sub] = resource.split('/');
      for (const verb of ['get', 'list', 'create', 'update', 'patch', 'delete']) {
        const group = resource === 'tokenreviews' ? 'authentication.k8s.io' : '';
        const a = watchedAttributes({ verbs: [verb], group, resource: res, ...(sub ? { subresource: sub } : {}), ...(resource === 'tokenreviews' ? { clusterScoped: true } : {}) }, verb);
        expect(levelRank(evaluatePolicy(composed.policy, a).level), `${verb} ${resource}`).toBeLessThanOrEqual(levelRank(Level.METADATA));
      }
    }
  });
});

describe('minimumLevel and fieldValues', () => {
  it.each([
    [['verb', 'objectRef.resource'], Level.METADATA],
    [['verb', 'requestObject.spec.hostPID'], Level.REQUEST],
    [['responseObject.metadata.name'], Level.REQUEST_RESPONSE],
    [['requestObjectLike'], Level.METADATA],
  ])('%j → %s', (reads, level) => expect(minimumLevel(reads)).toBe(level));

  const event = {
    verb: 'create',
    annotations: { 'authorization.k8s.io/decision': 'allow' },
    requestObject: { spec: { containers: [{ image: 'a', securityContext: { privileged: true } }, { image: 'b' }], hostPID: false } },
  };
  it.each([
    ['verb', ['create']],
    ['annotations[authorization.k8s.io/decision]', ['allow']],
    ['requestObject.spec.containers[].image', ['a', 'b']],
    ['requestObject.spec.containers[].securityContext.privileged', [true]],
    ['requestObject.spec.hostPID', [false]],
    ['requestObject.spec.hostNetwork', []],
    ['responseObject.metadata', []],
  ])('%s', (path, values) => expect(fieldValues(event, path)).toEqual(values));
});

describe('checkDetections', () => {
  const pci = getPreset('pci-dss').policy;
  const pciFalco = getPreset('pci-dss', { detections: ['falco'] });

  it("reports the pci-dss preset's Falco gaps: pod specs, NodePort services, Ingress TLS need Request", () => {
    const open = checkDetections(pci, ['falco']).filter((r) => r.status === 'not-covered').map((r) => r.detection.name);
    expect(open).toEqual(expect.arrayContaining(['Create Privileged Pod', 'Create Sensitive Mount Pod', 'Create HostNetwork Pod', 'Create NodePort Service', 'Pod Created in Kube Namespace']));
    const gap = checkDetection(pci, byName('Create Privileged Pod')).gaps[0];
    expect(gap.level).toBe(Level.METADATA);
    expect(gap.ruleIndex).not.toBeNull();
    expect(gap.fixRule).toEqual({ level: Level.REQUEST, verbs: ['create'], resources: [{ group: '', resources: ['pods'] }] });
    expect(gap.fix).toMatch(/rule \d+ gives Metadata; insert before rule \d+/);
  });

  it('with detections: falco, no Falco detection is not-covered; the configmap credential rule stays withheld (configmap bodies)', () => {
    const results = checkDetections(pciFalco.policy, ['falco']);
    expect(results.filter((r) => r.status === 'not-covered').map((r) => r.detection.name)).toEqual([]);
    expect(results.filter((r) => r.status === 'withheld').map((r) => r.detection.name)).toEqual(['Create/Modify Configmap With Private Credentials']);
    expect(pciFalco.origins.filter((o) => o.kind === 'detection').length).toBeGreaterThan(0);
  });

  it('detections only raise levels: every watched request and every requirement probe gets at least what it got before', () => {
    const requests = FALCO_DETECTIONS.flatMap((d) => d.watches.flatMap((w) => w.verbs.map((v) => watchedAttributes(w, v))));
    const probes = getPreset('pci-dss').requirements.flatMap((r) => r.probes.map(probeAttributes));
    for (const a of [...requests, ...probes]) {
      expect(levelRank(evaluatePolicy(pciFalco.policy, a).level), a.path).toBeGreaterThanOrEqual(levelRank(evaluatePolicy(pci, a).level));
    }
  });

  it('keeps the stricter level: with all bodies, pod creation stays at RequestResponse; secrets and configmaps stay at Metadata', () => {
    const all = getPreset('pci-dss', { bodyLevel: 'all-bodies' as never, detections: ['falco'] }).policy;
    const pod = watchedAttributes(byName('Create Privileged Pod').watches[0], 'create');
    expect(evaluatePolicy(all, pod).level).toBe(Level.REQUEST_RESPONSE);
    for (const resource of ['secrets', 'configmaps']) {
      expect(evaluatePolicy(all, watchedAttributes({ verbs: ['create'], group: '', resource }, 'create')).level).toBe(Level.METADATA);
    }
  });

  it('a policy omitting ResponseStarted silences Attach/Exec Pod, and the fix names the omitStages', () => {
    const policy: PolicyDocument = { apiVersion: 'audit.k8s.io/v1', kind: 'Policy', omitStages: [Stage.RESPONSE_STARTED], rules: [{ level: Level.METADATA }] };
    const r = checkDetection(policy, byName('Attach/Exec Pod'));
    expect(r.status).toBe('not-covered');
    expect(r.gaps[0].stageOmitted).toBe(Stage.RESPONSE_STARTED);
    expect(r.gaps[0].fix).toMatch(/remove ResponseStarted from the policy's omitStages/);
  });

  it('no matching rule: level None, the fix appends a rule', () => {
    const policy: PolicyDocument = { apiVersion: 'audit.k8s.io/v1', kind: 'Policy', rules: [{ level: Level.METADATA, verbs: ['get'] }] };
    const gap = checkDetection(policy, byName('K8s Deployment Created')).gaps[0];
    expect(gap.level).toBe(Level.NONE);
    expect(gap.ruleIndex).toBeNull();
    expect(gap.insertAt).toBe(1);
  });
});

describe('estimateGapVolume: the bodies a proposed rule adds to a sample log', () => {
  const gap = checkDetection(getPreset('pci-dss').policy, byName('Create Privileged Pod')).gaps[0];
  const ev = (extra: object) => ({ kind: 'Event', stage: 'ResponseComplete', verb: 'create', objectRef: { resource: 'pods', apiGroup: '' }, ...extra });
  const body = { spec: { containers: [{ name: 'c' }] } };
  it.each([
    ['one event with a body', [ev({ requestObject: body })], { events: 1, measured: 1, addedBytes: JSON.stringify(body).length }],
    ['recorded without body: counted, not measured', [ev({})], { events: 1, measured: 0, addedBytes: 0 }],
    ['recorded below the needed level without body: not measured', [ev({ level: 'Metadata' })], { events: 1, measured: 0, addedBytes: 0 }],
    ['recorded at the needed level without body (the request had none): measured, 0 bytes', [ev({ level: 'Request' }), ev({ level: 'RequestResponse' })], { events: 2, measured: 2, addedBytes: 0 }],
    ['other stage, verb, resource or subresource: ignored', [ev({ stage: 'ResponseStarted', requestObject: body }), ev({ verb: 'update', requestObject: body }),
      ev({ objectRef: { resource: 'services' }, requestObject: body }), ev({ objectRef: { resource: 'pods', subresource: 'binding' }, requestObject: body })], { events: 0, measured: 0, addedBytes: 0 }],
  ])('%s', (_, sample, expected) => expect(estimateGapVolume(gap, sample)).toEqual(expected));
  it("counts only the events the proposed rule would decide: an anonymous-only rule ignores other users' requests", () => {
    const anonymous = DETECTIONS.elastic.find((d) => d.name === 'Kubernetes Anonymous User Create/Update/Patch Pods Request');
    const g = anonymous && checkDetection(getPreset('pci-dss').policy, anonymous).gaps[0];
    expect(g?.fixRule?.userGroups).toEqual(['system:unauthenticated']);
    const by = (username: string, groups: string[]) => ev({ user: { username, groups }, objectRef: { resource: 'pods', namespace: 'default' }, requestObject: body });
    expect(estimateGapVolume(g!, [by('system:anonymous', ['system:unauthenticated']), by('alice', ['system:authenticated'])])).toEqual({ events: 1, measured: 1, addedBytes: JSON.stringify(body).length });
  });
  it.each([
    [{ events: 0, measured: 0, addedBytes: 0 }, 'no such request in the sample'],
    [{ events: 3, measured: 3, addedBytes: 2048 }, '+2 KiB over 3 event(s) of the sample'],
    [{ events: 3, measured: 3, addedBytes: 2150 }, '+2.1 KiB over 3 event(s) of the sample'],
    [{ events: 3, measured: 1, addedBytes: 100 }, '+100 B over 1 event(s) of the sample (2 of 3 recorded without bodies: not measured)'],
  ])('formatVolume %j', (v, text) => expect(formatVolume(v)).toBe(text));
});

describe('cdk8s-audit detections', () => {
  const dir = tempDir('detections');
  const write = (name: string, policy: PolicyDocument) => {
    const p = join(dir, name);
    writeFileSync(p, stringify(policy));
    return p;
  };
  const pci = write('pci.yaml', getPreset('pci-dss').policy);
  const pciFalco = write('pci-falco.yaml', getPreset('pci-dss', { detections: ['falco'] }).policy);

  it('exits 1 on the pci-dss preset and names the gaps with the deciding rule and the fix', async () => {
    const r = await runCli(['detections', pci, '--rule-set', 'falco']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/falco: Create Privileged Pod: not-covered \(needs Request\)\n\s+create pods in default: rule \d+ gives Metadata; insert before rule \d+/);
  });
  it('exits 0 with detections: falco (the withheld configmap rule does not fail it)', async () => {
    const r = await runCli(['detections', pciFalco]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/0 not covered, 1 withheld/);
  });
  it("--sample-log adds each proposed rule's volume; a missing file or a file without events exits 1 naming the flag", async () => {
    const sample = join(dir, 'sample.jsonl');
    writeFileSync(sample, `${JSON.stringify({ kind: 'Event', stage: 'ResponseComplete', verb: 'create', objectRef: { resource: 'services' }, requestObject: { spec: { type: 'NodePort' } } })}\nnot json\n`);
    const r = await runCli(['detections', pci, '--sample-log', sample]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/create services in default: rule \d+ gives Metadata; insert[^\n]*\n\s+volume: \+28 B over 1 event\(s\) of the sample/);
    const missing = await runCli(['detections', pci, '--sample-log', join(dir, 'nope.jsonl')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--sample-log .*nope.jsonl: ENOENT/);
    const empty = join(dir, 'empty.jsonl');
    writeFileSync(empty, 'hello\n');
    expect((await runCli(['detections', pci, '--sample-log', empty])).stderr).toMatch(/--sample-log .*empty.jsonl: no audit events/);
  });
  it('--rule-set sigma reports its gaps; exit 1', async () => {
    const r = await runCli(['detections', pci, '--rule-set', 'sigma']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/sigma: Kubernetes Events Deleted: not-covered \(needs Metadata\)\n\s+delete events in default: rule \d+ gives None/);
  });
  const ELASTIC_OPEN = [
    'Kubernetes Privileged Pod Created', 'Kubernetes Container Created with Excessive Linux Capabilities', 'Kubernetes Pod Created With HostIPC', 'Kubernetes Pod Created With HostNetwork',
    'Kubernetes Pod Created With HostPID', 'Kubernetes Pod Created with a Sensitive hostPath Volume', 'Kubernetes Suspicious Assignment of Controller Service Account',
    'Kubernetes Exposed Service Created With Type NodePort', 'Kubernetes Events Deleted', 'Kubernetes User Exec into Pod',
    'Kubernetes Potential Endpoint Permission Enumeration Attempt by Anonymous User Detected', 'Kubernetes Anonymous User Create/Update/Patch Pods Request',
  ];
  it('--rule-set elastic: every rule once, the 12 gaps with fixes (exit 1); --allow naming all 12 exits 0, 11 exits 1; JSON carries the rule_id', async () => {
    const r = await runCli(['detections', pci, '--rule-set', 'elastic']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\b33 covered, 12 not covered, 0 withheld \(secret bodies\), of 45/);
    expect(r.stdout).toMatch(/elastic: Kubernetes User Exec into Pod: not-covered \(needs Request\)\n\s+create pods\/exec in default: rule \d+ gives Metadata; insert before rule \d+/);
    expect((await runCli(['detections', pci, '--rule-set', 'elastic', '--allow', ELASTIC_OPEN.join(',')])).code).toBe(0);
    expect((await runCli(['detections', pci, '--rule-set', 'elastic', '--allow', ELASTIC_OPEN.slice(1).join(',')])).code).toBe(1);
    const json = JSON.parse((await runCli(['detections', pci, '--rule-set', 'elastic', '--format', 'json'])).stdout);
    expect(json).toHaveLength(45);
    expect(json.find((x: { name: string }) => x.name === 'Kubernetes Cluster-Admin Role Binding Created')).toMatchObject({
      id: 'a2951930-dd35-438c-b10e-1bbdc5881cb4', status: 'covered', minLevel: 'RequestResponse',
    });
  });
  it.each(['preset', 'report'])('%s --help lists every rule set --detections takes', async (verb) => {
    expect((await runCli([verb, '--help'])).stdout).toMatch(/--detections SET\[,SET\] +raise the levels these detection rules need \(falco, sigma, elastic\)/);
  });
  it.each(['sigma', 'elastic'])('preset pci-dss --detections %s composes a policy detections --rule-set %s calls covered (exit 0)', async (set) => {
    const r = await runCli(['preset', 'pci-dss', '--detections', set]);
    expect(r.code).toBe(0);
    const check = await runCli(['detections', '-', '--rule-set', set], { input: r.stdout });
    expect(check.code, check.stdout).toBe(0);
    expect(check.stdout).toMatch(/ 0 not covered, 0 withheld/);
  });
  it('--allow names are checked against the chosen set', async () => {
    const r = await runCli(['detections', pci, '--rule-set', 'sigma', '--allow', 'Kubernetes Privileged Pod Created']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--allow "Kubernetes Privileged Pod Created": no such sigma detection/);
  });
  it('--allow lists accepted gaps; JSON output carries status, level and fix', async () => {
    const open = ['Create Disallowed Pod', 'Create Privileged Pod', 'Create Sensitive Mount Pod', 'Create HostNetwork Pod', 'Create HostPid Pod', 'Create HostIPC Pod',
      'Create NodePort Service', 'Pod Created in Kube Namespace', 'Ingress Object without TLS Certificate Created'];
    expect((await runCli(['detections', pci, '--allow', open.join(',')])).code).toBe(0);
    expect((await runCli(['detections', pci, '--allow', open.slice(1).join(',')])).code).toBe(1);
    const json = JSON.parse((await runCli(['detections', pci, '--format', 'json'])).stdout);
    const priv = json.find((x: { name: string }) => x.name === 'Create Privileged Pod');
    expect(priv).toMatchObject({ status: 'not-covered', minLevel: 'Request', gaps: [{ level: 'Metadata', needs: 'Request' }] });
  });
  it.each([
    [['--allow', 'Create Priviledged Pod'], /--allow "Create Priviledged Pod": no such falco detection/],
    [['--rule-set', 'splunk'], /rule-set/],
    [['--format', 'xml'], /format/],
  ])('usage error %j exits 2', async (extra, message) => {
    const r = await runCli(['detections', pci, ...extra]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
  it('preset --detections falco composes the covered policy; an unknown set is a usage error', async () => {
    const r = await runCli(['preset', 'pci-dss', '--detections', 'falco']);
    expect(r.code).toBe(0);
    expect((await runCli(['detections', '-'], { input: r.stdout })).code).toBe(0);
    const bad = await runCli(['preset', 'pci-dss', '--detections', 'splunk']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--detections "splunk" is not one of: falco, sigma, elastic/);
  });
});
