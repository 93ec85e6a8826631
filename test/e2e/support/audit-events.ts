/**
 * Reading audit.k8s.io/v1 events back and turning them into the RequestAttributes the apiserver's
 * policy checker saw, so each event can be compared with `evaluatePolicy`.
 *
 * Why the mapping is what it is (k8s.io/apiserver v0.37.2):
 * - pkg/endpoints/filters/audit.go evaluates the policy with GetAuthorizerAttributes(ctx) inside WithAudit,
 *   which pkg/server/config.go (DefaultBuildHandlerChain) places AFTER authentication and BEFORE
 *   impersonation: the policy sees the authenticated (original) user, never the impersonated one.
 * - pkg/audit/request.go LogRequestMetadata copies those very attributes into the event: user.username/groups,
 *   verb, and objectRef {namespace,name,resource,subresource,apiGroup,apiVersion} iff IsResourceRequest().
 *   Attributes.Path is req.URL.Path, the event's requestURI is req.URL.RequestURI() (escaped path + query).
 * - LogRequestObject later FILLS EMPTY objectRef fields from the request body (e.g. the name of a created
 *   object), so only the RequestReceived event carries the pristine name; for other stages the name is
 *   recomputed from requestURI the way pkg/endpoints/request/requestinfo.go does.
 * - Failed authentication (authn_audit.go) and bad timeouts (request_deadline.go) evaluate the policy with
 *   no user and emit only ResponseStarted.
 * - Long-running requests (verbs watch/proxy; subresources attach/exec/proxy/log/portforward; /debug/pprof/,
 *   from pkg/controlplane/apiserver/config.go LongRunningFunc) add a ResponseStarted event.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { RequestAttributes } from '../../../src/policy/model';

// The event model, parser and grouping are the package's own (cdk8s-audit/testing): one definition for users' suites and ours.
import { AuditEvent, groupByAuditId, parseAuditEvents } from '../../../src/evidence/events';
export type { AuditEvent, AuditObjectRef, AuditUser } from '../../../src/evidence/events';
export { groupByAuditId };

export const STAGE_ORDER = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'] as const;

/** Parses JSON-lines audit output (log file content or a decompressed backup). */
export const parseJsonAuditLines = parseAuditEvents;

/** Reads a log file or a `.gz` backup written by --audit-log-compress. */
export function readAuditFile(path: string): string {
  const raw = readFileSync(path);
  return path.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
}

export function readJsonAuditLog(path: string): AuditEvent[] {
  return parseJsonAuditLines(readAuditFile(path), path);
}

// --- requestURI → request info (pkg/endpoints/request/requestinfo.go NewRequestInfo) ---

const API_PREFIXES = new Set(['api', 'apis']);
const GROUPLESS_PREFIXES = new Set(['api']);
const SPECIAL_VERBS = new Set(['proxy', 'watch']);
const SPECIAL_VERBS_NO_SUBRESOURCES = new Set(['proxy']);
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

export interface UriRequestInfo {
  readonly path: string;
  readonly resourceRequest: boolean;
  readonly namespace: string;
  readonly apiGroup: string;
  readonly apiVersion: string;
  readonly resource: string;
  readonly subresource: string;
  /** From the path, or for list/watch from an exact `metadata.name` field selector. */
  readonly name: string;
}

