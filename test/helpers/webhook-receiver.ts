/**
 * A webhook receiver on loopback for the tests: a real HTTP server that records every POST (path, body and
 * signature header) and answers `status(path)`.
 */
import { createServer, type Server } from 'node:http';
import { SIGNATURE_HEADER } from '../../src/hub/webhooks/signature.js';

export interface Received {
  path: string;
  body: string;
  signature: string | undefined;
}

export async function webhookReceiver(
  status: (path: string) => number,
): Promise<{ url: string; got: Received[]; server: Server }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const sig = req.headers[SIGNATURE_HEADER];
      got.push({ path: req.url ?? '', body, signature: Array.isArray(sig) ? sig[0] : sig });
      res.statusCode = status(req.url ?? '');
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  return { url: `http://127.0.0.1:${addr.port}`, got, server };
}
