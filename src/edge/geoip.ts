/**
 * Which region a viewer's address belongs to, from a MaxMind DB (GeoIP2/GeoLite2 Country or City, or any
 * .mmdb with the same `country`/`continent` fields) and a map from ISO country or continent code to region.
 * The file is read once, whole, when opened; lookups are in memory and never throw.
 */
import { stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import maxmind, { type CountryResponse, type Reader } from 'maxmind';
import { ConfigError, errorMessage } from '../common/errors/index.js';

export interface GeoIpLookup {
  /**
   * The region for a client address (IPv4, IPv6 or IPv4-mapped IPv6 in any spelling); undefined when the
   * address is not valid, is in no network of the database, or its country and continent map to no region.
   */
  region(ip: string): string | undefined;
  /** From the database's metadata, for a start-up log line. */
  readonly databaseType: string;
  readonly builtAt: Date;
}

/**
 * AF, AS, NA and SA are also the ISO codes of Afghanistan, American Samoa, Namibia and Saudi Arabia. As keys
 * of the region map they mean the continent: `{ NA: 'us-east' }` is written for North America, and routing
 * Namibia there would be the surprise. Those four countries follow their continent's key.
 */
const CONTINENT_CODES = new Set(['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA']);

/** Open the database at `path`. Rejects with ConfigError (CONFIG_INVALID) naming the path or the bad key. */
export async function openGeoIp(
  path: string,
  regionsByCountry: Record<string, string>,
): Promise<GeoIpLookup> {
  const countries = new Map<string, string>();
  const continents = new Map<string, string>();
  for (const [key, region] of Object.entries(regionsByCountry)) {
    if (!/^[A-Za-z]{2}$/.test(key)) {
      throw new ConfigError('a GeoIP region key must be a two-letter ISO country or continent code', { key });
    }
    const code = key.toUpperCase();
    const target = CONTINENT_CODES.has(code) ? continents : countries;
    if (target.has(code) && target.get(code) !== region) {
      throw new ConfigError('a GeoIP region key is given twice with different regions', { key: code });
    }
    target.set(code, region);
  }

  const reader = await openReader(path);
  return {
    databaseType: reader.metadata.databaseType,
    builtAt: reader.metadata.buildEpoch,
    region(ip: string): string | undefined {
      const record = lookup(reader, ip);
      if (!record) return undefined;
      const country = record.country?.iso_code ?? record.registered_country?.iso_code;
      const byCountry = country === undefined ? undefined : countries.get(country);
      if (byCountry !== undefined) return byCountry;
      const continent = record.continent?.code;
      return continent === undefined ? undefined : continents.get(continent);
    },
  };
}

async function openReader(path: string): Promise<Reader<CountryResponse>> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new ConfigError('the GeoIP database is not a file', { path });
    size = st.size;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError('the GeoIP database file is missing', { path });
    throw new ConfigError(`cannot read the GeoIP database: ${code ?? errorMessage(err)}`, { path });
  }
  const notMmdb = (why: string): ConfigError => new ConfigError(`not a MaxMind DB file: ${why}`, { path });
  let reader: Reader<CountryResponse>;
  try {
    reader = await maxmind.open<CountryResponse>(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError('the GeoIP database file is missing', { path });
    throw notMmdb(errorMessage(err));
  }
  // The reader only parses the metadata at the end of the file. A file cut short or damaged before it can
  // still have metadata that parses; check that the tree and data section fit, or lookups would read
  // past the buffer on the first viewer instead of failing here at start-up.
  const m = reader.metadata as Partial<Reader<CountryResponse>['metadata']> | undefined;
  if (!m || typeof m !== 'object') throw notMmdb('no metadata');
  if (m.binaryFormatMajorVersion !== 2) throw notMmdb(`format version ${String(m.binaryFormatMajorVersion)}`);
  if (m.ipVersion !== 4 && m.ipVersion !== 6) throw notMmdb(`ip_version ${String(m.ipVersion)}`);
  if (!Number.isInteger(m.nodeCount) || (m.nodeCount ?? 0) <= 0) throw notMmdb('no search tree');
  if ((m.searchTreeSize ?? Infinity) + 16 > size) throw notMmdb('the search tree is larger than the file');
  if (typeof m.databaseType !== 'string') throw notMmdb('no database_type');
  return reader;
}

/** The record for `ip`, with IPv4-mapped IPv6 (uWebSockets.js's `0000:…:ffff:7f00:0001`) looked up as IPv4. */
function lookup(reader: Reader<CountryResponse>, ip: string): CountryResponse | null {
  let address = ip;
  const family = isIP(address);
  if (family === 0) return null;
  if (family === 6) {
    const v4 = mappedIpv4(address);
    if (v4 !== undefined) address = v4;
    else if (reader.metadata.ipVersion === 4) return null;
  }
  try {
    return reader.get(address);
  } catch {
    // Damage deep in the data section that the checks at open could not see: no region, not a crash.
    return null;
  }
}

function mappedIpv4(ip: string): string | undefined {
  let host: string;
  try {
    // The URL parser spells every IPv6 address one canonical way: lower case, shortest form.
    host = new URL(`http://[${ip.replace(/%.*$/, '')}]/`).hostname;
  } catch {
    return undefined;
  }
  const m = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(host);
  if (!m) return undefined;
  const hi = parseInt(m[1]!, 16);
  const lo = parseInt(m[2]!, 16);
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}
