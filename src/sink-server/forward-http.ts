/**
 * The HTTP(S) client the forwarders and the alert webhook share: HTTPS by default with a CA bundle and an
 * optional client certificate, credentials read from files (a mounted Secret) on every request so that
 * rotation needs no restart, bounded response bodies, and a timeout. Nothing here ever logs a credential:
 * errors name the file, never its content, and URLs with user:password are refused.
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export type AuthConfig =
  | { readonly kind: 'none' }
  /** A file holding `user:password`, or only the password when `user` is given. */
  | { readonly kind: 'basic'; readonly file: string; readonly user?: string }
  /** A file holding a bearer token. */
  | { readonly kind: 'bearer'; readonly file: string }
  /** A file holding an Elasticsearch API key (the base64 `id:api_key` form). */
  | { readonly kind: 'apikey'; readonly file: string };

export interface HttpTargetConfig {
  /** The destination URL (https unless allowInsecureHttp). */
  readonly url: string;
  /** PEM CA bundle trusted for the server certificate. @default the system CAs */
  readonly caFile?: string;
  /** PEM client certificate and key for mutual TLS. */
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly auth: AuthConfig;
  /** Permit http:// (no TLS; no credentials allowed). @default false */
  readonly allowInsecureHttp?: boolean;
  /** @default 30 s */
  readonly timeoutMs?: number;
}

/** A configuration problem; the message names the option, the value and the fix (never a secret). */
export class HttpTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HttpTargetError';
  }
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

function readPem(option: string, file: string, marker: RegExp, what: string): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (e) {
    throw new HttpTargetError(`${option}: cannot read ${file} (${(e as NodeJS.ErrnoException).code}); it should hold the ${what} (PEM)`);
  }
  if (!marker.test(data.toString('latin1'))) throw new HttpTargetError(`${option}: ${file} is not a PEM ${what}`);
  return data;
}

/** Reads a credential file; the error names the file, never the content. */
export function readCredential(option: string, file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new HttpTargetError(`${option}: cannot read ${file} (${(e as NodeJS.ErrnoException).code})`);
  }
  const value = text.replace(/\r?\n$/, '');
  if (value === '' || /[\r\n]/.test(value)) throw new HttpTargetError(`${option}: ${file} must hold the credential on one line (it is ${value === '' ? 'empty' : 'several lines'})`);
  return value;
}

function authHeader(option: string, auth: AuthConfig): string | undefined {
  switch (auth.kind) {
    case 'none':
      return undefined;
    case 'basic': {
      const v = readCredential(option, auth.file);
      if (auth.user === undefined && !v.includes(':')) throw new HttpTargetError(`${option}: ${auth.file} must hold "user:password" (no colon found), or give the user name with the -user option`);
      return `Basic ${Buffer.from(auth.user === undefined ? v : `${auth.user}:${v}`, 'utf8').toString('base64')}`;
    }
    case 'bearer':
      return `Bearer ${readCredential(option, auth.file)}`;
    case 'apikey':
      return `ApiKey ${readCredential(option, auth.file)}`;
  }
}

/** Checks a destination URL; returns it parsed. `option` names the flag or prop in errors. */
export function checkTargetUrl(option: string, url: string, allowInsecureHttp: boolean, hasCredentials: boolean): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new HttpTargetError(`${option}: ${JSON.stringify(url)} is not a URL; write e.g. https://elasticsearch.logging.svc:9200`);
  }
  if (u.username || u.password) throw new HttpTargetError(`${option}: the URL holds a user name or password; put credentials in a file (--…-basic-auth-file) so they never appear in arguments or logs`);
  if (u.search || u.hash) throw new HttpTargetError(`${option}: ${JSON.stringify(u.origin + u.pathname)}…: a query or fragment is not supported; give the base URL only`);
  if (u.protocol === 'http:') {
    if (!allowInsecureHttp) throw new HttpTargetError(`${option}: ${u.origin} is plain HTTP; audit events carry secrets' metadata and request bodies — use https:// (or --forward-insecure-http for a local test)`);
    if (hasCredentials) throw new HttpTargetError(`${option}: credentials would be sent in clear text to ${u.origin}; use https://`);
  } else if (u.protocol !== 'https:') {
    throw new HttpTargetError(`${option}: ${JSON.stringify(u.protocol)} is not http: or https:`);
  }
  return u;
}

