/** A real kube-apiserver whose webhook backend sends to a `sink serve` on 127.0.0.1 (the set-up the sink's e2e tests share). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration } from 'cdk8s';
import { ApiserverAudit } from '../../../src/backends/apiserver-audit';
import { KubernetesVersion } from '../../../src/core/kubernetes-version';
import type { PolicyDocument } from '../../../src/policy/model';
import { renderPolicyYaml } from '../../../src/policy/render';
import type { WebhookTlsBundle } from '../../../src/tls/certs';
import { ControlPlane, startControlPlane } from './control-plane';
import { writeSinkWebhookKubeconfig } from './sink-process';

export interface SinkControlPlaneOptions {
  /** Where policy/ and webhook/ are written (must exist). */
  readonly dir: string;
  readonly version: string;
  readonly policy: PolicyDocument;
  /** The sink's port on 127.0.0.1. */
  readonly port: number;
  readonly tls: WebhookTlsBundle;
}

/**
 * Starts the apiserver with `policy` and the webhook backend pointed at the sink, batching for tests (1 s max
 * wait, 500 ms initial backoff) so events arrive within seconds.
 */
export async function startControlPlaneForSink(o: SinkControlPlaneOptions): Promise<ControlPlane> {
  mkdirSync(join(o.dir, 'policy'));
  mkdirSync(join(o.dir, 'webhook'));
  const policyFile = join(o.dir, 'policy', 'policy.yaml');
  writeFileSync(policyFile, renderPolicyYaml(o.policy));
  const configFile = writeSinkWebhookKubeconfig(join(o.dir, 'webhook', 'kubeconfig.yaml'), o.tls, o.port);
  const args = new ApiserverAudit({
    kubernetesVersion: KubernetesVersion.of(o.version),
    policyFile,
    webhook: { configFile, initialBackoff: Duration.millis(500), batch: { maxWait: Duration.seconds(1) } },
  }).commandLine();
  return startControlPlane({ version: o.version, extraArgs: args });
}
