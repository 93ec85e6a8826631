/**
 * TLS material for the audit webhook: a private CA, the sink's serving certificate and the
 * kube-apiserver's client certificate (the webhook kubeconfig's user).
 *
 * Pure computation with WebCrypto (node's `crypto.webcrypto`) and `@peculiar/x509`; nothing is
 * written to disk here (the `certs` CLI verb does that). Keys come out as PKCS#8 PEM
 * (`-----BEGIN PRIVATE KEY-----`), which Go's `tls.X509KeyPair` (kube-apiserver) and node's `tls`
 * both load, for ECDSA and RSA alike.
 *
 * @example
 * const ca = await createCertificateAuthority({ commonName: 'audit-sink-ca' });
 * const sink = await issueServingCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
 * const client = await issueClientCertificate(ca, { user: 'kube-apiserver-audit', groups: ['audit-writers'] });
 */
import { isIP } from 'node:net';
import { webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';
import { installReflectMetadata } from './reflect-shim';

let x509Module: typeof X509 | undefined;
/**
 * @peculiar/x509, loaded on first use. Its tsyringe wiring needs `Reflect.getMetadata`, which the shim adds
 * to the global `Reflect`: loading both lazily keeps `import 'cdk8s-audit'` free of side effects, and only
 * code that makes or reads a certificate gets the shim.
 */
function x509(): typeof X509 {
  if (!x509Module) {
    installReflectMetadata(); // must precede @peculiar/x509 (tsyringe checks for Reflect.getMetadata on load)
    x509Module = require('@peculiar/x509') as typeof X509;
  }
  return x509Module;
}

type Crypto = webcrypto.Crypto;
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type Algorithm = webcrypto.Algorithm;
type EcdsaParams = webcrypto.EcdsaParams;
type EcKeyGenParams = webcrypto.EcKeyGenParams;
type EcKeyImportParams = webcrypto.EcKeyImportParams;
type EcKeyAlgorithm = webcrypto.EcKeyAlgorithm;
type RsaHashedKeyGenParams = webcrypto.RsaHashedKeyGenParams;
type RsaHashedImportParams = webcrypto.RsaHashedImportParams;
type RsaHashedKeyAlgorithm = webcrypto.RsaHashedKeyAlgorithm;

const crypto: Crypto = webcrypto;

/** The key type of a generated key pair. */
export enum KeyAlgorithm {
  /** ECDSA on NIST P-256, signatures with SHA-256. Small, fast, accepted everywhere Kubernetes runs. */
  ECDSA_P256 = 'ecdsa-p256',
  /** ECDSA on NIST P-384, signatures with SHA-384. */
  ECDSA_P384 = 'ecdsa-p384',
  /** RSA 2048-bit, PKCS#1 v1.5 signatures with SHA-256. */
  RSA_2048 = 'rsa-2048',
  /** RSA 3072-bit, PKCS#1 v1.5 signatures with SHA-256. */
  RSA_3072 = 'rsa-3072',
  /** RSA 4096-bit, PKCS#1 v1.5 signatures with SHA-256. */
  RSA_4096 = 'rsa-4096',
}

export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = Object.values(KeyAlgorithm);

/** Options shared by every certificate this module creates. */
export interface CertificateOptions {
  /**
   * Key type of the new key pair.
   * @default KeyAlgorithm.ECDSA_P256
   */
  readonly keyAlgorithm?: KeyAlgorithm;
  /**
   * How many days the certificate is valid, counted from `now`.
   * @default 3650 for a CA, 365 for serving and client certificates
   */
  readonly validityDays?: number;
  /**
   * The issue time. `notBefore` is set 5 minutes earlier to tolerate clock skew between nodes.
   * @default the current time
   */
  readonly now?: Date;
}

/** A certificate with its private key, both PEM. */
export interface IssuedCertificate {
  /** The certificate, PEM (`-----BEGIN CERTIFICATE-----`). */
  readonly certPem: string;
  /** The private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
  readonly keyPem: string;
  /** What the certificate says (subject, SANs, validity), as plain values. */
  readonly certificate: CertificateSummary;
}

/**
 * A certificate's fields as plain values. The public types never name @peculiar/x509's classes, so a
 * user's app type-checks without that package's (and its asn1 dependencies') declaration files.
 */
export interface CertificateSummary {
  /** Subject DN, e.g. `CN=kube-apiserver-audit, O=audit-writers`. */
  readonly subject: string;
  /** Subject CN, e.g. the client certificate's user. */
  readonly commonName?: string;
  /** Subject O values, e.g. the client certificate's groups. */
  readonly organizations: string[];
  /** Issuer DN. */
  readonly issuer: string;
  /** Serial number, hex. */
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** basicConstraints CA:true. */
  readonly isCa: boolean;
  /** DNS subject alternative names. */
  readonly dnsNames: string[];
  /** IP subject alternative names. */
  readonly ipAddresses: string[];
}

/** A CA that can issue certificates: its certificate, PEM key and the usable signing key. */
export interface CertificateAuthority extends IssuedCertificate {
  /** @internal the WebCrypto signing key */
  readonly signingKey: CryptoKey;
}

export interface CertificateAuthorityOptions extends CertificateOptions {
  /**
   * Subject common name of the CA.
   * @default 'cdk8s-audit-webhook-ca'
   */
  readonly commonName?: string;
}

export interface ServingCertificateOptions extends CertificateOptions {
  /**
   * Subject common name. Clients check SANs only; the CN is informational.
   * @default the first DNS name, else the first IP address, else 'audit-sink'
   */
  readonly commonName?: string;
  /** DNS subject alternative names (e.g. `localhost`, `audit-sink.example.com`). @default [] */
  readonly dnsNames?: string[];
  /** IP subject alternative names, IPv4 or IPv6 (e.g. `127.0.0.1`, a fixed ClusterIP). @default [] */
  readonly ipAddresses?: string[];
}

export interface ClientCertificateOptions extends CertificateOptions {
  /** The user name, written to the subject CN (Kubernetes x509 authentication reads CN as the user). */
  readonly user: string;
  /** Groups, each written as one subject O. @default [] */
  readonly groups?: string[];
}

/** The three certificates the webhook needs, issued by one fresh CA. */
export interface WebhookTlsBundle {
  readonly ca: CertificateAuthority;
  /** The sink's serving certificate. */
  readonly sink: IssuedCertificate;
  /** The kube-apiserver's client certificate for the webhook kubeconfig. */
  readonly apiserverClient: IssuedCertificate;
}

export interface WebhookTlsBundleOptions {
  /** DNS and IP SANs of the sink, mixed; see `splitSans`. At least one is required. */
  readonly sans: string[];
  /** @default 'kube-apiserver-audit' */
  readonly clientUser?: string;
  /** @default [] */
  readonly clientGroups?: string[];
  /** @default KeyAlgorithm.ECDSA_P256 */
  readonly keyAlgorithm?: KeyAlgorithm;
  /** Validity of the CA. @default 3650 */
  readonly caValidityDays?: number;
  /** Validity of the sink and client certificates. @default 365 */
  readonly validityDays?: number;
  /** @default the current time */
  readonly now?: Date;
}

export const DEFAULT_CA_VALIDITY_DAYS = 3650;
export const DEFAULT_LEAF_VALIDITY_DAYS = 365;
export const DEFAULT_CLIENT_USER = 'kube-apiserver-audit';
const CLOCK_SKEW_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

interface AlgorithmParams {
  readonly generate: RsaHashedKeyGenParams | EcKeyGenParams;
  readonly sign: Algorithm | EcdsaParams;
  readonly import: RsaHashedImportParams | EcKeyImportParams;
  readonly rsa: boolean;
}

function algorithmParams(alg: KeyAlgorithm): AlgorithmParams {
  const rsa = (bits: number): AlgorithmParams => ({
    generate: { name: 'RSASSA-PKCS1-v1_5', modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    sign: { name: 'RSASSA-PKCS1-v1_5' },
    import: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    rsa: true,
  });
  const ec = (curve: 'P-256' | 'P-384', hash: 'SHA-256' | 'SHA-384'): AlgorithmParams => ({
    generate: { name: 'ECDSA', namedCurve: curve },
    sign: { name: 'ECDSA', hash } as EcdsaParams,
    import: { name: 'ECDSA', namedCurve: curve },
    rsa: false,
  });
  switch (alg) {
    case KeyAlgorithm.ECDSA_P256:
      return ec('P-256', 'SHA-256');
    case KeyAlgorithm.ECDSA_P384:
      return ec('P-384', 'SHA-384');
    case KeyAlgorithm.RSA_2048:
      return rsa(2048);
    case KeyAlgorithm.RSA_3072:
      return rsa(3072);
    case KeyAlgorithm.RSA_4096:
      return rsa(4096);
    default:
      throw new Error(
        `keyAlgorithm: ${JSON.stringify(alg)} is not a supported key algorithm; use one of ${KEY_ALGORITHMS.join(', ')}`,
      );
  }
}

function checkValidityDays(field: string, days: number): void {
  if (!Number.isInteger(days) || days < 1 || days > 36500) {
    throw new Error(`${field}: ${days} is not a whole number of days between 1 and 36500; pass e.g. 365`);
  }
}

/** A random positive 128-bit serial number (RFC 5280 §4.1.2.2: positive, at most 20 octets). */
function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

function validity(opts: CertificateOptions, defaultDays: number, field: string): { notBefore: Date; notAfter: Date } {
  const days = opts.validityDays ?? defaultDays;
  checkValidityDays(field, days);
  const now = opts.now ?? new Date();
  return { notBefore: new Date(now.getTime() - CLOCK_SKEW_MS), notAfter: new Date(now.getTime() + days * DAY_MS) };
}

async function generateKeys(alg: KeyAlgorithm): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(algorithmParams(alg).generate, true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** PEM text always ends with a newline, as files written by openssl do. */
function eol(pem: string): string {
  return pem.endsWith('\n') ? pem : pem + '\n';
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey('pkcs8', key);
  return eol(x509().PemConverter.encode(der, 'PRIVATE KEY'));
}

function checkName(field: string, value: string): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw new Error(`${field}: ${JSON.stringify(value)} is empty; a certificate subject needs a non-empty name`);
  }
  if (value.length > 64) {
    throw new Error(`${field}: ${JSON.stringify(value)} is ${value.length} characters; X.509 (RFC 5280 ub-common-name) allows at most 64`);
  }
}

/** The plain-value summary of a parsed certificate. */
function summarise(certificate: X509.X509Certificate): CertificateSummary {
  const san = certificate.getExtension(x509().SubjectAlternativeNameExtension);
  const names = san?.names.toJSON() ?? [];
  return {
    subject: certificate.subject,
    commonName: certificate.subjectName.getField('CN')[0],
    organizations: certificate.subjectName.getField('O'),
    issuer: certificate.issuer,
    serialNumber: certificate.serialNumber,
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    isCa: certificate.getExtension(x509().BasicConstraintsExtension)?.ca === true,
    dnsNames: names.filter((n) => n.type === 'dns').map((n) => n.value),
    ipAddresses: names.filter((n) => n.type === 'ip').map((n) => n.value),
  };
}

/** Parses a PEM certificate. @throws naming `field` and what to pass instead */
function parseCertificate(field: string, pem: string): X509.X509Certificate {
  try {
    return new (x509().X509Certificate)(pem);
  } catch (e) {
    throw new Error(`${field}: not a PEM X.509 certificate (${(e as Error).message}); pass the file written by 'cdk8s-audit certs'`);
  }
}

/** Reads a PEM certificate's subject, issuer, validity and SANs. @throws when the text is not a PEM certificate */
export function describeCertificate(pem: string): CertificateSummary {
  return summarise(parseCertificate('certificate', pem));
}

/** Creates a self-signed CA (basicConstraints CA:true, pathlen 0; keyCertSign, cRLSign). */
export async function createCertificateAuthority(opts: CertificateAuthorityOptions = {}): Promise<CertificateAuthority> {
  const alg = opts.keyAlgorithm ?? KeyAlgorithm.ECDSA_P256;
  const params = algorithmParams(alg);
  const commonName = opts.commonName ?? 'cdk8s-audit-webhook-ca';
  checkName('commonName', commonName);
  const keys = await generateKeys(alg);
  const certificate = await x509().X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: [{ CN: [commonName] }],
      ...validity(opts, DEFAULT_CA_VALIDITY_DAYS, 'validityDays'),
      keys,
      signingAlgorithm: params.sign,
      extensions: [
        new (x509().BasicConstraintsExtension)(true, 0, true),
        new (x509().KeyUsagesExtension)(x509().KeyUsageFlags.keyCertSign | x509().KeyUsageFlags.cRLSign | x509().KeyUsageFlags.digitalSignature, true),
        await x509().SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { certPem: eol(certificate.toString('pem')), keyPem: await privateKeyPem(keys.privateKey), certificate: summarise(certificate), signingKey: keys.privateKey };
}

/** Loads an existing CA (certificate PEM + PKCS#8 key PEM) so it can issue more certificates. */
export async function loadCertificateAuthority(certPem: string, keyPem: string): Promise<CertificateAuthority> {
  const certificate = parseCertificate('CA certificate', certPem);
  const bc = certificate.getExtension(x509().BasicConstraintsExtension);
  if (!bc?.ca) {
    throw new Error(`CA certificate: ${certificate.subject} is not a CA (basicConstraints CA:true is missing); pass a CA certificate`);
  }
  const keyAlg = certificate.publicKey.algorithm as EcKeyAlgorithm | RsaHashedKeyAlgorithm;
  const importParams: RsaHashedImportParams | EcKeyImportParams =
    keyAlg.name === 'ECDSA'
      ? { name: 'ECDSA', namedCurve: (keyAlg as EcKeyAlgorithm).namedCurve }
      : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  let signingKey: CryptoKey;
  try {
    const der = x509().PemConverter.decodeFirst(keyPem);
    signingKey = await crypto.subtle.importKey('pkcs8', der, importParams, true, ['sign']);
  } catch (e) {
    throw new Error(
      `CA key: cannot import it as a PKCS#8 ${importParams.name} key (${(e as Error).message}); pass the PEM '-----BEGIN PRIVATE KEY-----' that belongs to the CA certificate`,
    );
  }
  // Prove the key belongs to the certificate: sign and verify with the certificate's public key.
  const probe = new Uint8Array([1, 2, 3]);
  const signParams = importParams.name === 'ECDSA' ? { name: 'ECDSA', hash: curveHash((keyAlg as EcKeyAlgorithm).namedCurve) } : importParams;
  const sig = await crypto.subtle.sign(signParams, signingKey, probe);
  const pub = await certificate.publicKey.export(importParams, ['verify'], crypto);
  if (!(await crypto.subtle.verify(signParams, pub, sig, probe))) {
    throw new Error('CA key: the private key does not match the CA certificate; pass the key that was generated with it');
  }
  return { certPem: eol(certificate.toString('pem')), keyPem, certificate: summarise(certificate), signingKey };
}

function curveHash(curve: string): string {
  return curve === 'P-384' ? 'SHA-384' : curve === 'P-521' ? 'SHA-512' : 'SHA-256';
}

function caSignAlgorithm(ca: CertificateAuthority): Algorithm | EcdsaParams {
  const alg = ca.signingKey.algorithm as EcKeyAlgorithm | RsaHashedKeyAlgorithm;
  if (alg.name === 'ECDSA') return { name: 'ECDSA', hash: curveHash((alg as EcKeyAlgorithm).namedCurve) } as EcdsaParams;
  return { name: 'RSASSA-PKCS1-v1_5' };
}

async function issue(
  ca: CertificateAuthority,
  opts: CertificateOptions,
  subject: X509.JsonName,
  usages: X509.ExtendedKeyUsage[],
  extra: X509.Extension[],
): Promise<IssuedCertificate> {
  const alg = opts.keyAlgorithm ?? KeyAlgorithm.ECDSA_P256;
  const params = algorithmParams(alg);
  const keys = await generateKeys(alg);
  const { notBefore, notAfter } = validity(opts, DEFAULT_LEAF_VALIDITY_DAYS, 'validityDays');
  const caCertificate = parseCertificate('CA certificate', ca.certPem);
  if (notAfter > caCertificate.notAfter) {
    throw new Error(
      `validityDays: the certificate would be valid until ${notAfter.toISOString()}, after its CA expires (${caCertificate.notAfter.toISOString()}); ` +
        'shorten validityDays or renew the CA',
    );
  }
  const ku = x509().KeyUsageFlags.digitalSignature | (params.rsa ? x509().KeyUsageFlags.keyEncipherment : 0);
  const certificate = await x509().X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject,
      issuer: caCertificate.subjectName,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: ca.signingKey,
      signingAlgorithm: caSignAlgorithm(ca),
      extensions: [
        new (x509().BasicConstraintsExtension)(false, undefined, true),
        new (x509().KeyUsagesExtension)(ku, true),
        new (x509().ExtendedKeyUsageExtension)(usages, false),
        await x509().SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        await x509().AuthorityKeyIdentifierExtension.create(caCertificate, false, crypto),
        ...extra,
      ],
    },
    crypto,
  );
  return { certPem: eol(certificate.toString('pem')), keyPem: await privateKeyPem(keys.privateKey), certificate: summarise(certificate) };
}

