/**
 * A small typed client for the test apiserver, on node:https only. It trusts exactly the serving
 * certificate that apiserver generated in its --cert-dir, so nothing else on the machine is trusted.
 */
import { Agent, request as httpsRequest } from 'node:https';

/** Who makes the request. */
export type Caller =
  | { readonly token: string; readonly impersonate?: { readonly user: string; readonly groups?: string[] } }
  | { readonly anonymous: true };

export interface KubeResponse<T = unknown> {
  readonly status: number;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  readonly body: T | undefined;
  readonly text: string;
  /** The Audit-Id response header: ties a response to its audit events. */
  readonly auditId: string | undefined;
  readonly headers: Record<string, string | string[] | undefined>;
}

export interface RequestOptions {
  readonly caller: Caller;
  readonly contentType?: string;
  readonly headers?: Record<string, string>;
  readonly timeoutMs?: number;
  /** Connect from this local address (e.g. 127.0.1.5: another /24 of loopback), so the apiserver sees another peer. */
  readonly localAddress?: string;
}

export class KubeClient {
  private readonly agent: Agent;

  constructor(
    readonly baseUrl: string,
    caPem: string,
    readonly defaultCaller: Caller,
  ) {
    // keepAlive: the workload sends hundreds of requests; one TLS handshake each would dominate the time.
    this.agent = new Agent({ ca: caPem, keepAlive: true, maxSockets: 8 });
  }

  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    options: Partial<RequestOptions> = {},
  ): Promise<KubeResponse<T>> {
    const caller = options.caller ?? this.defaultCaller;
    const url = new URL(path, this.baseUrl);
    const headers: Record<string, string | string[]> = { Accept: 'application/json', ...(options.headers ?? {}) };
    if ('token' in caller) {
      headers.Authorization = `Bearer ${caller.token}`;
      if (caller.impersonate) {
        headers['Impersonate-User'] = caller.impersonate.user;
        if (caller.impersonate.groups?.length) headers['Impersonate-Group'] = caller.impersonate.groups;
      }
    }
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    return new Promise((resolveResponse, reject) => {
      const req = httpsRequest(
        url,
        { method, headers, agent: this.agent, timeout: options.timeoutMs ?? 30_000, ...(options.localAddress ? { localAddress: options.localAddress } : {}) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolveResponse({
              status: res.statusCode ?? 0,
              body: parseJson<T>(text),
              text,
              auditId: headerValue(res.headers['audit-id']),
              headers: res.headers,
            });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', (error) => reject(new Error(`${method} ${url.href}: ${error.message}`)));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function parseJson<T>(text: string): T | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