/** Go's url.URL.Path: the unescaped path of the request URI. */
export function pathOfRequestURI(requestURI: string): string {
  const raw = requestURI.split('?')[0];
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** The exact metadata.name a field selector requires (fields.Selector.RequiresExactMatch), if any. */
export function fieldSelectorName(selector: string | null): string {
  if (!selector) return '';
  for (const term of selector.split(',')) {
    const match = /^\s*metadata\.name\s*==?\s*(.*?)\s*$/.exec(term);
    if (match) return match[1];
  }
  return '';
}

/** A valid path segment name (IsPathSegmentName): not "." or "..", no "/" or "%". */
function isPathSegmentName(name: string): boolean {
  return name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%');
}

/** Recomputes what RequestInfoFactory.NewRequestInfo resolves for a request URI and its (final) verb. */
export function requestInfoFromURI(requestURI: string, verb: string): UriRequestInfo {
  const path = pathOfRequestURI(requestURI);
  const query = new URLSearchParams(requestURI.includes('?') ? requestURI.slice(requestURI.indexOf('?') + 1) : '');
  const nonResource: UriRequestInfo = { path, resourceRequest: false, namespace: '', apiGroup: '', apiVersion: '', resource: '', subresource: '', name: '' };
  let parts = path.split('/').filter((p) => p !== '');
  if (parts.length < 3 || !API_PREFIXES.has(parts[0])) return nonResource;
  const prefix = parts[0];
  parts = parts.slice(1);
  let apiGroup = '';
  if (!GROUPLESS_PREFIXES.has(prefix)) {
    if (parts.length < 3) return nonResource;
    apiGroup = parts[0];
    parts = parts.slice(1);
  }
  const apiVersion = parts[0];
  parts = parts.slice(1);
  let pathVerb = '';
  if (SPECIAL_VERBS.has(parts[0]) && parts.length >= 2) {
    pathVerb = parts[0];
    parts = parts.slice(1);
  }
  let namespace = '';
  if (parts[0] === 'namespaces' && parts.length > 1) {
    namespace = parts[1];
    if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2])) parts = parts.slice(2);
  }
  const effectiveVerb = pathVerb || verb;
  const subresource = parts.length >= 3 && !SPECIAL_VERBS_NO_SUBRESOURCES.has(effectiveVerb) ? parts[2] : '';
  let name = parts.length >= 2 ? parts[1] : '';
  // Only a GET without a name (turned into list/watch) consults the selector; /watch/… path verbs do not.
  if (!name && !pathVerb && (verb === 'list' || verb === 'watch')) {
    const selected = fieldSelectorName(query.get('fieldSelector'));
    if (selected && isPathSegmentName(selected)) name = selected;
  }
  return { path, resourceRequest: true, namespace, apiGroup, apiVersion, resource: parts[0] ?? '', subresource, name };
}

/**
 * The attributes the policy checker evaluated for one request, rebuilt from its events.
 * Throws if the events contradict each other or the request URI: that would be a bug in this mapping,
 * and a wrong mapping must not be allowed to make the agreement check pass or fail by accident.
 */
export function attributesFromEvents(events: readonly AuditEvent[]): RequestAttributes {
  if (events.length === 0) throw new Error('no events');
  const first = events[0];
  const received = events.find((e) => e.stage === 'RequestReceived');
  const ref = (received ?? first).objectRef;
  const uri = requestInfoFromURI(first.requestURI, first.verb);
  for (const e of events) {
    if (e.verb !== first.verb || e.requestURI !== first.requestURI || e.user.username !== first.user.username) {
      throw new Error(`audit events of ${first.auditID} disagree on verb/requestURI/user: ${JSON.stringify(events.map(brief))}`);
    }
  }
  if (Boolean(ref) !== uri.resourceRequest) {
    throw new Error(`event ${first.auditID}: objectRef ${ref ? 'present' : 'absent'} but ${first.requestURI} parses as a ${uri.resourceRequest ? '' : 'non-'}resource request`);
  }
  if (received?.objectRef) {
    const r = received.objectRef;
    const mismatch = (['namespace', 'name', 'resource', 'subresource', 'apiGroup', 'apiVersion'] as const).filter(
      (k) => (r[k] ?? '') !== uri[k],
    );
    if (mismatch.length) {
      throw new Error(`event ${first.auditID}: RequestReceived objectRef ${JSON.stringify(r)} differs from ${first.requestURI} in ${mismatch.join(', ')}`);
    }
  }
  const user = first.user.username ? { name: first.user.username, groups: first.user.groups ?? [] } : undefined;
  const attributes: Record<string, unknown> = { verb: first.verb, resourceRequest: Boolean(ref), path: uri.path };
  if (user) attributes.user = user;
  if (ref) {
    const fields = {
      namespace: ref.namespace,
      apiGroup: ref.apiGroup,
      apiVersion: ref.apiVersion,
      resource: ref.resource,
      subresource: ref.subresource,
      // Only the RequestReceived event has the name the checker saw; later stages may carry the created object's name.
      name: received ? ref.name : uri.name,
    };
    // Empty strings are Go zero values: leave the field out, as the workload's expectations do.
    for (const [key, value] of Object.entries(fields)) if (value) attributes[key] = value;
  }
  return attributes as unknown as RequestAttributes;
}

