/** GeoIP regions: a real .mmdb (written by the test helper) read through the `maxmind` reader. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/common/errors/index.js';
import { openGeoIp } from '../../src/edge/geoip.js';
import { buildMmdb, writeMmdb, type MmdbEntry } from '../helpers/mmdb-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'tiercast-geoip-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ENTRIES: MmdbEntry[] = [
  { cidr: '10.77.0.16/28', data: { country: { iso_code: 'DE' }, continent: { code: 'EU' } } },
  {
    cidr: '10.77.1.0/24',
    data: { country: { iso_code: 'US', geoname_id: 6252001 }, continent: { code: 'NA' } },
  },
  // No country, only where the network is registered (as for anycast and satellite ranges).
  { cidr: '192.0.2.0/24', data: { registered_country: { iso_code: 'JP' }, continent: { code: 'AS' } } },
  { cidr: '198.51.100.0/25', data: { country: { iso_code: 'FR' }, continent: { code: 'EU' } } },
  { cidr: '198.51.100.128/25', data: { country: { iso_code: 'NA' }, continent: { code: 'AF' } } }, // Namibia
  { cidr: '203.0.113.7/32', data: { continent: { code: 'OC' } } },
];
const REGIONS = {
  DE: 'eu-central',
  US: 'us-east',
  JP: 'ap-tokyo',
  EU: 'eu-west',
  NA: 'us-east',
  AF: 'af-south',
};

const paths = { v6: join(dir, 'country-v6.mmdb'), v4: join(dir, 'country-v4.mmdb') };
writeMmdb(paths.v6, ENTRIES);
writeMmdb(paths.v4, ENTRIES, { ipVersion: 4 });

for (const [layout, path] of Object.entries(paths)) {
  test(`${layout} tree: every address of a network maps to its country's region`, async () => {
    const geo = await openGeoIp(path, REGIONS);
    for (const ip of ['10.77.0.16', '10.77.0.24', '10.77.0.31'])
      assert.equal(geo.region(ip), 'eu-central', ip);
    for (const ip of ['10.77.1.0', '10.77.1.128', '10.77.1.255']) assert.equal(geo.region(ip), 'us-east', ip);
    assert.equal(geo.region('192.0.2.99'), 'ap-tokyo', 'registered_country when there is no country');
    assert.equal(geo.databaseType, 'Tiercast-Test-Country');
  });

  test(`${layout} tree: addresses outside every network, invalid or unmapped have no region`, async () => {
    const geo = await openGeoIp(path, REGIONS);
    for (const ip of ['10.77.0.15', '10.77.0.32', '10.77.2.0', '8.8.8.8', '0.0.0.0', '255.255.255.255']) {
      assert.equal(geo.region(ip), undefined, ip);
    }
    assert.equal(geo.region('203.0.113.7'), undefined, 'continent OC is not in the map');
    for (const bad of ['', 'not-an-ip', '10.77.0.300', '10.77.0', '2001:db8::1', '::1']) {
      assert.equal(geo.region(bad), undefined, bad);
    }
  });

  test(`${layout} tree: IPv4-mapped IPv6, as uWebSockets.js reports it, is looked up as IPv4`, async () => {
    const geo = await openGeoIp(path, REGIONS);
    assert.equal(geo.region('::ffff:10.77.0.20'), 'eu-central');
    assert.equal(geo.region('0000:0000:0000:0000:0000:ffff:0a4d:0114'), 'us-east'); // 10.77.1.20
    assert.equal(geo.region('0000:0000:0000:0000:0000:ffff:0a4d:0014'), 'eu-central'); // 10.77.0.20
    assert.equal(geo.region('::FFFF:A4D:114'), 'us-east');
    assert.equal(geo.region('0000:0000:0000:0000:0000:ffff:0a4d:0020'), undefined); // 10.77.0.32
  });
}

test('continent keys catch the countries the map does not name; a country key wins', async () => {
  const geo = await openGeoIp(paths.v6, { EU: 'eu-west', DE: 'eu-central', NA: 'us-east', AF: 'af-south' });
  assert.equal(geo.region('10.77.0.20'), 'eu-central', 'DE by its country key');
  assert.equal(geo.region('198.51.100.1'), 'eu-west', 'FR by its continent');
  // NA is North America as a key, so Namibia follows the Africa key, not us-east.
  assert.equal(geo.region('198.51.100.200'), 'af-south');
  const continentsOnly = await openGeoIp(paths.v6, { eu: 'eu-west' });
  assert.equal(continentsOnly.region('10.77.0.20'), 'eu-west', 'keys are case-insensitive');
  assert.equal(continentsOnly.region('10.77.1.1'), undefined);
});

test('a region key that is not a two-letter code is refused with the key named', async () => {
  for (const key of ['DEU', 'D', 'de-DE', '']) {
    await assert.rejects(
      openGeoIp(paths.v6, { [key]: 'x' }),
      (err: unknown) =>
        err instanceof ConfigError && err.code === 'CONFIG_INVALID' && err.message.includes(key),
    );
  }
});

test('a missing database is a CONFIG_INVALID naming the path', async () => {
  const missing = join(dir, 'nowhere', 'GeoLite2-Country.mmdb');
  await assert.rejects(openGeoIp(missing, REGIONS), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.match(err.message, /missing/);
    assert.ok(err.message.includes(missing), err.message);
    return true;
  });
  const aDir = join(dir, 'a-directory.mmdb');
  mkdirSync(aDir);
  await assert.rejects(openGeoIp(aDir, REGIONS), (err: unknown) => {
    assert.ok(err instanceof ConfigError && err.message.includes(aDir), String(err));
    return true;
  });
});

test('a file that is not a MaxMind DB, or is cut short, is a CONFIG_INVALID naming the path', async () => {
  const whole = readFileSync(paths.v6);
  const metadata = (db: Buffer): Buffer => db.subarray(db.lastIndexOf(Buffer.from('MaxMind.com')) - 3);
  const cases: Record<string, Buffer> = {
    'random.mmdb': randomBytes(4096),
    'empty.mmdb': Buffer.alloc(0),
    'text.mmdb': Buffer.from('this is a CSV export, not a database\n'),
    // The metadata is at the end: cutting the end loses it.
    'truncated.mmdb': whole.subarray(0, Math.floor(whole.length / 2)),
    // Metadata intact but the tree and data section cut away in front of it.
    'headless.mmdb': metadata(whole),
    // A large database whose tree outgrows what is left of it.
    'short-tree.mmdb': (() => {
      const big = buildMmdb(
        Array.from({ length: 200 }, (_, i) => ({
          cidr: `10.${i}.0.0/16`,
          data: { country: { iso_code: 'DE' } },
        })),
      );
      return Buffer.concat([big.subarray(0, 500), metadata(big)]);
    })(),
  };
  for (const [name, bytes] of Object.entries(cases)) {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    await assert.rejects(
      openGeoIp(path, REGIONS),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.code === 'CONFIG_INVALID' &&
        err.message.includes('not a MaxMind DB file') &&
        err.message.includes(path),
      name,
    );
  }
});
