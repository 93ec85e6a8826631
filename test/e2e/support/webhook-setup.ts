/**
 * TLS material, receiver and kubeconfig for the webhook backend, made with the library's own
 * src/tls/certs.ts and src/backends/kubeconfig.ts, so the real apiserver checks those too.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderWebhookKubeconfig } from '../../../src/backends/kubeconfig';
import { createCertificateAuthority, createWebhookTlsBundle, issueClientCertificate, WebhookTlsBundle } from '../../../src/tls/certs';
import { WebhookReceiver } from './webhook-receiver';

export const APISERVER_CLIENT_USER = 'kube-apiserver-audit';

export interface WebhookSetup {
  readonly receiver: WebhookReceiver;
  readonly tls: WebhookTlsBundle;
  readonly kubeconfigPath: string;
  /** --audit-webhook-* flags: this kubeconfig, 1 s batches, fast retries. */
  readonly args: string[];
}

export interface WebhookSetupOptions {
  /** Give the apiserver a client certificate from a different CA (the receiver must refuse it). */
  readonly clientCertFromOtherCa?: boolean;
  readonly extraArgs?: readonly string[];
}

export async function setUpWebhook(dir: string, options: WebhookSetupOptions = {}): Promise<WebhookSetup> {
  const tls = await createWebhookTlsBundle({ sans: ['127.0.0.1'], clientUser: APISERVER_CLIENT_USER });
  const receiver = await WebhookReceiver.start({ caPem: tls.ca.certPem, certPem: tls.sink.certPem, keyPem: tls.sink.keyPem });
  let client = tls.apiserverClient;
  if (options.clientCertFromOtherCa) {
    const otherCa = await createCertificateAuthority({ commonName: 'not-the-sink-ca' });
    client = await issueClientCertificate(otherCa, { user: APISERVER_CLIENT_USER });
  }
  const kubeconfigPath = join(dir, 'webhook-kubeconfig.yaml');
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
  const args = [
    `--audit-webhook-config-file=${kubeconfigPath}`,
    // Defaults are 30 s batches and a 10 s first retry: far too slow for a test.
    '--audit-webhook-batch-max-wait=1s',
    '--audit-webhook-initial-backoff=100ms',
    ...(options.extraArgs ?? []),
  ];
  return { receiver, tls, kubeconfigPath, args };
}