const DNS_NAME = /^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Splits a mixed list of subject alternative names into DNS names and IP addresses
 * (what `--sans localhost,127.0.0.1` gives). Throws naming the entry that is neither.
 */
export function splitSans(sans: readonly string[]): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  for (const raw of sans) {
    const san = raw.trim();
    if (san === '') continue;
    const ip = san.startsWith('[') && san.endsWith(']') ? san.slice(1, -1) : san;
    if (isIP(ip)) ipAddresses.push(ip);
    else if (DNS_NAME.test(san.toLowerCase()) && san.length <= 253) dnsNames.push(san.toLowerCase());
    else {
      throw new Error(
        `sans: ${JSON.stringify(san)} is neither an IP address nor a DNS name (lowercase labels of a-z, 0-9 and '-', separated by '.'); ` +
          'remove it or fix its spelling',
      );
    }
  }
  return { dnsNames, ipAddresses };
}

/** Issues a serving certificate (EKU serverAuth) for the sink, with DNS and IP SANs. */
export async function issueServingCertificate(ca: CertificateAuthority, opts: ServingCertificateOptions): Promise<IssuedCertificate> {
  const { dnsNames, ipAddresses } = splitSans([...(opts.dnsNames ?? []), ...(opts.ipAddresses ?? [])]);
  for (const d of opts.dnsNames ?? []) {
    if (isIP(d)) throw new Error(`dnsNames: ${JSON.stringify(d)} is an IP address; list it in ipAddresses instead`);
  }
  for (const i of opts.ipAddresses ?? []) {
    if (!isIP(i)) throw new Error(`ipAddresses: ${JSON.stringify(i)} is not an IPv4 or IPv6 address; list DNS names in dnsNames instead`);
  }
  if (dnsNames.length === 0 && ipAddresses.length === 0) {
    throw new Error(
      'dnsNames/ipAddresses: both are empty; a serving certificate needs at least one SAN, because clients (Go, node) ignore the CN. ' +
        'Add the address the apiserver dials, e.g. ipAddresses: ["10.96.0.50"]',
    );
  }
  const commonName = opts.commonName ?? dnsNames[0] ?? ipAddresses[0];
  checkName('commonName', commonName);
  const san = new (x509().SubjectAlternativeNameExtension)(
    [...dnsNames.map((value) => ({ type: 'dns' as const, value })), ...ipAddresses.map((value) => ({ type: 'ip' as const, value }))],
    false,
  );
  return issue(ca, opts, [{ CN: [commonName] }], [x509().ExtendedKeyUsage.serverAuth], [san]);
}

