import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { renderWebhookKubeconfig, WebhookKubeconfigProps } from '../backends/kubeconfig';
import { markWebhookReceiver } from '../backends/webhook-receivers';
import { buildSinkWorkload, SinkWorkloadSpec, urlHost } from './common';

/** What the apiserver side needs from a sink: where to post, and the webhook kubeconfig that says so. */
export interface IWebhookSink {
  /** The URL the apiserver posts EventLists to (https, the Service's fixed ClusterIP). */
  readonly webhookUrl: string;
  /** The apiserver's webhook kubeconfig pointing at this sink. */
  renderWebhookKubeconfig(props: Omit<WebhookKubeconfigProps, 'server'>): string;
}

export interface WebhookSinkSpec extends Omit<SinkWorkloadSpec, 'name'> {
  /** The path the sink receives on, e.g. `/audit`. */
  readonly path: string;
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
      ...this.bodyLimit(),
    }));
  }

  /** The largest request body the sink accepts, when it has a limit (read at synth). */
  protected bodyLimit(): { maxBodyBytes?: number; maxBodyName?: string } {
    return {};
  }

  public renderWebhookKubeconfig(props: Omit<WebhookKubeconfigProps, 'server'>): string {
    return renderWebhookKubeconfig({ ...props, server: this.webhookUrl });
  }
}
