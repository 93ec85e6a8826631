/**
 * The agreement between a ClusterAudit's webhook and the sinks in the same app. Sinks (src/sinks, which
 * needs cdk8s-plus) announce what they serve by marking their construct; ClusterAudit finds the marks
 * at synth without importing the sink classes, so the policy and flag API keeps working without
 * cdk8s-plus-28 installed.
 */
import { IConstruct } from 'constructs';
import { WebhookBackend } from './backends';
import { AuditConfigError } from './errors';
import { sizeFromBytes } from './prop-units';

/** What a sink in the app serves, as ClusterAudit checks it. */
export interface WebhookReceiverInfo {
  /** What kind of sink, for messages, e.g. `AuditSink`. */
  readonly kind: string;
  /** The URL it serves the webhook on, e.g. `https://10.96.0.50:8443/audit`. */
  readonly url: string;
  /** The names its serving certificate holds, when the app knows them (cert-manager). @default - unknown */
  readonly serverNames?: readonly string[];
  /** The largest request body it accepts, in bytes. @default - not limited */
  readonly maxBodyBytes?: number;
  /** How that limit is set on the sink, for messages, e.g. `AuditSink maxBodySize`. @default 'maxBodyBytes' */
  readonly maxBodyName?: string;
}

/** A receiver found in a construct tree. */
export interface FoundWebhookReceiver {
  /** The sink's construct path. */
  readonly path: string;
  readonly info: WebhookReceiverInfo;
}

// Symbol.for: a second copy of the package in node_modules still finds the marks of the first.
const RECEIVER = Symbol.for('cdk8s-audit.webhook-receiver');

/** Marks `construct` as a webhook receiver; `info` is read at synth (after every prop is settled). */
export function markWebhookReceiver(construct: IConstruct, info: () => WebhookReceiverInfo): void {
  Object.defineProperty(construct, RECEIVER, { value: info, enumerable: false });
}

/** Every marked receiver under `root`, in tree order. */
export function webhookReceiversOf(root: IConstruct): FoundWebhookReceiver[] {
  return root.node.findAll().flatMap((c) => {
    const info = (c as unknown as Record<symbol, (() => WebhookReceiverInfo) | undefined>)[RECEIVER];
    return info ? [{ path: c.node.path, info: info() }] : [];
  });
}

interface Endpoint {
  readonly host: string;
  readonly port: string;
  readonly path: string;
}

function endpoint(url: string): Endpoint | undefined {
  try {
    const u = new URL(url);
    return { host: u.hostname.toLowerCase(), port: u.port || (u.protocol === 'http:' ? '80' : '443'), path: u.pathname || '/' };
  } catch {
    return undefined;
  }
}

/** The webhook side of the check: where the apiserver posts, the name it verifies, and its batches. */
export interface WebhookClientSide {
  /** The kubeconfig's server URL. */
  readonly server: string;
  /** The kubeconfig's tls-server-name. @default - the server URL's host */
  readonly tlsServerName?: string;
  /** The webhook backend, for the body-size check. @default - not checked */
  readonly backend?: WebhookBackend;
}

/**
 * Why the apiserver's webhook would not reach a sink in the app that accepts its batches, or [] when it
 * would. `who` prefixes every message (e.g. `ClusterAudit audit`).
 */
export function webhookReceiverProblems(who: string, client: WebhookClientSide, receivers: readonly FoundWebhookReceiver[]): string[] {
  const fix = 'or set props.webhook.externalSink: true when the sink is deployed outside this app';
  const ours = endpoint(client.server);
  if (!ours) return []; // the kubeconfig check already names a malformed server URL
  const listed = receivers.map((r) => `${r.info.kind} ${r.path} serves ${r.info.url}`);
  if (receivers.length === 0) {
    return [
      `${who}: props.webhook.kubeconfig.server ${client.server} matches no sink in this app: it has no AuditSink (or other webhook sink), ` +
        `so every batch the apiserver sends is lost; add an AuditSink at that address (clusterIP ${ours.host}, port ${ours.port}), ${fix}`,
    ];
  }
  const atAddress = receivers.filter((r) => {
    const e = endpoint(r.info.url);
    return e !== undefined && e.host === ours.host && e.port === ours.port;
  });
  if (atAddress.length === 0) {
    return [
      `${who}: props.webhook.kubeconfig.server ${client.server} matches no sink in this app (address ${ours.host}, port ${ours.port}); ` +
        `${listed.join('; ')}. Point the server at one of them, or give the sink that clusterIP and port, ${fix}`,
    ];
  }
  const problems: string[] = [];
  for (const r of atAddress) {
    const e = endpoint(r.info.url)!;
    if (e.path !== ours.path) {
      problems.push(`${who}: props.webhook.kubeconfig.server ${client.server} posts to path ${ours.path}, but ${r.info.kind} ${r.path} receives on ${e.path} (${r.info.url}); use ${r.info.url}`);
    }
    const name = (client.tlsServerName ?? ours.host).toLowerCase().replace(/^\[|\]$/g, '');
    const names = r.info.serverNames?.map((n) => n.toLowerCase());
    if (names && !names.includes(name)) {
      problems.push(
        `${who}: the apiserver verifies the sink's certificate for ${JSON.stringify(name)}` +
          `${client.tlsServerName ? ' (props.webhook.kubeconfig.tlsServerName)' : ' (the server URL\'s host)'}, but ${r.info.kind} ${r.path}'s certificate names ` +
          `${names.join(', ')}; the TLS handshake fails — set tlsServerName to one of those or drop it`,
      );
    }
    if (r.info.maxBodyBytes !== undefined && client.backend) {
      try {
        new WebhookBackend({ ...client.backend.props, sinkMaxBody: sizeFromBytes(r.info.maxBodyBytes) });
      } catch (err) {
        if (!(err instanceof AuditConfigError)) throw err;
        const limit = `${r.info.maxBodyName ?? 'maxBodyBytes'} ${r.info.maxBodyBytes} bytes`;
        for (const p of err.problems) problems.push(`${who}: ${r.info.kind} ${r.path} would refuse the apiserver's batches (${limit}): props.webhook.backend ${p}`);
      }
    }
  }
  return problems;
}
