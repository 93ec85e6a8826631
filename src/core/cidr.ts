/** IP and CIDR arithmetic (fixed ClusterIPs, control-plane CIDRs, sink rule source ranges). Pure. */
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
