/**
 * Who is on the other end of an HTTP request or WebSocket upgrade: the client's address and whether it
 * reached us over HTTPS. The socket peer is the client unless the peer is a configured proxy (`trustProxy`,
 * CIDR blocks); only then are the proxy's forwarding headers read. `X-Forwarded-For` is walked from the
 * right: each trusted hop is skipped, the first address that is not a trusted proxy is the client (anything
 * further left was written by that client and is not believed). `Forwarded` is read instead when
 * `forwardedHeader` says so: a proxy that only appends X-Forwarded-For passes a client's own `Forwarded`
 * through untouched, so exactly one of the two can be trusted per deployment.
 */
import { BlockList, isIP } from 'node:net';
import { ConfigError } from '../errors/index.js';
import type { HttpRequest, HttpResponse } from './uws-server.js';

export type ForwardedHeader = 'x-forwarded-for' | 'forwarded';

export interface ClientInfo {
  /** The client's address (IPv4-mapped IPv6 written as IPv4). */
  ip: string;
  /** The client's connection to us (or to the trusted proxy in front of us) is HTTPS. */
  secure: boolean;
}

export interface ProxyTrustOptions {
  /** CIDR blocks (or single addresses) of the proxies in front of this node. */
  trustProxy: readonly string[];
  forwardedHeader?: ForwardedHeader;
  /** Every client is secure: this node serves TLS itself, or the operator says the site is HTTPS-only. */
  secure?: boolean;
}

/** IPv4-mapped IPv6 (`::ffff:10.0.0.1`, and uWebSockets.js's long form) as IPv4; brackets and zones dropped. */
export function normalizeAddress(raw: string): string {
  let a = raw.trim().replace(/^\[(.*)\](:\d+)?$/, '$1');
  const zone = a.indexOf('%');
  if (zone > 0) a = a.slice(0, zone);
  const mapped = /^(?:0{1,4}:){5}ffff:(\d+\.\d+\.\d+\.\d+)$|^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped) return mapped[1] ?? mapped[2]!;
  const hexMapped =
    /^(?:0{1,4}:){5}ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$|^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(a);
  if (hexMapped) {
    const hi = parseInt(hexMapped[1] ?? hexMapped[3]!, 16);
    const lo = parseInt(hexMapped[2] ?? hexMapped[4]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  // An IPv4 address with a port (`1.2.3.4:5678`, as some proxies write it).
  const v4port = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(a);
  return v4port ? v4port[1]! : a;
}

/** Throws ConfigError naming the entry when a `trustProxy` entry is not an address or CIDR block. */
export function parseTrustList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  entries.forEach((entry, i) => {
    const bad = (why: string) =>
      new ConfigError(`trustProxy[${i}]: "${entry}" is not an address or CIDR block (${why})`, { entry: i });
    const [addr = '', prefix, ...rest] = entry.split('/');
    if (rest.length) throw bad('more than one "/"');
    const family = isIP(addr);
    if (!family) throw bad('not an IPv4 or IPv6 address');
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) return list.addAddress(addr, type);
    const bits = family === 4 ? 32 : 128;
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits) throw bad(`prefix must be 0-${bits}`);
    list.addSubnet(addr, Number(prefix), type);
  });
  return list;
}

export class ProxyTrust {
  private readonly list: BlockList;
  private readonly header: ForwardedHeader;
  private readonly empty: boolean;
  private readonly secure: boolean;

  constructor(opts: ProxyTrustOptions) {
    this.list = parseTrustList(opts.trustProxy);
    this.empty = opts.trustProxy.length === 0;
    this.header = opts.forwardedHeader ?? 'x-forwarded-for';
    this.secure = opts.secure ?? false;
  }

  /** Whether an address is one of the configured proxies. */
  trusts(address: string): boolean {
    if (this.empty) return false;
    const a = normalizeAddress(address);
    const family = isIP(a);
    return family !== 0 && this.list.check(a, family === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * The client from the socket peer and the request's headers (pure; `headers` holds the lower-case
   * forwarding headers as received, absent ones undefined).
   */
  resolve(peer: string, headers: { forwarded?: string; xff?: string; proto?: string }): ClientInfo {
    const direct = normalizeAddress(peer);
    if (!this.trusts(direct)) return { ip: direct, secure: this.secure };
    // Each hop: an address a proxy saw, and (Forwarded only) the scheme of that connection.
    const hops =
      this.header === 'forwarded'
        ? forwardedElements(headers.forwarded)
        : commaList(headers.xff).map((f) => ({ for: f, proto: undefined }));
    let ip = direct;
    let hopProto: string | undefined;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalizeAddress(hops[i]!.for ?? '');
      if (!isIP(hop)) break; // "unknown", an obfuscated identifier or garbage: stop at the last real hop.
      ip = hop;
      hopProto = hops[i]!.proto;
      if (!this.trusts(hop)) break;
    }
    // Forwarded: the scheme our outermost proxy recorded for the client's connection. X-Forwarded-Proto: the
    // last value, the one our own proxy wrote (set or appended), never one a client put before it.
    const proto = this.header === 'forwarded' ? hopProto : commaList(headers.proto).at(-1)?.toLowerCase();
    return { ip, secure: this.secure || proto === 'https' };
  }

  /** The client of a uWS request (read synchronously: the request object dies with the handler). */
  of(res: HttpResponse, req: HttpRequest): ClientInfo {
    const peer = Buffer.from(res.getRemoteAddressAsText()).toString();
    if (!this.trusts(peer)) return { ip: normalizeAddress(peer), secure: this.secure };
    // A proxy may add its own header line after the client's (HAProxy's `option forwardfor`): every line
    // counts, in order, as one list (RFC 9110 §5.3). uWS's getHeader() would return only the first, the
    // client's.
    const lines: Record<string, string[]> = {};
    req.forEach((k, v) => {
      if (k === 'forwarded' || k === 'x-forwarded-for' || k === 'x-forwarded-proto')
        (lines[k] ??= []).push(v);
    });
    const joined = (k: string) => lines[k]?.join(', ');
    return this.resolve(peer, {
      forwarded: joined('forwarded'),
      xff: joined('x-forwarded-for'),
      proto: joined('x-forwarded-proto'),
    });
  }
}

function commaList(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** RFC 7239 `Forwarded: for=1.2.3.4;proto=https, for="[2001:db8::1]:4711"`: for= and proto= per element. */
function forwardedElements(value: string | undefined): { for?: string; proto?: string }[] {
  return commaList(value).map((element) => {
    const params: Record<string, string> = {};
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim().toLowerCase();
      params[name] ??= pair
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1')
        .toLowerCase();
    }
    return { for: params.for, proto: params.proto };
  });
}
