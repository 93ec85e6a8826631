/**
 * TLS material, receiver and kubeconfig for the webhook backend, made with the library's own
 * src/tls/certs.ts and src/backends/kubeconfig.ts, so the real apiserver checks those too.
 */
import { Duration } from 'cdk8s';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WebhookBackendProps } from '../../../src/backends/backends';
import { renderWebhookKubeconfig } from '../../../src/backends/kubeconfig';
import { createCertificateAuthority, createWebhookTlsBundle, issueClientCertificate, WebhookTlsBundle } from '../../../src/tls/certs';
import { WebhookReceiver } from './webhook-receiver';

export const APISERVER_CLIENT_USER = 'kube-apiserver-audit';

export interface WebhookSetup {
  readonly receiver: WebhookReceiver;
  readonly tls: WebhookTlsBundle;
  readonly kubeconfigPath: string;
  /** WebhookBackend props: this kubeconfig, 1 s batches, fast retries (plus the caller's). */
  readonly props: Omit<WebhookBackendProps, 'kubernetesVersion'>;
}

export interface WebhookSetupOptions {
  /** Give the apiserver a client certificate from a different CA (the receiver must refuse it). */
  readonly clientCertFromOtherCa?: boolean;
  /** More WebhookBackend props (e.g. truncate). */
  readonly props?: Omit<WebhookBackendProps, 'kubernetesVersion' | 'configFile'>;
}

export async function setUpWebhook(dir: string, options: WebhookSetupOptions = {}): Promise<WebhookSetup> {
  const tls = await createWebhookTlsBundle({ sans: ['127.0.0.1'], clientUser: APISERVER_CLIENT_USER });
  const receiver = await WebhookReceiver.start({ caPem: tls.ca.certPem, certPem: tls.sink.certPem, keyPem: tls.sink.keyPem });
  let client = tls.apiserverClient;
  if (options.clientCertFromOtherCa) {
    const otherCa = await createCertificateAuthority({ commonName: 'not-the-sink-ca' });
    client = await issueClientCertificate(otherCa, { user: APISERVER_CLIENT_USER });
  }
  mkdirSync(join(dir, 'webhook'), { recursive: true });
  const kubeconfigPath = join(dir, 'webhook', 'kubeconfig.yaml');
  writeFileSync(
    kubeconfigPath,
    renderWebhookKubeconfig({
      server: receiver.url,
      certificateAuthorityPem: tls.ca.certPem,
      clientCertificatePem: client.certPem,
      clientKeyPem: client.keyPem,
    }),
    { mode: 0o600 },
  );
  const props: Omit<WebhookBackendProps, 'kubernetesVersion'> = {
    configFile: kubeconfigPath,
    // Defaults are 30 s batches and a 10 s first retry: far too slow for a test.
    initialBackoff: Duration.millis(100),
    ...options.props,
    batch: { maxWait: Duration.seconds(1), ...options.props?.batch },
  };
  return { receiver, tls, kubeconfigPath, props };
}
