/**
 * TEST DOUBLE — HTTP plumbing for ConsulDouble (consul-double.ts): Go durations, Consul-style errors and
 * bodies, and Go's case-insensitive JSON field matching.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const MAX_KV_VALUE = 512 * 1024;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Go's time.ParseDuration, for the units Consul users write ("10s", "1m30s", "500ms"). */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  const units: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  };
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * units[m[2]!]!;
    pos = re.lastIndex;
  }
  return pos === text.length && pos > 0 ? total : undefined;
}

export function optionalUint(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new HttpError(400, `Invalid ${name}`);
  return Number(v);
}

/** Go's encoding/json matches field names case-insensitively; so does Consul. */
export function lowerKeys(raw: unknown): Record<string, unknown> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new HttpError(400, 'Request decode failed: expected an object');
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.toLowerCase().replace(/_/g, ''), v]));
}

export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'Request decode failed: invalid JSON');
  }
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_KV_VALUE + 1) chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.destroyed) return;
  let payload: Buffer;
  let type: string;
  if (Buffer.isBuffer(body)) {
    payload = body;
    type = 'application/octet-stream';
  } else if (typeof body === 'string' && status !== 200) {
    payload = Buffer.from(body);
    type = 'text/plain; charset=utf-8';
  } else if (body === '') {
    payload = Buffer.alloc(0);
    type = 'text/plain; charset=utf-8';
  } else {
    payload = Buffer.from(JSON.stringify(body));
    type = 'application/json';
  }
  res.writeHead(status, { ...headers, 'Content-Type': type, 'Content-Length': payload.length });
  res.end(payload);
}
