import { ApiObject, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct, IConstruct } from 'constructs';
import { renderWebhookKubeconfig, WebhookKubeconfigOptions } from '../backends/kubeconfig';
import { sizeToBytes } from '../backends/prop-units';
import { markWebhookReceiver } from '../backends/webhook-receivers';
import { buildSinkWorkload, urlHost, WebhookSinkProps } from './common';

/** What the apiserver side needs from a sink: where to post, and the webhook kubeconfig that says so. */
export interface IWebhookSink extends IConstruct {
  /** The URL the apiserver posts EventLists to (https, the Service's fixed ClusterIP). */
  readonly webhookUrl: string;
  /** The apiserver's webhook kubeconfig pointing at this sink. */
  renderWebhookKubeconfig(options: WebhookKubeconfigOptions): string;
}

/** What a sink whose egress is denied may still reach: its forwarding destinations and cluster DNS. */
export interface SinkEgress {
  readonly cidrs: string[];
  readonly ports: number[];
  /** Also admit cluster DNS (a destination URL names a host). */
  readonly dns: boolean;
}

/** What a sink subclass tells the shared part (the workload's name comes from the construct id). */
export interface WebhookSinkSpec {
  readonly props: WebhookSinkProps;
  readonly webhookPort: number;
  /** Port for health and metrics; admitted from metricsCidrs. @default - none */
  readonly opsPort?: number;
  /** Deny all egress (the sink talks to nobody) except `allowEgress`. @default false */
  readonly denyEgress?: boolean;
  /** With denyEgress: what the sink may still reach. @default - nothing */
  readonly allowEgress?: SinkEgress;
  /** The path the sink receives on, e.g. `/audit`. */
  readonly path: string;
}

/** The largest request body a sink accepts, as ClusterAudit's synth check reads it. */
export interface WebhookSinkBodyLimit {
  /** @default - not limited */
  readonly maxBody?: Size;
  /** How the limit is set on the sink, for messages, e.g. `AuditSink maxBodySize`. @default 'maxBodyBytes' */
  readonly maxBodyName?: string;
}

/**
 * The part every sink shares: ServiceAccount, Deployment, a Service at a fixed ClusterIP, NetworkPolicy,
 * PodDisruptionBudget and the TLS Secret (or cert-manager Certificate). A subclass checks its props before
 * calling `super` — an invalid sink adds nothing to the tree — and then adds its container.
 */
export abstract class WebhookSink extends Construct implements IWebhookSink {
  public readonly webhookUrl: string;
  public readonly deployment: kplus.Deployment;
  public readonly service: kplus.Service;
  public readonly networkPolicy: kplus.NetworkPolicy;
  public readonly podDisruptionBudget: ApiObject;
  /** The cert-manager Certificate, when TLS comes from cert-manager. */
  public readonly certificate?: ApiObject;
  /** The Secret holding the serving certificate (tls.crt, tls.key) and the client CA (ca.crt). */
  protected readonly tlsSecret: kplus.ISecret;

  protected constructor(scope: Construct, id: string, spec: WebhookSinkSpec) {
    super(scope, id);
    const workload = buildSinkWorkload(this, { ...spec, name: id.toLowerCase().replace(/[^a-z0-9-]/g, '-') });
    this.deployment = workload.deployment;
    this.service = workload.service;
    this.networkPolicy = workload.networkPolicy;
    this.podDisruptionBudget = workload.podDisruptionBudget;
    this.certificate = workload.certificate;
    this.tlsSecret = workload.tlsSecret;
    this.webhookUrl = `https://${urlHost(spec.props.clusterIP)}:${spec.webhookPort}${spec.path}`;
    // ClusterAudit checks at synth that its webhook reaches a sink of the app that accepts its batches.
    markWebhookReceiver(this, () => ({
      kind: this.constructor.name,
      url: this.webhookUrl,
      // cert-manager's Certificate names the ClusterIP only; a Secret's certificate is unknown at synth.
      serverNames: spec.props.tls._certManager ? [spec.props.clusterIP] : undefined,
      ...receiverBodyLimit(this.bodyLimit()),
    }));
  }

  /** The largest request body the sink accepts, when it has a limit (read at synth). */
  protected bodyLimit(): WebhookSinkBodyLimit {
    return {};
  }

  public renderWebhookKubeconfig(options: WebhookKubeconfigOptions): string {
    return renderWebhookKubeconfig({ ...options, server: this.webhookUrl });
  }
}

/** The body limit as the webhook-receiver check counts it: whole bytes. */
function receiverBodyLimit(limit: WebhookSinkBodyLimit): { maxBodyBytes?: number; maxBodyName?: string } {
  return {
    ...(limit.maxBody === undefined ? {} : { maxBodyBytes: sizeToBytes(limit.maxBody) }),
    ...(limit.maxBodyName === undefined ? {} : { maxBodyName: limit.maxBodyName }),
  };
}
