/**
 * One webhook POST to the addresses its target was checked at (target-url.ts). A name that resolved to a
 * public address for the check could resolve to 127.0.0.1 a moment later (DNS rebinding); connecting by the
 * name again would post to the hub's own network. So the connection is made to the checked addresses only,
 * while the request still names the host (Host header, TLS server name and certificate check). Redirects are
 * not followed: a 3xx is the receiver's answer. Deliveries are one at a time per hook, so no pool is kept.
 */
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';

/** A `lookup` that answers with `addresses` whatever is asked (Node asks with `all` for happy eyeballs). */
export function pinnedLookup(addresses: readonly string[]): LookupFunction {
  const entries = addresses.map((address) => ({ address, family: isIP(address) }));
  return (_host, options, callback) => {
    if (options.all) return (callback as (e: null, a: typeof entries) => void)(null, entries);
    const first = entries[0]!;
    callback(null, first.address, first.family);
  };
}

/**
 * POSTs `body` to `url`; resolves the response's status. With `addresses`, connects only to those; without
 * (the operator allowed private targets), resolves as usual.
 */
export function postPinned(
  url: URL,
  addresses: readonly string[] | undefined,
  headers: Record<string, string>,
  body: string | Buffer,
  timeoutMs: number,
): Promise<number> {
  const options: RequestOptions = {
    method: 'POST',
    headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    signal: AbortSignal.timeout(timeoutMs),
    // A connection of its own each time: a pooled one is keyed by host and port, not by the address checked.
    agent: false,
    ...(addresses?.length ? { lookup: pinnedLookup(addresses) } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, (res) => {
      res.resume();
      res.on('error', () => {});
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err) =>
      reject(err.name === 'AbortError' ? new Error(`no answer within ${timeoutMs} ms`) : err),
    );
    req.end(body);
  });
}
