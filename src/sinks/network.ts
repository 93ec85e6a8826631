/** IP and CIDR checks for the sink constructs' props (fixed ClusterIPs, control-plane CIDRs). Pure. */
import { isIP } from 'node:net';
import { Cidr, offsetInCidr, parseCidr } from '../core/cidr';

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
