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
  const uri = event.requestURI ?? '/';
  const info = parseRequestPath(uri);
  const user = event.user?.username ? { name: event.user.username, groups: event.user.groups ?? [] } : undefined;
  return { ...info, verb: event.verb ?? '', ...(user ? { user } : {}) };
}

/** A request path split the way k8s.io/apiserver/pkg/endpoints/request.RequestInfoFactory does. */
export function parseRequestPath(uri: string): Omit<RequestAttributes, 'verb' | 'user'> {
  const [pathPart, query = ''] = uri.split('?', 2);
  const path = pathPart;
  const parts = path.split('/').filter((p) => p !== '');
  const nonResource = { resourceRequest: false, path };
  if (parts.length < 3 || (parts[0] !== 'api' && parts[0] !== 'apis')) return nonResource;
  let rest = parts.slice(1);
  let apiGroup = '';
  if (parts[0] === 'apis') {
    if (rest.length < 3) return nonResource;
    apiGroup = rest[0];
    rest = rest.slice(1);
  }
  const apiVersion = rest[0];
  rest = rest.slice(1);
  let viaVerbPrefix: string | undefined;
  if (rest[0] === 'watch' || rest[0] === 'proxy') {
    viaVerbPrefix = rest[0];
    rest = rest.slice(1);
  }
  let namespace = '';
  if (rest[0] === 'namespaces') {
    if (rest.length > 1) {
      namespace = rest[1];
      if (rest.length > 2 && rest[2] !== 'status' && rest[2] !== 'finalize') rest = rest.slice(2);
    }
  }
  const resource = rest[0] ?? '';
  let name = rest[1] ?? '';
  const subresource = rest.length >= 3 && viaVerbPrefix !== 'proxy' ? rest[2] : '';
  if (!name) {
    // list/watch with fieldSelector=metadata.name=X carry that name.
    const selector = new URLSearchParams(query).get('fieldSelector') ?? '';
    const m = /^metadata\.name(?:==?)([^,]+)$/.exec(selector);
    if (m && !m[1].includes('/') && m[1] !== '.' && m[1] !== '..') name = m[1];
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
