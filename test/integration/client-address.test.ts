/**
 * The client's address on a real edge behind a trusted proxy, over raw sockets so the header lines are
 * exactly as a proxy writes them: the region the edge ranks edges for (`/api/edges/NAME`, from
 * `edgeSelection.regions`) shows which address it took. Every X-Forwarded-For line counts, in order (a
 * proxy such as HAProxy adds its own line after the client's, and uWebSockets.js's getHeader() returns only
 * the first); a peer that is not a trusted proxy gets no say.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startNetwork, type TestNetwork } from '../helpers/network.js';

let net: TestNetwork;
let port = 0;

before(async () => {
  net = await startNetwork({
    intermediates: 1,
    edge: {
      trustProxy: ['127.0.0.1'],
      edgeSelection: {
        regions: [
          { cidr: '198.51.100.0/24', region: 'client-region' },
          { cidr: '203.0.113.0/24', region: 'spoofed-region' },
          { cidr: '127.0.0.0/8', region: 'proxy-region' },
        ],
      },
    },
  });
  port = net.edge.port;
});

after(async () => {
  await net?.close();
});

/** GET /api/edges/cam with these extra header lines, from a local address; the region the edge saw. */
function regionSeen(lines: string[], from = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', localAddress: from });
    let data = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (data += d));
    s.on('end', () => {
      const body = data.slice(data.indexOf('\r\n\r\n') + 4);
      resolve((JSON.parse(body) as { region: string }).region);
    });
    s.on('error', reject);
    s.write(
      `GET /api/edges/cam HTTP/1.1\r\nHost: t\r\nConnection: close\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`,
    );
  });
}

test('from the trusted proxy: the rightmost untrusted address across every X-Forwarded-For line', async () => {
  assert.equal(await regionSeen(['X-Forwarded-For: 198.51.100.7']), 'client-region');
  // The client wrote the first line; the proxy appended its own: the proxy's line decides.
  assert.equal(
    await regionSeen(['X-Forwarded-For: 203.0.113.9', 'X-Forwarded-For: 198.51.100.7']),
    'client-region',
  );
  assert.equal(await regionSeen(['X-Forwarded-For: 203.0.113.9, 198.51.100.7']), 'client-region');
  assert.equal(await regionSeen([]), 'proxy-region', 'no header: the proxy is all that is known');
});

test('from any other peer the headers are ignored', async () => {
  assert.equal(await regionSeen(['X-Forwarded-For: 198.51.100.7'], '127.0.0.9'), 'proxy-region');
});