/**
 * Issues a client certificate (EKU clientAuth) with CN = user and one O per group — the identity
 * the kube-apiserver presents to the sink.
 */
export async function issueClientCertificate(ca: CertificateAuthority, opts: ClientCertificateOptions): Promise<IssuedCertificate> {
  checkName('user', opts.user);
  const groups = opts.groups ?? [];
  groups.forEach((g, i) => checkName(`groups[${i}]`, g));
  const subject: X509.JsonName = [...groups.map((g) => ({ O: [g] })), { CN: [opts.user] }];
  return issue(ca, opts, subject, [x509().ExtendedKeyUsage.clientAuth], []);
}

/** A CA, the sink's serving certificate and the apiserver's client certificate in one call. */
export async function createWebhookTlsBundle(opts: WebhookTlsBundleOptions): Promise<WebhookTlsBundle> {
  const { dnsNames, ipAddresses } = splitSans(opts.sans);
  const common = { keyAlgorithm: opts.keyAlgorithm, now: opts.now };
  const ca = await createCertificateAuthority({ ...common, validityDays: opts.caValidityDays });
  const sink = await issueServingCertificate(ca, { ...common, validityDays: opts.validityDays, dnsNames, ipAddresses });
  const apiserverClient = await issueClientCertificate(ca, {
    ...common,
    validityDays: opts.validityDays,
    user: opts.clientUser ?? DEFAULT_CLIENT_USER,
    groups: opts.clientGroups,
  });
  return { ca, sink, apiserverClient };
}