/** A configured destination: POSTs with TLS, credentials and a timeout. */
export class HttpTarget {
  readonly url: URL;
  private readonly agent: HttpAgent | HttpsAgent;

  constructor(
    /** Names the flag in errors, e.g. `--forward-elasticsearch`. */
    readonly option: string,
    private readonly config: HttpTargetConfig,
  ) {
    this.url = checkTargetUrl(option, config.url, config.allowInsecureHttp ?? false, config.auth.kind !== 'none');
    if ((config.certFile === undefined) !== (config.keyFile === undefined)) {
      throw new HttpTargetError(`${option}-cert and ${option}-key go together: give both files for mutual TLS, or neither`);
    }
    if (this.url.protocol === 'https:') {
      this.agent = new HttpsAgent({
        keepAlive: true,
        maxSockets: 2,
        minVersion: 'TLSv1.2',
        ca: config.caFile ? readPem(`${option}-ca`, config.caFile, /-----BEGIN CERTIFICATE-----/, 'CA certificate') : undefined,
        cert: config.certFile ? readPem(`${option}-cert`, config.certFile, /-----BEGIN CERTIFICATE-----/, 'client certificate') : undefined,
        key: config.keyFile ? readPem(`${option}-key`, config.keyFile, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'private key') : undefined,
      });
    } else {
      if (config.caFile || config.certFile) throw new HttpTargetError(`${option}: TLS files were given for a plain-HTTP URL ${this.url.origin}; use https://`);
      this.agent = new HttpAgent({ keepAlive: true, maxSockets: 2 });
    }
    // Fail at start on unreadable credential files rather than at the first batch.
    authHeader(`${option}-${config.auth.kind === 'apikey' ? 'api-key' : config.auth.kind === 'basic' ? 'basic-auth' : 'bearer-token'}-file`, config.auth);
  }

  /** Where requests go, without credentials: safe to log. */
  get safeUrl(): string {
    return `${this.url.origin}${this.url.pathname}`;
  }

  /** A URL relative to the configured base (keeps its path prefix). */
  resolve(path: string): URL {
    const base = this.url.pathname.endsWith('/') ? this.url.pathname : `${this.url.pathname}/`;
    return new URL(`${base}${path.replace(/^\//, '')}`, this.url.origin);
  }

  /** POSTs `body`; resolves with any HTTP answer, rejects on connection errors and the timeout (messages are safe to log). */
  post(url: URL, body: Buffer, headers: Record<string, string>, signal?: AbortSignal): Promise<HttpResponse> {
    let auth: string | undefined;
    try {
      auth = authHeader(`${this.option}-auth`, this.config.auth);
    } catch (e) {
      return Promise.reject(e);
    }
    const timeoutMs = this.config.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(
        url,
        {
          method: 'POST',
          agent: this.agent,
          headers: { ...headers, 'Content-Length': String(body.length), ...(auth ? { Authorization: auth } : {}), 'User-Agent': 'cdk8s-audit-sink' },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size <= MAX_RESPONSE_BYTES) chunks.push(c);
          });
          res.on('error', (e) => reject(new Error(`reading the response of ${this.safeUrl} failed (${(e as NodeJS.ErrnoException).code ?? e.message})`)));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        },
      );
      const onAbort = () => req.destroy(new Error('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('close', () => signal?.removeEventListener('abort', onAbort));
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', (e: NodeJS.ErrnoException) => reject(new Error(`POST ${this.safeUrl}: ${e.code === 'ETIMEDOUT' ? e.message : `${e.code ?? ''} ${safeMessage(e)}`.trim()}`)));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** An error message without anything that could be a credential (Node's messages hold host and port only). */
function safeMessage(e: Error): string {
  return e.message.replace(/(Bearer|Basic|ApiKey)\s+\S+/g, '$1 …').slice(0, 200);
}

/** Milliseconds from a Retry-After header (seconds or an HTTP date), if present. */
export function retryAfterMs(headers: Record<string, string | string[] | undefined>): number | undefined {
  const v = headers['retry-after'];
  const text = Array.isArray(v) ? v[0] : v;
  if (!text) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}