const LONG_RUNNING_VERBS = new Set(['watch', 'proxy']);
const LONG_RUNNING_SUBRESOURCES = new Set(['attach', 'exec', 'proxy', 'log', 'portforward']);

export function isLongRunning(attributes: RequestAttributes): boolean {
  if (LONG_RUNNING_VERBS.has(attributes.verb)) return true;
  if (attributes.resourceRequest) return LONG_RUNNING_SUBRESOURCES.has(attributes.subresource ?? '');
  return attributes.path.startsWith('/debug/pprof/');
}

/** Stages the apiserver emits for a request before omitStages are applied. */
export function stagesEmitted(attributes: RequestAttributes): string[] {
  if (!attributes.user) return ['ResponseStarted']; // rejected before authentication finished
  return isLongRunning(attributes) ? ['RequestReceived', 'ResponseStarted', 'ResponseComplete'] : ['RequestReceived', 'ResponseComplete'];
}

/** The stages an audited request must produce under a policy decision. */
export function expectedStages(attributes: RequestAttributes, omitStages: readonly string[]): string[] {
  return stagesEmitted(attributes).filter((s) => !omitStages.includes(s));
}

/** A one-line description of an event for failure messages (no bodies: they may hold secrets). */
export function brief(event: AuditEvent): string {
  const ref = event.objectRef;
  const what = ref
    ? `${ref.apiGroup || 'core'}/${ref.apiVersion ?? ''} ${ref.resource ?? ''}${ref.subresource ? '/' + ref.subresource : ''}` +
      `${ref.namespace ? ' ns=' + ref.namespace : ''}${ref.name ? ' name=' + ref.name : ''}`
    : 'non-resource';
  return `${event.auditID} ${event.stage} level=${event.level} user=${event.user.username || '<none>'} verb=${event.verb} ${event.requestURI} (${what}) code=${event.responseStatus?.code ?? '-'}`;
}

/** An event the apiserver reported as lost by a backend (audit.HandlePluginError). */
export interface DroppedEvent {
  readonly plugin: string;
  readonly reason: string;
  readonly auditID: string;
  readonly stage: string;
}

/**
 * Events a backend failed to handle, from the apiserver's own log: HandlePluginError (pkg/audit/metrics.go)
 * logs "Error in audit plugin '<plugin>' affecting N audit events: <err>\nImpacted events:\n" followed by
 * one legacy-format line (EventString) per event.
 */
export function droppedEventsFromStderr(stderr: string): DroppedEvent[] {
  const dropped: DroppedEvent[] = [];
  const lines = stderr.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const header = /Error in audit plugin '([^']+)' affecting (\d+) audit events: (.*)$/.exec(lines[i]);
    if (!header) continue;
    const [, plugin, count, reason] = header;
    let j = i + 1;
    if (lines[j]?.startsWith('Impacted events:')) j++;
    for (let n = 0; n < Number(count) && j < lines.length; n++, j++) {
      const event = / AUDIT: id="([^"]+)" stage="([^"]+)"/.exec(lines[j]);
      if (event) dropped.push({ plugin, reason, auditID: event[1], stage: event[2] });
    }
    i = j - 1;
  }
  return dropped;
}
