/**
 * A minimal MaxMind DB writer for tests (format 2.0, https://maxmind.github.io/MaxMind-DB/): IPv4 networks,
 * record size 24, data as maps, strings, unsigned integers, booleans and arrays. By default it writes an
 * IPv6 tree with IPv4 at ::/96 (ip_version 6), as MaxMind's own GeoIP2/GeoLite2 databases are laid out;
 * `ipVersion: 4` writes an IPv4-only tree. Networks must not overlap.
 */
import { writeFileSync } from 'node:fs';

export type MmdbValue = string | number | boolean | MmdbValue[] | { [key: string]: MmdbValue };

export interface MmdbEntry {
  /** An IPv4 network, e.g. `10.77.0.16/28`. */
  cidr: string;
  data: { [key: string]: MmdbValue };
}

export interface MmdbOptions {
  ipVersion?: 4 | 6;
  databaseType?: string;
}

const RECORD_SIZE = 24;
const METADATA_MARKER = Buffer.concat([Buffer.from([0xab, 0xcd, 0xef]), Buffer.from('MaxMind.com')]);

// Data types (the top 3 bits of the control byte; 8 and above are "extended": type 0 and a second byte).
const T = { string: 2, uint16: 5, uint32: 6, map: 7, uint64: 9, array: 11, boolean: 14 } as const;

function control(type: number, size: number): Buffer {
  const head =
    size < 29 ? [size] : size < 285 ? [29, size - 29] : [30, (size - 285) >> 8, (size - 285) & 0xff];
  if (size >= 65821) throw new Error(`mmdb-writer: value too large (${size})`);
  const [first, ...rest] = head as [number, ...number[]];
  return Buffer.from(type < 8 ? [(type << 5) | first, ...rest] : [first, type - 7, ...rest]);
}

function uint(type: number, n: number | bigint): Buffer {
  let hex = BigInt(n).toString(16);
  if (hex === '0') hex = '';
  const bytes = Buffer.from(hex.padStart(hex.length + (hex.length % 2), '0'), 'hex');
  return Buffer.concat([control(type, bytes.length), bytes]);
}

function str(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([control(T.string, bytes.length), bytes]);
}

function map(entries: [string, Buffer][]): Buffer {
  return Buffer.concat([control(T.map, entries.length), ...entries.flatMap(([k, v]) => [str(k), v])]);
}

/** Plain data: integers become uint32 (the GeoIP databases' geoname ids are uint32 too). */
export function encodeValue(v: MmdbValue): Buffer {
  if (typeof v === 'string') return str(v);
  if (typeof v === 'boolean') return control(T.boolean, v ? 1 : 0);
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`mmdb-writer: not a uint32: ${v}`);
    return uint(T.uint32, v);
  }
  if (Array.isArray(v)) return Buffer.concat([control(T.array, v.length), ...v.map(encodeValue)]);
  return map(Object.entries(v).map(([k, x]) => [k, encodeValue(x)]));
}

function cidrBits(cidr: string, ipVersion: 4 | 6): number[] {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = m?.slice(1, 5).map(Number) ?? [];
  const prefix = Number(m?.[5]);
  if (!m || octets.some((o) => o > 255) || prefix > 32) throw new Error(`mmdb-writer: bad IPv4 CIDR ${cidr}`);
  const bits = octets.flatMap((o) => [7, 6, 5, 4, 3, 2, 1, 0].map((i) => (o >> i) & 1)).slice(0, prefix);
  return ipVersion === 6 ? [...new Array<number>(96).fill(0), ...bits] : bits;
}

type Rec = { node: number } | { data: number } | null;

/** The bytes of a .mmdb holding `entries`. */
export function buildMmdb(entries: MmdbEntry[], opts: MmdbOptions = {}): Buffer {
  const ipVersion = opts.ipVersion ?? 6;
  const nodes: [Rec, Rec][] = [[null, null]];
  const data: Buffer[] = [];
  const dataOffsets: number[] = [];
  let dataSize = 0;
  for (const { cidr, data: value } of entries) {
    const bits = cidrBits(cidr, ipVersion);
    if (bits.length === 0) throw new Error('mmdb-writer: a /0 network is not supported');
    const encoded = encodeValue(value);
    dataOffsets.push(dataSize);
    data.push(encoded);
    dataSize += encoded.length;
    let node = 0;
    bits.forEach((bit, depth) => {
      const pair = nodes[node]!;
      const rec = pair[bit as 0 | 1];
      if (depth === bits.length - 1) {
        if (rec) throw new Error(`mmdb-writer: ${cidr} overlaps another network`);
        pair[bit as 0 | 1] = { data: data.length - 1 };
        return;
      }
      if (rec && 'data' in rec) throw new Error(`mmdb-writer: ${cidr} overlaps another network`);
      if (!rec) {
        nodes.push([null, null]);
        pair[bit as 0 | 1] = { node: nodes.length - 1 };
      }
      node = (pair[bit as 0 | 1] as { node: number }).node;
    });
  }
  const nodeCount = nodes.length;
  // A record is a node number, node_count for "no data", or node_count + 16 + an offset in the data section.
  const recordValue = (r: Rec): number =>
    r === null ? nodeCount : 'node' in r ? r.node : nodeCount + 16 + dataOffsets[r.data]!;
  const tree = Buffer.alloc((nodeCount * RECORD_SIZE * 2) / 8);
  nodes.forEach(([left, right], i) => {
    tree.writeUIntBE(recordValue(left), i * 6, 3);
    tree.writeUIntBE(recordValue(right), i * 6 + 3, 3);
  });
  if (nodeCount + 16 + dataSize >= 2 ** RECORD_SIZE)
    throw new Error('mmdb-writer: too large for 24-bit records');
  const metadata = map([
    ['node_count', uint(T.uint32, nodeCount)],
    ['record_size', uint(T.uint16, RECORD_SIZE)],
    ['ip_version', uint(T.uint16, ipVersion)],
    ['database_type', str(opts.databaseType ?? 'Tiercast-Test-Country')],
    ['languages', encodeValue(['en'])],
    ['binary_format_major_version', uint(T.uint16, 2)],
    ['binary_format_minor_version', uint(T.uint16, 0)],
    ['build_epoch', uint(T.uint64, Math.floor(Date.now() / 1000))],
    ['description', encodeValue({ en: 'tiercast test database' })],
  ]);
  return Buffer.concat([tree, Buffer.alloc(16), ...data, METADATA_MARKER, metadata]);
}

export function writeMmdb(path: string, entries: MmdbEntry[], opts: MmdbOptions = {}): void {
  writeFileSync(path, buildMmdb(entries, opts));
}
