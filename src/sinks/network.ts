/** IP and CIDR checks for the sink constructs (fixed ClusterIPs, control-plane CIDRs). Pure. */
import { isIP } from 'node:net';

export interface Cidr {
  readonly family: 4 | 6;
  readonly network: bigint;
  readonly prefix: number;
  readonly text: string;
}

function ipToBigInt(ip: string): { family: 4 | 6; value: bigint } | undefined {
  const fam = isIP(ip);
  if (fam === 4) return { family: 4, value: ip.split('.').reduce((n, o) => (n << 8n) + BigInt(Number(o)), 0n) };
  if (fam === 6) {
    let text = ip.toLowerCase();
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
    if (v4) {
      const n = ipToBigInt(v4[1])!.value;
      text = text.replace(v4[1], `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`);
    }
    const [head, tail] = text.split('::');
    const h = head ? head.split(':') : [];
    const t = tail !== undefined ? (tail ? tail.split(':') : []) : [];
    const groups = tail !== undefined ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
    return { family: 6, value: groups.reduce((n, g) => (n << 16n) + BigInt(parseInt(g || '0', 16)), 0n) };
  }
  return undefined;
}

/** Parses `a.b.c.d/n` or `v6/n`; undefined when malformed. */
export function parseCidr(text: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const ip = ipToBigInt(m[1]);
  const prefix = Number(m[2]);
  if (!ip || prefix > (ip.family === 4 ? 32 : 128)) return undefined;
  const bits = BigInt(ip.family === 4 ? 32 : 128);
  const mask = ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefix))) - 1n);
  return { family: ip.family, network: ip.value & mask, prefix, text: text.trim() };
}

/** Where `ip` sits in `cidr`: its offset from the network address and the block size; undefined when outside. */
export function offsetInCidr(ip: string, cidr: Cidr): { offset: bigint; size: bigint } | undefined {
  const v = ipToBigInt(ip);
  if (!v || v.family !== cidr.family) return undefined;
  const bits = BigInt(cidr.family === 4 ? 32 : 128);
  const size = 1n << (bits - BigInt(cidr.prefix));
  const offset = v.value - cidr.network;
  return offset >= 0n && offset < size ? { offset, size } : undefined;
}

/**
 * Problems with a fixed ClusterIP for a Service: it must be an IP inside the cluster's service CIDR
 * (--service-cluster-ip-range), not its network or broadcast address, and not the first address (the
 * `kubernetes` Service's). Each problem names the prop, the value, the rule and the fix.
 */
export function clusterIpProblems(clusterIP: string, serviceCidr: string): string[] {
  const cidr = parseCidr(serviceCidr);
  if (!cidr) return [`serviceCidr: ${JSON.stringify(serviceCidr)} is not a CIDR; give the apiserver's --service-cluster-ip-range, e.g. 10.96.0.0/12`];
  if (!isIP(clusterIP)) return [`clusterIP: ${JSON.stringify(clusterIP)} is not an IP address; give a free address inside serviceCidr ${serviceCidr}, e.g. ${example(cidr)}`];
  const where = offsetInCidr(clusterIP, cidr);
  if (!where) {
    return [
      `clusterIP: ${JSON.stringify(clusterIP)} is outside serviceCidr ${serviceCidr} (the apiserver's --service-cluster-ip-range), so the Service is refused; ` +
        `pick a free address inside it, e.g. ${example(cidr)}, or set serviceCidr to your cluster's range`,
    ];
  }
  if (where.offset === 0n) return [`clusterIP: ${JSON.stringify(clusterIP)} is the network address of ${serviceCidr}; pick e.g. ${example(cidr)}`];
  if (cidr.family === 4 && where.offset === where.size - 1n) return [`clusterIP: ${JSON.stringify(clusterIP)} is the broadcast address of ${serviceCidr}; pick e.g. ${example(cidr)}`];
  if (where.offset === 1n) {
    return [`clusterIP: ${JSON.stringify(clusterIP)} is the first address of ${serviceCidr}, which the apiserver gives the 'kubernetes' Service; pick e.g. ${example(cidr)}`];
  }
  return [];
}

function example(cidr: Cidr): string {
  const v = cidr.network + 50n;
  if (cidr.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join('.');
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((v >> s) & 0xffffn).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** Problems with a list of CIDRs allowed to reach the sink; `field` names the prop. */
export function peerCidrProblems(field: string, cidrs: readonly string[], required: boolean): string[] {
  if (required && cidrs.length === 0) {
    return [`${field}: empty; list the addresses the kube-apiserver connects from (the control-plane nodes' IPs, e.g. ["192.168.1.10/32"]) — the NetworkPolicy admits only these`];
  }
  const problems: string[] = [];
  for (const c of cidrs) {
    const cidr = parseCidr(c);
    if (!cidr) problems.push(`${field}: ${JSON.stringify(c)} is not a CIDR; write e.g. 192.168.1.10/32`);
    else if (cidr.prefix === 0) problems.push(`${field}: ${JSON.stringify(c)} admits every address, which defeats the NetworkPolicy; list the control-plane nodes' addresses`);
  }
  return problems;
}
