/**
 * The webhook backend's configuration file (`--audit-webhook-config-file`): a kubeconfig
 * (`apiVersion: v1`, `kind: Config`) with one cluster (the sink's URL and CA), one user (the
 * apiserver's client certificate or bearer token) and one context joining them.
 *
 * The kube-apiserver runs on the host network and resolves names with the host's resolver, not
 * cluster DNS, so the server URL must not be a Service DNS name. Checks here refuse those names and
 * say what to use instead. Pure: file paths are written as given, never read.
 */
import { isIP } from 'node:net';
import { renderGoYaml } from '../core/go-yaml';
import { AuditConfigError, REDACTED, problem } from './errors';

/** The webhook kubeconfig's credentials and names: everything but the server URL (a sink construct knows its own). */
export interface WebhookKubeconfigOptions {
  /** PEM of the CA that signed the sink's serving certificate (written base64 as `certificate-authority-data`). @default - the node's system roots, unless `certificateAuthorityFile` is set */
  readonly certificateAuthorityPem?: string;
  /** Path on the node (inside the apiserver pod) of that CA. Relative paths are relative to the kubeconfig's directory. @default - none */
  readonly certificateAuthorityFile?: string;
  /** PEM of the apiserver's client certificate. Needs `clientKeyPem`. @default - no client certificate */
  readonly clientCertificatePem?: string;
  /** PEM (PKCS#8, PKCS#1 or SEC1) of the client certificate's key. @default - none */
  readonly clientKeyPem?: string;
  /** Path of the client certificate in the apiserver pod. Needs `clientKeyFile`. @default - none */
  readonly clientCertificateFile?: string;
  /** Path of the client key in the apiserver pod. @default - none */
  readonly clientKeyFile?: string;
  /** A bearer token the apiserver sends as `Authorization: Bearer …`. @default - none */
  readonly token?: string;
  /** Path of a file holding the bearer token (re-read by client-go). @default - none */
  readonly tokenFile?: string;
  /** Server name for SNI and certificate verification when it differs from the URL's host. @default - the URL's host */
  readonly tlsServerName?: string;
  /**
   * Permit an `http://` server URL. Audit events carry request bodies, tokens in
   * `TokenReview` objects and secrets at RequestResponse level: only for a sink on 127.0.0.1 or in tests.
   * @default false
   */
  readonly allowInsecureHttp?: boolean;
  /**
   * The server's host name is known to the node's resolver (/etc/hosts, node DNS) even though it has
   * one or two labels and looks like a Service short name (`sink`, `sink.audit`). Names under `.svc`
   * or `.cluster.local` are refused regardless.
   * @default false
   */
  readonly hostResolvableFromNode?: boolean;
  /** @default 'audit-sink' */
  readonly clusterName?: string;
  /** @default 'kube-apiserver' */
  readonly userName?: string;
  /** @default 'audit-webhook' */
  readonly contextName?: string;
}

/** Properties of the webhook kubeconfig. Data fields take PEM text; file fields take paths on the node. */
export interface WebhookKubeconfigProps extends WebhookKubeconfigOptions {
  /**
   * The URL the kube-apiserver POSTs EventList batches to, e.g. `https://10.96.0.50:8443/audit`.
   * Must be https (see `allowInsecureHttp`) and resolvable from the node: an IP address (a fixed
   * ClusterIP, a node or host address, 127.0.0.1) or a DNS name the node's resolver knows —
   * never a Service DNS name such as `sink.audit.svc`.
   */
  readonly server: string;
}

/** The v1 Config object, with kubeconfig's own (kebab-case) keys. */
export interface KubeconfigDocument {
  readonly apiVersion: 'v1';
  readonly kind: 'Config';
  readonly clusters: { readonly name: string; readonly cluster: Record<string, string | boolean> }[];
  readonly users: { readonly name: string; readonly user: Record<string, string> }[];
  readonly contexts: { readonly name: string; readonly context: { readonly cluster: string; readonly user: string } }[];
  readonly 'current-context': string;
}

const SERVICE_DNS_WHY =
  'the kube-apiserver runs on the host network and resolves names with the node\'s resolver (/etc/resolv.conf), not cluster DNS, ' +
  'so Service names do not resolve and every batch fails';
const SERVICE_DNS_FIX =
  'point the webhook at an address the node can reach: a fixed ClusterIP (set spec.clusterIP on the sink Service, e.g. https://10.96.0.50:8443), ' +
  'a NodePort (https://<node-ip>:30443), or a host address (https://127.0.0.1:PORT for a hostNetwork sink)';

