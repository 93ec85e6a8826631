/**
 * Unusual location: first-seen keyed on the user and the network of the connecting address (the LAST of
 * sourceIPs — the apiserver puts X-Forwarded-For and X-Real-Ip entries before it; test/e2e/gdpr-rules.test.ts
 * shows it on the real apiserver), at /24 (IPv4) and /48 (IPv6) unless the rule says otherwise.
 */
import { describe, expect, it } from 'vitest';
import { AlertRule, AlertRulesDocument } from '../../../src/sink-contract/alert-rules';
import { AuditEventFields, RulesEngine, sourceNetwork } from '../../../src/sink-server/rules-engine';

const doc = (rules: AlertRule[]): AlertRulesDocument => ({ apiVersion: 'cdk8s-audit.io/v1alpha1', kind: 'AlertRules', rules });
const location: AlertRule = { name: 'new-location', type: 'first-seen', key: ['user', 'sourceNetwork'], outcome: 'success' };

let n = 0;
const request = (user: string, sourceIPs: string[], code = 200): AuditEventFields => ({
  auditID: `e${++n}`, stage: 'ResponseComplete', verb: 'get', requestURI: '/api/v1/namespaces/dev/pods', user: { username: user, groups: ['system:authenticated'] }, sourceIPs, responseStatus: { code },
});

describe('sourceNetwork', () => {
  it.each([
    ['203.0.113.77', 24, 48, '203.0.113.0/24'],
    ['203.0.113.77', 16, 48, '203.0.0.0/16'],
    ['::ffff:198.51.100.9', 24, 48, '198.51.100.0/24'],
    ['2001:db8:abcd:12::1', 24, 48, '2001:db8:abcd::/48'],
    ['2001:db8:abcd:12::1', 24, 64, '2001:db8:abcd:12::/64'],
    ['2001:db8::1', 24, 128, '2001:db8::1/128'],
    ['fe80:1:2:3:4:5:6:7', 24, 128, 'fe80:1:2:3:4:5:6:7/128'],
    ['not-an-ip', 24, 48, ''],
    ['', 24, 48, ''],
  ])('%s at /%i (v4) /%i (v6) → %s', (ip, v4, v6, want) => expect(sourceNetwork(ip, v4, v6)).toBe(want));
});

describe('first-seen on user + sourceNetwork', () => {
  it('fires for a network never seen for the user, not for another address in a known network, and per user', () => {
    const engine = new RulesEngine(doc([location]));
    const fired = (user: string, ips: string[]) => engine.evaluate(request(user, ips)).map((a) => a.firstSeen);
    expect(fired('ops', ['10.20.30.40'])).toEqual([{ user: 'ops', sourceNetwork: '10.20.30.0/24' }]);
    expect(fired('ops', ['10.20.30.99'])).toEqual([]);
    expect(fired('ops', ['10.20.31.1'])).toEqual([{ user: 'ops', sourceNetwork: '10.20.31.0/24' }]);
    expect(fired('dev', ['10.20.30.40'])).toEqual([{ user: 'dev', sourceNetwork: '10.20.30.0/24' }]);
    expect(fired('ops', ['2001:db8:1:2::5'])).toEqual([{ user: 'ops', sourceNetwork: '2001:db8:1::/48' }]);
    expect(fired('ops', ['2001:db8:1:ffff::9'])).toEqual([]);
  });

  it('a forged X-Forwarded-For (entries before the connecting address) neither moves a known user nor hides a new network', () => {
    const engine = new RulesEngine(doc([location]));
    expect(engine.evaluate(request('ops', ['10.20.30.40']))).toHaveLength(1);
    // from the known network, claiming to be elsewhere: quiet
    expect(engine.evaluate(request('ops', ['198.51.100.7', '10.20.30.41']))).toEqual([]);
    // from a new network, claiming the known one: fires, on the real network
    const a = engine.evaluate(request('ops', ['10.20.30.40', '203.0.113.5']));
    expect(a.map((x) => x.firstSeen)).toEqual([{ user: 'ops', sourceNetwork: '203.0.113.0/24' }]);
    expect(a[0].reason).toBe('first time: user "ops", sourceNetwork "203.0.113.0/24"');
  });

  it('prefix lengths come from the rule; failures do not teach it a location', () => {
    const engine = new RulesEngine(doc([{ ...location, ipv4PrefixLength: 16, ipv6PrefixLength: 32 }]));
    expect(engine.evaluate(request('ops', ['10.20.30.40'], 403))).toEqual([]);
    expect(engine.evaluate(request('ops', ['10.20.30.40'])).map((x) => x.firstSeen)).toEqual([{ user: 'ops', sourceNetwork: '10.20.0.0/16' }]);
    expect(engine.evaluate(request('ops', ['10.20.99.1']))).toEqual([]);
    expect(engine.evaluate(request('ops', ['2001:db8:1:2::5'])).map((x) => x.firstSeen)).toEqual([{ user: 'ops', sourceNetwork: '2001:db8::/32' }]);
  });

  it('a rate rule can key on the network too (a burst from one network, whoever)', () => {
    const engine = new RulesEngine(doc([{ name: 'net-burst', type: 'rate', key: ['sourceNetwork'], threshold: 2, window: '1m' }]));
    const alerts = ['a', 'b', 'c'].flatMap((u, i) => engine.evaluate({ ...request(u, [`192.0.2.${i + 1}`]), stageTimestamp: `2026-01-01T00:00:0${i}Z` }));
    expect(alerts.map((x) => x.rate?.key)).toEqual([{ sourceNetwork: '192.0.2.0/24' }]);
  });
});
