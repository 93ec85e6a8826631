/**
 * The webhook TLS material as cert-manager resources (cert-manager.io/v1), for clusters where
 * cert-manager issues and renews certificates: a self-signed bootstrap Issuer, the CA Certificate,
 * a CA Issuer, the sink's serving Certificate and the apiserver's client Certificate.
 *
 * cert-manager writes Secrets in the cluster; the kube-apiserver reads its client certificate and
 * the CA from the node's filesystem, so those two must still be copied to the node's webhook
 * directory (and again after each renewal).
 */
import { KeyAlgorithm, splitSans } from './certs';

export interface CertManagerProps {
  /** Namespace of the Issuers, Certificates and Secrets (the sink's namespace). */
  readonly namespace: string;
  /** DNS and IP SANs of the sink. */
  readonly sans: string[];
  /** @default 'kube-apiserver-audit' */
  readonly clientUser?: string;
  /** @default [] */
  readonly clientGroups?: string[];
  /** @default KeyAlgorithm.ECDSA_P256 */
  readonly keyAlgorithm?: KeyAlgorithm;
  /** @default 3650 */
  readonly caValidityDays?: number;
  /** @default 365 */
  readonly validityDays?: number;
  /** Prefix of every resource and Secret name. @default 'audit-webhook' */
  readonly namePrefix?: string;
}

function privateKey(alg: KeyAlgorithm): Record<string, unknown> {
  const [name, size] = alg.split('-');
  return name === 'ecdsa' ? { algorithm: 'ECDSA', size: Number(size.slice(1)), encoding: 'PKCS8' } : { algorithm: 'RSA', size: Number(size), encoding: 'PKCS8' };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The five resources, in apply order. @throws Error naming the field, value and fix */
export function certManagerResources(props: CertManagerProps): Record<string, unknown>[] {
  if (!DNS_LABEL.test(props.namespace) || props.namespace.length > 63) {
    throw new Error(`namespace: ${JSON.stringify(props.namespace)} is not a namespace name (lowercase DNS label, ≤ 63 characters); give e.g. audit`);
  }
  const prefix = props.namePrefix ?? 'audit-webhook';
  if (!DNS_LABEL.test(prefix) || prefix.length > 40) {
    throw new Error(`namePrefix: ${JSON.stringify(prefix)} is not a DNS label of at most 40 characters; give e.g. audit-webhook`);
  }
  const { dnsNames, ipAddresses } = splitSans(props.sans);
  if (dnsNames.length + ipAddresses.length === 0) {
    throw new Error('sans: empty; the sink certificate needs the address the apiserver dials, e.g. 10.96.0.50');
  }
  for (const [field, days] of [
    ['caValidityDays', props.caValidityDays],
    ['validityDays', props.validityDays],
  ] as const) {
    if (days !== undefined && !(Number.isInteger(days) && days >= 1)) throw new Error(`${field}: ${days} is not a whole number of days ≥ 1; give e.g. 365`);
  }
  const alg = props.keyAlgorithm ?? KeyAlgorithm.ECDSA_P256;
  const key = privateKey(alg);
  const meta = (name: string) => ({ name, namespace: props.namespace });
  const hours = (days: number) => `${days * 24}h`;
  const caIssuer = { name: `${prefix}-ca`, kind: 'Issuer', group: 'cert-manager.io' };
  return [
    { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: meta(`${prefix}-selfsigned`), spec: { selfSigned: {} } },
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: meta(`${prefix}-ca`),
      spec: {
        isCA: true,
        commonName: 'cdk8s-audit-webhook-ca',
        secretName: `${prefix}-ca`,
        duration: hours(props.caValidityDays ?? 3650),
        privateKey: key,
        issuerRef: { name: `${prefix}-selfsigned`, kind: 'Issuer', group: 'cert-manager.io' },
      },
    },
    { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: meta(`${prefix}-ca`), spec: { ca: { secretName: `${prefix}-ca` } } },
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: meta(`${prefix}-sink`),
      spec: {
        secretName: `${prefix}-sink-tls`,
        commonName: dnsNames[0] ?? ipAddresses[0],
        ...(dnsNames.length ? { dnsNames } : {}),
        ...(ipAddresses.length ? { ipAddresses } : {}),
        usages: ['server auth', 'digital signature', ...(key.algorithm === 'RSA' ? ['key encipherment'] : [])],
        duration: hours(props.validityDays ?? 365),
        privateKey: key,
        issuerRef: caIssuer,
      },
    },
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: meta(`${prefix}-apiserver-client`),
      spec: {
        secretName: `${prefix}-apiserver-client-tls`,
        commonName: props.clientUser ?? 'kube-apiserver-audit',
        ...(props.clientGroups?.length ? { subject: { organizations: props.clientGroups } } : {}),
        usages: ['client auth', 'digital signature', ...(key.algorithm === 'RSA' ? ['key encipherment'] : [])],
        duration: hours(props.validityDays ?? 365),
        privateKey: key,
        issuerRef: caIssuer,
      },
    },
  ];
}
