import { SECRET_RESOURCES } from '../policy/audit-rule';
import { GroupResources, Level } from '../policy/model';
import { requestAttributesFromHttp } from '../policy/request-attributes';
import { CREDENTIAL_RESOURCES, WRITE_VERBS } from './catalogue';
import { EvidenceMatch, EvidenceSelector, Requirement, RequirementProbe } from './types';

/** Verbs that read; a probe that reads stands for every read of the same resource. */
export const READ_VERBS = ['get', 'list', 'watch'];

/**
 * Subresources reached by upgrading the connection: kubectl sends exec/attach/port-forward as GET
 * (WebSocket) or POST (SPDY), recorded as verb get or create, so evidence for them ignores the verb.
 */
const CONNECT_SUBRESOURCES = new Set(['exec', 'attach', 'portforward', 'proxy']);

/**
 * Secret material (secrets, configmaps, service-account tokens, TokenReviews): at exactly Metadata.
 * `extra` narrows them (verbs, namespaces).
 */
export function secretMaterial(extra: Partial<EvidenceMatch> = {}): EvidenceMatch[] {
  return SECRET_RESOURCES.map((gr) => ({ group: gr.group ?? '', resources: [...(gr.resources ?? [])], ...extra, minLevel: Level.METADATA, maxLevel: Level.METADATA }));
}

/** The kind of request a probe makes: verb (reads widened to every read), group, resource/subresource; any namespace or name. */
export function matchForProbe(probe: RequirementProbe): EvidenceMatch {
  const a = requestAttributesFromHttp(probe.method, probe.path, undefined);
  const bounds = { minLevel: probe.minLevel, ...(probe.maxLevel ? { maxLevel: probe.maxLevel } : {}) };
  if (!a.resourceRequest) return { nonResourceURLs: [a.path], ...bounds };
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource ?? '';
  const connect = a.subresource !== undefined && CONNECT_SUBRESOURCES.has(a.subresource);
  const verbs = connect ? undefined : READ_VERBS.includes(a.verb) ? [...READ_VERBS] : [a.verb];
  return { ...(verbs ? { verbs } : {}), group: a.apiGroup ?? '', resources: [resource], ...bounds };
}

/** The requirement's evidence selector: the declared one, or the kinds of request its probes make. */
export function evidenceSelector(req: Requirement): EvidenceSelector | undefined {
  if (req.evidence) return req.evidence;
  if (req.probes.length === 0) return undefined;
  const anyOf: EvidenceMatch[] = [];
  const seen = new Set<string>();
  for (const p of req.probes) {
    const m = matchForProbe(p);
    const key = JSON.stringify(m);
    if (!seen.has(key)) anyOf.push(m);
    seen.add(key);
  }
  return { description: 'the kinds of request its example requests make (verb, API group, resource), in any namespace', anyOf };
}

/** Describes one match for the report, e.g. `get|list|watch secrets (core) in audit, exactly Metadata`. */
export function describeMatch(m: EvidenceMatch, auditNamespace: string): string {
  const parts: string[] = [];
  parts.push(m.verbs ? m.verbs.join('|') : 'any verb');
  if (m.nonResourceURLs) parts.push(m.nonResourceURLs.join(', '));
  else if (m.resources) parts.push(`${m.resources.join(', ')} (${m.group === undefined ? 'any group' : m.group === '' ? 'core' : m.group})`);
  else if (m.group !== undefined) parts.push(`any resource of ${m.group === '' ? 'core' : m.group}`);
  else parts.push(m.objectsOnly || m.namespaces || m.auditNamespace || m.names ? 'any resource' : 'any request');
  if (m.auditNamespace) parts.push(`in ${auditNamespace} (the audit sink's namespace)`);
  if (m.namespaces) parts.push(`in ${m.namespaces.join(', ')}`);
  if (m.names) parts.push(`named ${m.names.join(', ')}`);
  if (m.uriIncludes) parts.push(`URI containing ${m.uriIncludes}`);
  if (m.responseCodes) parts.push(`answered ${m.responseCodes.join(' or ')}`);
  parts.push(levelBounds(m.minLevel, m.maxLevel));
  return parts.join(' ');
}

export function levelBounds(min: Level, max?: Level): string {
  if (max === undefined) return `at least ${min}`;
  if (max === min) return `exactly ${min}`;
  return `${min} to ${max}`;
}

/** One match per group of `grs`, with `extra` (verbs, levels) on each. */
export function resourceMatches(grs: readonly GroupResources[], extra: Omit<EvidenceMatch, 'group' | 'resources'>): EvidenceMatch[] {
  return grs.map((gr) => ({ ...extra, group: gr.group ?? '', ...(gr.resources ? { resources: [...gr.resources] } : {}) }));
}

/** Invalid access attempts: requests the apiserver refused (401 unauthenticated, 403 forbidden). */
export const DENIED_REQUESTS: EvidenceSelector = {
  description: 'requests answered 401 or 403; secret material at exactly Metadata',
  anyOf: [...secretMaterial({ responseCodes: [401, 403] }), { responseCodes: [401, 403], minLevel: Level.METADATA }],
};

/** Every recorded request (record content requirements such as PCI DSS 10.2.2, NIST AU-3). */
export const EVERY_REQUEST: EvidenceSelector = {
  description: 'every recorded request; secret material at exactly Metadata',
  anyOf: [...secretMaterial(), { minLevel: Level.METADATA }],
};

/** Access to audit logs: any request in the audit sink's namespace, and node log files read through nodes/proxy. */
export const AUDIT_LOG_ACCESS: EvidenceSelector = {
  description: "requests in the audit sink's namespace, and node log files read through nodes/proxy",
  anyOf: [
    ...secretMaterial({ auditNamespace: true }),
    { auditNamespace: true, minLevel: Level.METADATA },
    { group: '', resources: ['nodes/proxy'], uriIncludes: '/proxy/logs', minLevel: Level.METADATA },
  ],
};

/** Changes to who may access what: RBAC, service accounts and certificate requests with bodies; service-account tokens at exactly Metadata. */
export const CREDENTIAL_CHANGES: EvidenceSelector = {
  description: 'changes to RBAC, service accounts and certificate requests, with bodies',
  anyOf: [...secretMaterial({ verbs: WRITE_VERBS, resources: ['serviceaccounts/token'] }), ...resourceMatches(CREDENTIAL_RESOURCES, { verbs: WRITE_VERBS, minLevel: Level.REQUEST })],
};

/** Changes in the audit sink's namespace (stopping or reconfiguring audit). */
export const AUDIT_NAMESPACE_CHANGES: EvidenceSelector = {
  description: "changes in the audit sink's namespace",
  anyOf: [...secretMaterial({ auditNamespace: true, verbs: WRITE_VERBS }), { auditNamespace: true, verbs: WRITE_VERBS, minLevel: Level.METADATA }],
};