/** Why a host cannot be used from the host-network apiserver, or undefined when it can. */
export function serviceDnsProblem(host: string, hostResolvableFromNode = false): string | undefined {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (isIP(h) || h === 'localhost') return undefined;
  const labels = h.split('.');
  // name.namespace.svc[.domain], pod-0.name.namespace.svc…, and anything under cluster.local.
  if (labels.indexOf('svc', 2) >= 2 || labels.indexOf('pod', 2) >= 2 || h.endsWith('.cluster.local') || h === 'cluster.local') {
    return `is a Kubernetes Service DNS name; ${SERVICE_DNS_WHY}`;
  }
  if (hostResolvableFromNode) return undefined;
  if (labels.length === 1) {
    return `is a single-label name like a Service short name, which only cluster DNS search paths complete; ${SERVICE_DNS_WHY}`;
  }
  if (labels.length === 2 && !looksLikeTld(labels[1])) {
    return `looks like a Service short name "name.namespace" (${JSON.stringify(labels[1])} is not a top-level domain); ${SERVICE_DNS_WHY}`;
  }
  return undefined;
}

/**
 * Top-level domains a two-label host name plausibly ends in: two-letter country codes and the
 * common generic ones (the full IANA list changes; anything else needs `hostResolvableFromNode`).
 */
