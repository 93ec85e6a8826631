import { quote } from './issue';
import { RequestAttributes } from './model';

/** The parts of an audit.k8s.io/v1 Event that say what the request was. */
export interface AuditEventLike {
  readonly verb?: string;
  readonly requestURI?: string;
  readonly user?: { readonly username?: string; readonly groups?: string[] };
  readonly objectRef?: { readonly resource?: string; readonly apiGroup?: string };
}

/**
 * The attributes the apiserver's policy checker saw for a recorded event. The request URI is parsed
 * as the apiserver's RequestInfoFactory does, because objectRef is later filled from the object
 * (a create has no name in its attributes, but its event's objectRef has one).
 * The user is the authenticated user: the audit filter runs before impersonation.
 */
export function requestAttributesFromEvent(event: AuditEventLike): RequestAttributes {
  // Runs once per line of a large log: the attributes object is built once and extended, not spread again.
  const attributes = parseRequestPath(event.requestURI ?? '/') as { -readonly [K in keyof RequestAttributes]: RequestAttributes[K] };
  attributes.verb = event.verb ?? '';
  const username = event.user?.username;
  if (username) attributes.user = { name: username, groups: event.user!.groups ?? [] };
  return attributes;
}

/** A request path split the way k8s.io/apiserver/pkg/endpoints/request.RequestInfoFactory does. */
export function parseRequestPath(uri: string): Omit<RequestAttributes, 'verb' | 'user'> {
  // `uri.split('?', 2)`: the path, and the query up to a second '?' if there is one.
  const q = uri.indexOf('?');
  const path = q < 0 ? uri : uri.slice(0, q);
  const parts = path.split('/').filter((p) => p !== '');
  const nonResource = { resourceRequest: false, path };
  if (parts.length < 3 || (parts[0] !== 'api' && parts[0] !== 'apis')) return nonResource;
  // `i` walks the segments after the prefix; `end - i` is what the apiserver calls len(currentParts).
  const end = parts.length;
  let i = 1;
  let apiGroup = '';
  if (parts[0] === 'apis') {
    if (end - i < 3) return nonResource;
    apiGroup = parts[i++];
  }
  const apiVersion = parts[i++];
  let viaVerbPrefix: string | undefined;
  if (parts[i] === 'watch' || parts[i] === 'proxy') viaVerbPrefix = parts[i++];
  let namespace = '';
  if (parts[i] === 'namespaces') {
    if (end - i > 1) {
      namespace = parts[i + 1];
      if (end - i > 2 && parts[i + 2] !== 'status' && parts[i + 2] !== 'finalize') i += 2;
    }
  }
  const resource = parts[i] ?? '';
  let name = parts[i + 1] ?? '';
  const subresource = end - i >= 3 && viaVerbPrefix !== 'proxy' ? parts[i + 2] : '';
  if (!name && q >= 0) {
    // list/watch with fieldSelector=metadata.name=X carry that name. Without "fieldSelector" or a '%'
    // escape in it, no query parameter can be named fieldSelector: skip the (costly) parse.
    const rest = uri.slice(q + 1);
    const q2 = rest.indexOf('?');
    const query = q2 < 0 ? rest : rest.slice(0, q2);
    if (query.includes('fieldSelector') || query.includes('%')) {
      const selector = new URLSearchParams(query).get('fieldSelector') ?? '';
      const m = /^metadata\.name(?:==?)([^,]+)$/.exec(selector);
      if (m && !m[1].includes('/') && m[1] !== '.' && m[1] !== '..') name = m[1];
    }
  }
  return {
    resourceRequest: true,
    path,
    apiGroup,
    apiVersion,
    namespace,
    resource,
    ...(subresource ? { subresource } : {}),
    ...(name ? { name } : {}),
  };
}

const STRING_FIELDS = ['verb', 'namespace', 'apiGroup', 'apiVersion', 'resource', 'subresource', 'name', 'path'] as const;
const ALL_FIELDS = [...STRING_FIELDS, 'user', 'resourceRequest'];

/**
 * Checks a JSON value is a `RequestAttributes` (the input of `cdk8s-audit evaluate`).
 * @throws Error naming the field, the value and the expected shape
 */
export function toRequestAttributes(value: unknown): RequestAttributes {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`expected a JSON object of request attributes, got ${quote(value)}`);
  }
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) {
    if (!ALL_FIELDS.includes(key)) throw new Error(`unknown field ${quote(key)}; request attributes have: ${ALL_FIELDS.join(', ')}`);
  }
  for (const key of STRING_FIELDS) {
    if (v[key] !== undefined && typeof v[key] !== 'string') throw new Error(`${key}: expected a string, got ${quote(v[key])}`);
  }
  if (typeof v.verb !== 'string' || v.verb === '') throw new Error('verb: required (e.g. "get", "create", "watch")');
  if (typeof v.resourceRequest !== 'boolean') throw new Error(`resourceRequest: required, true or false, got ${quote(v.resourceRequest)}`);
  if (typeof v.path !== 'string') throw new Error('path: required (the request path, e.g. "/api/v1/namespaces/default/pods")');
  if (v.user !== undefined) {
    const u = v.user as Record<string, unknown>;
    if (typeof u !== 'object' || u === null || typeof u.name !== 'string') throw new Error(`user: expected {"name": string, "groups"?: string[]}, got ${quote(v.user)}`);
    if (u.groups !== undefined && (!Array.isArray(u.groups) || u.groups.some((g) => typeof g !== 'string'))) {
      throw new Error(`user.groups: expected a list of strings, got ${quote(u.groups)}`);
    }
  }
  return v as unknown as RequestAttributes;
}

/**
 * The attributes of an HTTP request as the apiserver derives them (method → verb, list vs watch,
 * deletecollection), for a caller who knows the request rather than its audit event.
 */
export function requestAttributesFromHttp(method: string, uri: string, user?: { name: string; groups?: string[] }): RequestAttributes {
  const info = parseRequestPath(uri);
  const m = method.toUpperCase();
  let verb = m.toLowerCase();
  if (info.resourceRequest) {
    const watchPrefix = /^\/apis?\/(?:[^/]+\/)?[^/]+\/watch\//.test(info.path);
    verb = watchPrefix ? 'watch' : ({ POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, string>)[m] ?? '';
    const query = new URLSearchParams(uri.split('?', 2)[1] ?? '');
    const nameFromPath = parseRequestPath(uri.split('?')[0]).name;
    if (!watchPrefix && verb === 'get' && !nameFromPath) {
      const w = query.get('watch');
      verb = w !== null && w !== 'false' && w !== '0' ? 'watch' : 'list';
    }
    if (verb === 'delete' && !info.name) verb = 'deletecollection';
  }
  return { ...info, verb, ...(user ? { user: { name: user.name, groups: user.groups ?? [] } } : {}) };
}
