/**
 * A minimal HTTPS client for a cluster's apiserver (a kind cluster is reached on 127.0.0.1 through its port
 * mapping). It trusts only the cluster's CA; the caller is a client certificate, a bearer token, nobody,
 * or another user impersonated by one of those (Impersonate-User / Impersonate-Group headers).
 */
import { Agent, request } from 'node:https';

/** Who sends a request. */
export type Identity = Credentials | Impersonation;

export type Credentials =
  | { readonly kind: 'cert'; readonly certPem: string; readonly keyPem: string }
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'anonymous' };

/**
 * `user` (and `groups`), impersonated by `by`, which needs RBAC `impersonate` on users/groups. The audit
 * event's `user` is `by`'s user and `impersonatedUser` this one: the apiserver evaluates the audit policy
 * before impersonation, so policy rules about `user` do not apply to such a request.
 */
export interface Impersonation {
  readonly kind: 'impersonate';
  readonly by: Credentials;
  readonly user: string;
  readonly groups?: readonly string[];
}

/** The headers a request as `identity` carries (besides its TLS client certificate). */
export function identityHeaders(identity: Identity): Record<string, string | string[]> {
  if (identity.kind === 'impersonate') {
    return { ...identityHeaders(identity.by), 'Impersonate-User': identity.user, ...(identity.groups?.length ? { 'Impersonate-Group': [...identity.groups] } : {}) };
  }
  return identity.kind === 'token' ? { Authorization: `Bearer ${identity.token}` } : {};
}

export interface Response<T = any> {
  readonly status: number;
  readonly body: T | undefined;
  readonly text: string;
  readonly auditId: string | undefined;
}

export class ApiClient {
  private readonly agents = new Map<Credentials, Agent>();

  constructor(
    readonly server: string,
    private readonly caPem: string,
  ) {}

  private agent(who: Identity): Agent {
    const identity = who.kind === 'impersonate' ? who.by : who;
    let agent = this.agents.get(identity);
    if (!agent) {
      agent = new Agent({
        ca: this.caPem,
        keepAlive: true,
        maxSockets: 4,
        ...(identity.kind === 'cert' ? { cert: identity.certPem, key: identity.keyPem } : {}),
      });
      this.agents.set(identity, agent);
    }
    return agent;
  }

  send<T = any>(identity: Identity, method: string, uri: string, body?: unknown, contentType = 'application/json', timeoutMs = 60_000): Promise<Response<T>> {
    const url = new URL(uri, this.server);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | string[]> = { Accept: 'application/json', ...identityHeaders(identity) };
    if (payload) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = String(payload.length);
    }
    return new Promise((resolve, reject) => {
      const req = request(url, { method, headers, agent: this.agent(identity), timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: T | undefined;
          try {
            parsed = text ? (JSON.parse(text) as T) : undefined;
          } catch {
            parsed = undefined;
          }
          const id = res.headers['audit-id'];
          resolve({ status: res.statusCode ?? 0, body: parsed, text, auditId: Array.isArray(id) ? id[0] : id });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${uri}: no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}