const GENERIC_TLDS = new Set([
  'com', 'net', 'org', 'edu', 'gov', 'mil', 'int', 'io', 'dev', 'app', 'cloud', 'info', 'biz', 'tech', 'online', 'site',
  'xyz', 'local', 'internal', 'lan', 'corp', 'home', 'arpa', 'test', 'example', 'invalid', 'localhost',
]);
function looksLikeTld(label: string): boolean {
  return /^[a-z]{2}$/.test(label) || GENERIC_TLDS.has(label);
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;
const PEM_KEY = /-----BEGIN (RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (RSA |EC )?PRIVATE KEY-----/;

/** Every problem with the props, each naming the field, value, rule and fix; [] when they render. */
export function validateWebhookKubeconfig(props: WebhookKubeconfigProps): string[] {
  const problems: string[] = [];
  let url: URL | undefined;
  try {
    url = new URL(props.server);
  } catch {
    problems.push(problem('server', props.server, 'is not an absolute URL', 'write it as https://HOST:PORT/PATH, e.g. https://10.96.0.50:8443/audit'));
  }
  if (url) {
    if (url.protocol === 'http:' && !props.allowInsecureHttp) {
      problems.push(
        problem(
          'server',
          props.server,
          'uses http; audit events carry request bodies and credentials and must travel over TLS',
          'use https:// with a CA, or set allowInsecureHttp (CLI: --allow-http) for a sink on 127.0.0.1 or in tests',
        ),
      );
    } else if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      problems.push(problem('server', props.server, `has scheme ${url.protocol.replace(/:$/, '')}; the webhook client speaks only https (or http)`, 'use https://'));
    }
    if (url.username || url.password) {
      problems.push(problem('server', props.server, 'embeds credentials in the URL, which client-go neither sends nor hides in logs', 'remove user:password@ and use token or a client certificate'));
    }
    if (url.hash) {
      problems.push(problem('server', props.server, 'has a #fragment, which HTTP requests never carry', 'remove the fragment'));
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const why = serviceDnsProblem(host, props.hostResolvableFromNode);
    if (why) problems.push(`server: host ${JSON.stringify(host)} ${why}; ${SERVICE_DNS_FIX}`);
    if (url.protocol === 'http:' && (props.token || props.tokenFile)) {
      problems.push(problem('server', props.server, 'is http while a bearer token is configured: the token would cross the network in clear text', 'use https://, or drop the token'));
    }
    if (url.protocol === 'http:' && (props.certificateAuthorityPem || props.certificateAuthorityFile || props.clientCertificatePem || props.clientCertificateFile)) {
      problems.push(problem('server', props.server, 'is http but TLS material is configured, which an http connection never uses', 'use https://, or drop the CA and client certificate'));
    }
  }
  const both = (a: string, b: string, va: unknown, vb: unknown, why: string): void => {
    if (va !== undefined && vb !== undefined) problems.push(`${a} and ${b}: both are set; ${why} — keep one`);
  };
  const refused = "client-go's kubeconfig validation reports the pair as an error";
  both('certificateAuthorityPem', 'certificateAuthorityFile', props.certificateAuthorityPem, props.certificateAuthorityFile, refused);
  both('clientCertificatePem', 'clientCertificateFile', props.clientCertificatePem, props.clientCertificateFile, refused);
  both('clientKeyPem', 'clientKeyFile', props.clientKeyPem, props.clientKeyFile, refused);
  both('token', 'tokenFile', props.token, props.tokenFile, 'client-go silently prefers the file, so the inline token is dead weight');
  const hasCert = props.clientCertificatePem !== undefined || props.clientCertificateFile !== undefined;
  const hasKey = props.clientKeyPem !== undefined || props.clientKeyFile !== undefined;
  if (hasCert !== hasKey) {
    problems.push(
      hasCert
        ? 'clientKeyPem/clientKeyFile: (unset) while a client certificate is set; a certificate without its key cannot authenticate — add the key'
        : 'clientCertificatePem/clientCertificateFile: (unset) while a client key is set; add the certificate the key belongs to',
    );
  }
  if (props.certificateAuthorityPem !== undefined && !PEM_CERT.test(props.certificateAuthorityPem)) {
    problems.push(problem('certificateAuthorityPem', abbreviate(props.certificateAuthorityPem), 'is not a PEM certificate', 'pass the text of ca.crt (-----BEGIN CERTIFICATE-----)'));
  }
  if (props.clientCertificatePem !== undefined && !PEM_CERT.test(props.clientCertificatePem)) {
    problems.push(problem('clientCertificatePem', abbreviate(props.clientCertificatePem), 'is not a PEM certificate', 'pass the text of apiserver-client.crt (-----BEGIN CERTIFICATE-----)'));
  }
  if (props.clientKeyPem !== undefined && !PEM_KEY.test(props.clientKeyPem)) {
    problems.push(problem('clientKeyPem', REDACTED, 'is not a PEM private key', 'pass the text of apiserver-client.key (-----BEGIN PRIVATE KEY-----)'));
  }
  if (props.token !== undefined && (props.token.trim() === '' || /\s/.test(props.token))) {
    problems.push(problem('token', REDACTED, 'is empty or contains whitespace, which an Authorization header cannot carry', 'pass the bare token'));
  }
  for (const [field, value] of [
    ['certificateAuthorityFile', props.certificateAuthorityFile],
    ['clientCertificateFile', props.clientCertificateFile],
    ['clientKeyFile', props.clientKeyFile],
    ['tokenFile', props.tokenFile],
  ] as const) {
    if (value !== undefined && value.trim() === '') problems.push(problem(field, value, 'is empty', 'give the path of the file inside the apiserver pod, or leave the field unset'));
  }
  for (const [field, value] of [
    ['clusterName', props.clusterName],
    ['userName', props.userName],
    ['contextName', props.contextName],
  ] as const) {
    if (value !== undefined && value.trim() === '') problems.push(problem(field, value, 'is empty; kubeconfig entries are looked up by name', 'give a name or leave the field unset'));
  }
  return problems;
}

function abbreviate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function b64(pem: string): string {
  return Buffer.from(pem.endsWith('\n') ? pem : pem + '\n', 'utf8').toString('base64');
}

/** Builds the kubeconfig object; throws AuditConfigError listing every problem. */
export function buildWebhookKubeconfig(props: WebhookKubeconfigProps): KubeconfigDocument {
  const problems = validateWebhookKubeconfig(props);
  if (problems.length) throw new AuditConfigError(problems);
  const clusterName = props.clusterName ?? 'audit-sink';
  const userName = props.userName ?? 'kube-apiserver';
  const contextName = props.contextName ?? 'audit-webhook';
  const cluster: Record<string, string | boolean> = { server: props.server };
  if (props.certificateAuthorityPem !== undefined) cluster['certificate-authority-data'] = b64(props.certificateAuthorityPem);
  if (props.certificateAuthorityFile !== undefined) cluster['certificate-authority'] = props.certificateAuthorityFile;
  if (props.tlsServerName !== undefined) cluster['tls-server-name'] = props.tlsServerName;
  const user: Record<string, string> = {};
  if (props.clientCertificatePem !== undefined) user['client-certificate-data'] = b64(props.clientCertificatePem);
  if (props.clientCertificateFile !== undefined) user['client-certificate'] = props.clientCertificateFile;
  if (props.clientKeyPem !== undefined) user['client-key-data'] = b64(props.clientKeyPem);
  if (props.clientKeyFile !== undefined) user['client-key'] = props.clientKeyFile;
  if (props.token !== undefined) user.token = props.token;
  if (props.tokenFile !== undefined) user.tokenFile = props.tokenFile;
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: clusterName, cluster }],
    users: [{ name: userName, user }],
    contexts: [{ name: contextName, context: { cluster: clusterName, user: userName } }],
    'current-context': contextName,
  };
}

/** Renders the kubeconfig as YAML; throws AuditConfigError listing every problem. */
export function renderWebhookKubeconfig(props: WebhookKubeconfigProps): string {
  return renderGoYaml(buildWebhookKubeconfig(props));
}
