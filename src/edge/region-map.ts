/**
 * The viewer's region from their address (pure): a configured list of CIDR blocks, each naming a region.
 * IPv4 and IPv6 blocks; an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, as uWebSockets.js reports IPv4
 * peers on a dual-stack socket) is looked up as IPv4. Blocks must not overlap: an address has one region,
 * and a list where it would depend on the order is refused at start-up, naming both entries.
 */
import { isIP } from 'node:net';
import { ConfigError } from '../common/errors/index.js';

export interface RegionBlock {
  cidr: string;
  region: string;
}

interface ParsedBlock {
  family: 4 | 6;
  /** First and last address of the block, as integers. */
  first: bigint;
  last: bigint;
  region: string;
  index: number;
  cidr: string;
}

export class RegionMap {
  private readonly blocks: ParsedBlock[];

  /** Throws ConfigError naming the entry when a block is malformed or overlaps another. */
  constructor(entries: readonly RegionBlock[]) {
    this.blocks = entries.map((e, index) => parseBlock(e, index));
    const sorted = [...this.blocks].sort((a, b) =>
      a.family !== b.family ? a.family - b.family : a.first < b.first ? -1 : a.first > b.first ? 1 : 0,
    );
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1]!;
      const cur = sorted[i]!;
      if (prev.family === cur.family && cur.first <= prev.last) {
        const [a, b] = prev.index < cur.index ? [prev, cur] : [cur, prev];
        throw new ConfigError(
          `edgeSelection.regions[${b.index}] (${b.cidr}) overlaps edgeSelection.regions[${a.index}] (${a.cidr}): an address must have one region`,
          { entry: b.index },
        );
      }
    }
  }

  get size(): number {
    return this.blocks.length;
  }

  /** The region of an address, or undefined when no block holds it (or it is not an address). */
  regionOf(address: string): string | undefined {
    const ip = parseAddress(address);
    if (!ip) return undefined;
    const hit = this.blocks.find((b) => b.family === ip.family && ip.value >= b.first && ip.value <= b.last);
    return hit?.region;
  }
}

function parseBlock(e: RegionBlock, index: number): ParsedBlock {
  const bad = (why: string) =>
    new ConfigError(`edgeSelection.regions[${index}]: "${e.cidr}" is not a CIDR block (${why})`, {
      entry: index,
    });
  const slash = e.cidr.indexOf('/');
  if (slash < 0) throw bad('missing "/prefix"');
  const ip = parseAddress(e.cidr.slice(0, slash));
  if (!ip) throw bad('not an IPv4 or IPv6 address');
  const prefixText = e.cidr.slice(slash + 1);
  const bits = ip.family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) throw bad(`prefix must be 0-${bits}`);
  const hostBits = BigInt(bits - Number(prefixText));
  const mask = (1n << hostBits) - 1n;
  if ((ip.value & mask) !== 0n) throw bad('address has bits set below the prefix');
  return { family: ip.family, first: ip.value, last: ip.value | mask, region: e.region, index, cidr: e.cidr };
}

/** An address as a family and an integer; IPv4-mapped IPv6 as IPv4. Undefined for anything else. */
export function parseAddress(raw: string): { family: 4 | 6; value: bigint } | undefined {
  const text = raw.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(text);
  if (family === 4) return { family: 4, value: ipv4Value(text) };
  if (family !== 6) return undefined;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(text);
  if (mapped) return { family: 4, value: ipv4Value(mapped[1]!) };
  const value = ipv6Value(text);
  // ::ffff:a:b written in hex is IPv4-mapped too.
  if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}

function ipv4Value(text: string): bigint {
  return text.split('.').reduce((n, part) => (n << 8n) | BigInt(Number(part)), 0n);
}

function ipv6Value(text: string): bigint {
  // A trailing dotted quad (::1.2.3.4) is the last two groups.
  const hex = text.replace(/(\d{1,3}(?:\.\d{1,3}){3})$/, (quad) => {
    const v = ipv4Value(quad);
    return `${(v >> 16n).toString(16)}:${(v & 0xffffn).toString(16)}`;
  });
  const [left, right] = hex.split('::') as [string, string | undefined];
  const l = left ? left.split(':') : [];
  const r = right ? right.split(':') : [];
  const groups = right === undefined ? l : [...l, ...Array<string>(8 - l.length - r.length).fill('0'), ...r];
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}
