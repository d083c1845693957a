/**
 * Which URLs a webhook, a push endpoint or a restream output may point at (ADR 0021). A node that connects to
 * any address an account types is a request forger for its own network, so:
 * - only http: and https: (for outputs: rtmp: and rtmps:), no user:password@, at most 2,048 characters;
 * - the host's every address (as resolved now, and again at each delivery: DNS can change; the delivery then
 *   connects to the addresses checked, pinned-post.ts) must be public:
 *   no loopback, private, link-local, carrier-grade NAT, unspecified, multicast or reserved range, IPv4 or IPv6,
 *   IPv4-mapped IPv6 included; unless the operator allows private targets (a receiver on the LAN, the tests).
 */
import { BlockList, isIP } from 'node:net';
import { lookup } from 'node:dns/promises';

const MAX_URL_LENGTH = 2048;

const NON_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  NON_PUBLIC.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const)
  NON_PUBLIC.addSubnet(net, prefix, 'ipv6');

/** Whether an IP address literal is outside every public range. */
export function isNonPublicAddress(address: string): boolean {
  const v = isIP(address);
  if (v === 4) return NON_PUBLIC.check(address, 'ipv4');
  if (v !== 6) return true;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return NON_PUBLIC.check(mapped[1]!, 'ipv4');
  return NON_PUBLIC.check(address, 'ipv6');
}

/** `addresses`: what the host resolved to when checked (absent when private targets are allowed). */
export type TargetCheck = { ok: true; url: URL; addresses?: string[] } | { ok: false; reason: string };

/** The URL's shape: scheme, no credentials, length. */
export function checkTargetShape(raw: string, schemes: readonly string[] = ['http:', 'https:']): TargetCheck {
  if (raw.length > MAX_URL_LENGTH) return { ok: false, reason: `longer than ${MAX_URL_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'not a URL' };
  }
  if (!schemes.includes(url.protocol))
    return { ok: false, reason: `the scheme must be ${schemes.map((s) => s.slice(0, -1)).join(' or ')}` };
  if (url.username || url.password) return { ok: false, reason: 'credentials in the URL are not allowed' };
  if (!url.hostname) return { ok: false, reason: 'no host' };
  return { ok: true, url };
}

/**
 * The URL's shape, then every address its host resolves to. `resolve` is the DNS lookup (injected in tests).
 */
export async function checkTarget(
  raw: string,
  opts: {
    allowPrivate: boolean;
    schemes?: readonly string[];
    resolve?: (host: string) => Promise<string[]>;
  },
): Promise<TargetCheck> {
  const shape = checkTargetShape(raw, opts.schemes);
  if (!shape.ok || opts.allowPrivate) return shape;
  const host = shape.url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: string[];
  try {
    addresses = isIP(host)
      ? [host]
      : await (opts.resolve ?? (async (h) => (await lookup(h, { all: true })).map((a) => a.address)))(host);
  } catch {
    return { ok: false, reason: `its host ${host} does not resolve` };
  }
  if (addresses.length === 0) return { ok: false, reason: `its host ${host} does not resolve` };
  const bad = addresses.find(isNonPublicAddress);
  if (bad) return { ok: false, reason: `its host resolves to ${bad}, which is not a public address` };
  return { ...shape, addresses };
}
