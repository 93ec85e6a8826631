/** The harness's own pure parts, and its refusal to run without binaries. No apiserver needed. */
import { describe, expect, test } from 'vitest';
import { flagsNamedBy, apiserverErrorLines } from './support/apiserver-errors';
import { droppedEventsFromStderr, fieldSelectorName, requestInfoFromURI, stagesEmitted } from './support/audit-events';
import { apiserverBinary, etcdBinary, parseVersionsEnv } from './support/binaries';
import { Rng } from '../support/rng';
import { generatePolicies } from './support/policy-generator';

describe('binaries', () => {
  test('a missing binary fails with the command that builds it (never a silent skip)', () => {
    const saved = process.env.CDK8S_AUDIT_CACHE;
    process.env.CDK8S_AUDIT_CACHE = '/nonexistent/cdk8s-audit-cache';
    try {
      expect(() => apiserverBinary('1.37.2')).toThrow(/kube-apiserver v1\.37\.2 is missing: \/nonexistent\/cdk8s-audit-cache\/bin\/kube-apiserver-v1\.37\.2 .*Run `bash scripts\/build-k8s\.sh`/);
      expect(() => etcdBinary()).toThrow(/etcd v[\d.]+ is missing: .*bash scripts\/build-k8s\.sh/);
    } finally {
      if (saved === undefined) delete process.env.CDK8S_AUDIT_CACHE;
      else process.env.CDK8S_AUDIT_CACHE = saved;
    }
  });

  test('versions.env parsing', () => {
    expect(parseVersionsEnv('# c\nK8S_VERSIONS="1.37.2 1.35.4"\nETCD_VERSION="3.6.16"\n')).toEqual({ kubernetes: ['1.37.2', '1.35.4'], etcd: '3.6.16' });
    expect(() => parseVersionsEnv('X=1')).toThrow(/K8S_VERSIONS/);
  });
});

describe('request info from a request URI (requestinfo.go)', () => {
  test.each([
    ['/api/v1/namespaces/ns/pods/web/log', 'get', { resourceRequest: true, namespace: 'ns', resource: 'pods', name: 'web', subresource: 'log', apiVersion: 'v1', apiGroup: '' }],
    ['/api/v1/namespaces/ns', 'get', { resourceRequest: true, namespace: 'ns', resource: 'namespaces', name: 'ns', subresource: '' }],
    ['/api/v1/namespaces/ns/status', 'update', { namespace: 'ns', resource: 'namespaces', name: 'ns', subresource: 'status' }],
    ['/apis/apps/v1/namespaces/ns/deployments', 'create', { apiGroup: 'apps', namespace: 'ns', resource: 'deployments', name: '' }],
    ['/apis/apps', 'get', { resourceRequest: false, path: '/apis/apps' }],
    ['/api/v1', 'get', { resourceRequest: false }],
    ['/api/v1/namespaces/ns/configmaps?fieldSelector=metadata.name%3Dcm', 'list', { name: 'cm' }],
    ['/api/v1/namespaces/ns/configmaps?fieldSelector=metadata.name%3Dcm', 'create', { name: '' }],
    ['/api/v1/watch/namespaces/ns/configmaps?fieldSelector=metadata.name%3Dcm', 'watch', { name: '', resource: 'configmaps' }],
    ['/api/v1/proxy/namespaces/ns/services/s/a/b', 'proxy', { resource: 'services', name: 's', subresource: '' }],
    ['/healthz?verbose', 'get', { resourceRequest: false, path: '/healthz' }],
  ])('%s (%s)', (uri, verb, expected) => {
    expect(requestInfoFromURI(uri, verb)).toMatchObject(expected);
  });

  test('field selectors', () => {
    expect(fieldSelectorName('metadata.name==a,metadata.namespace=b')).toBe('a');
    expect(fieldSelectorName('metadata.namespace=b')).toBe('');
  });

  test('stages by request kind', () => {
    expect(stagesEmitted({ verb: 'watch', resourceRequest: true, resource: 'pods', path: '/api/v1/pods', user: { name: 'a' } })).toEqual(['RequestReceived', 'ResponseStarted', 'ResponseComplete']);
    expect(stagesEmitted({ verb: 'get', resourceRequest: true, resource: 'pods', path: '/', user: { name: 'a' } })).toEqual(['RequestReceived', 'ResponseComplete']);
    expect(stagesEmitted({ verb: 'get', resourceRequest: false, path: '/healthz' })).toEqual(['ResponseStarted']);
  });
});

describe('apiserver log parsing', () => {
  const stderr = [
    'I1123 04:17:02.588377   16405 server.go:151] Version: v1.37.2',
    'E1123 04:32:36.683449    1256 metrics.go:110] Error in audit plugin \'buffered\' affecting 2 audit events: audit backend shut down',
    'Impacted events:',
    '2026-11-23T04:32:36.678116668Z AUDIT: id="a-1" stage="ResponseComplete" ip="127.0.0.1" method="update" user="u" groups="" as="<self>" asgroups="<lookup>" user-agent="" namespace="<none>" uri="/x" response="200"',
    '2026-11-23T04:32:36.678116668Z AUDIT: id="a-2" stage="ResponseStarted" ip="127.0.0.1" method="watch" user="u" groups="" as="<self>" asgroups="<lookup>" user-agent="" namespace="<none>" uri="/y" response="200"',
    'E1123 04:17:02.640550   16405 run.go:72] "command failed" err="loading audit policy file: bad: from file /tmp/p.yaml"',
  ].join('\n');

  test('dropped events are read back event by event', () => {
    expect(droppedEventsFromStderr(stderr)).toEqual([
      { plugin: 'buffered', reason: 'audit backend shut down', auditID: 'a-1', stage: 'ResponseComplete' },
      { plugin: 'buffered', reason: 'audit backend shut down', auditID: 'a-2', stage: 'ResponseStarted' },
    ]);
  });

  test('error lines and the flags they are about', () => {
    const lines = apiserverErrorLines(stderr);
    expect(lines).toHaveLength(2);
    expect(flagsNamedBy(lines.join('\n'), ['--audit-policy-file=/tmp/p.yaml', '--audit-log-path=/tmp/a.log'])).toEqual(['--audit-policy-file=/tmp/p.yaml']);
    expect(flagsNamedBy('invalid audit webhook mode x', ['--audit-webhook-mode=x'])).toEqual(['--audit-webhook-mode=x']);
  });
});

describe('policy generator', () => {
  test('is reproducible from its seed and mixes valid and broken policies', () => {
    const a = generatePolicies(7, 50);
    expect(generatePolicies(7, 50)).toEqual(a);
    expect(generatePolicies(8, 50)).not.toEqual(a);
    expect(a.filter((p) => p.mutations.length === 0).length).toBeGreaterThan(10);
    expect(a.filter((p) => p.mutations.length > 0).length).toBeGreaterThan(10);
    expect(new Rng(1).int(10)).toBe(new Rng(1).int(10));
  });

  // The differential suite draws a fresh seed on every run, so the generator must not throw for any seed.
  // A CI run once drew a seed where a "null rule" mutation was followed by one that edits a rule.
  test('never throws, whatever the seed, and mutations compose (e.g. a null rule, then a rule edit)', () => {
    const failures: string[] = [];
    for (let seed = 0; seed < 500; seed++) {
      try {
        generatePolicies(seed, 220);
      } catch (e) {
        failures.push(`seed ${seed}: ${(e as Error).message}`);
      }
    }
    expect(failures.slice(0, 5), `${failures.length} of 500 seeds throw`).toEqual([]);
  });
});
