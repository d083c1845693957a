/**
 * TEST DOUBLE — decoding and validation of the JSON bodies ConsulDouble accepts (service registrations,
 * session creation), with Consul's defaults and error messages.
 */
import { HttpError, lowerKeys, parseGoDuration } from './consul-double-http.js';
import type {
  CheckStatus,
  DoubleCheckInput,
  DoubleServiceInput,
  DoubleSessionInput,
} from './consul-double-state.js';

const META_KEY_RE = /^[a-zA-Z0-9_-]+$/;

export function decodeServiceRegistration(raw: unknown): {
  service: DoubleServiceInput;
  checks: DoubleCheckInput[];
} {
  const def = lowerKeys(raw);
  const name = def.name;
  if (typeof name !== 'string' || name === '') throw new HttpError(400, 'Missing service name');
  const id = typeof def.id === 'string' && def.id !== '' ? def.id : name;
  const tags = def.tags ?? [];
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string'))
    throw new HttpError(400, 'Request decode failed: Tags');
  const meta = (def.meta ?? {}) as Record<string, unknown>;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta))
    throw new HttpError(400, 'Request decode failed: Meta');
  const metaEntries = Object.entries(meta);
  if (metaEntries.length > 64)
    throw new HttpError(
      400,
      'Invalid Service Meta: Node metadata cannot contain more than 64 key/value pairs',
    );
  for (const [k, v] of metaEntries) {
    if (typeof v !== 'string') throw new HttpError(400, 'Request decode failed: Meta');
    if (!META_KEY_RE.test(k) || k.length > 128 || k.startsWith('consul-'))
      throw new HttpError(400, `Invalid Service Meta: Key contains invalid characters: "${k}"`);
    if (v.length > 512)
      throw new HttpError(400, `Invalid Service Meta: Value is too long (limit: 512 characters)`);
  }
  const port = def.port ?? 0;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new HttpError(400, 'Request decode failed: Port');
  const address = def.address ?? '';
  if (typeof address !== 'string') throw new HttpError(400, 'Request decode failed: Address');
  const checkDefs: unknown[] = Array.isArray(def.checks)
    ? def.checks
    : def.check !== undefined && def.check !== null
      ? [def.check]
      : [];
  const checks = checkDefs.map((c, i) =>
    checkDefinition(lowerKeys(c), id, name, checkDefs.length > 1 ? i + 1 : 0),
  );
  return {
    service: {
      ID: id,
      Service: name,
      Tags: tags as string[],
      Meta: meta as Record<string, string>,
      Address: address,
      Port: port,
    },
    checks,
  };
}

function checkDefinition(
  c: Record<string, unknown>,
  serviceId: string,
  serviceName: string,
  n: number,
): DoubleCheckInput {
  if (typeof c.ttl !== 'string') throw new HttpError(400, 'the test double supports TTL checks only');
  const ttlMs = parseGoDuration(c.ttl);
  if (ttlMs === undefined || ttlMs <= 0)
    throw new HttpError(400, `Invalid check: TTL must be > 0 for TTL checks`);
  let deregisterAfterMs: number | undefined;
  if (c.deregistercriticalserviceafter !== undefined) {
    deregisterAfterMs =
      typeof c.deregistercriticalserviceafter === 'string'
        ? parseGoDuration(c.deregistercriticalserviceafter)
        : undefined;
    if (deregisterAfterMs === undefined)
      throw new HttpError(400, 'Request decode failed: DeregisterCriticalServiceAfter');
  }
  const raw = c.status;
  if (raw !== undefined && raw !== '' && raw !== 'passing' && raw !== 'warning' && raw !== 'critical') {
    throw new HttpError(400, `Invalid check status: ${JSON.stringify(raw)}`);
  }
  const status: CheckStatus | undefined = raw === undefined || raw === '' ? undefined : raw;
  const checkId =
    typeof c.checkid === 'string' && c.checkid !== ''
      ? c.checkid
      : n > 0
        ? `service:${serviceId}:${n}`
        : `service:${serviceId}`;
  return {
    CheckID: checkId,
    Name: typeof c.name === 'string' && c.name !== '' ? c.name : `Service '${serviceName}' check`,
    Status: status ?? 'critical',
    statusGiven: status !== undefined,
    Notes: typeof c.notes === 'string' ? c.notes : '',
    Output: '',
    ttlMs,
    deregisterAfterMs,
  };
}

export function decodeSessionCreate(raw: unknown): DoubleSessionInput {
  const def = lowerKeys(raw);
  const behavior = def.behavior ?? 'release';
  if (behavior !== 'release' && behavior !== 'delete')
    throw new HttpError(400, `Invalid Behavior setting ${JSON.stringify(behavior)}`);
  let ttlMs: number | undefined;
  const ttl = typeof def.ttl === 'string' ? def.ttl : '';
  if (ttl !== '') {
    ttlMs = parseGoDuration(ttl);
    if (ttlMs === undefined)
      throw new HttpError(400, `Request decode failed: time: invalid duration "${ttl}"`);
    if (ttlMs < 10_000 || ttlMs > 86_400_000)
      throw new HttpError(400, `Invalid Session TTL '${ttl}', must be between [10s=24h0m0s]`);
  }
  let lockDelayMs = 15_000;
  if (def.lockdelay !== undefined) {
    const parsed =
      typeof def.lockdelay === 'number'
        ? def.lockdelay / 1e6
        : typeof def.lockdelay === 'string'
          ? parseGoDuration(def.lockdelay)
          : undefined;
    if (parsed === undefined) throw new HttpError(400, 'Request decode failed: LockDelay');
    lockDelayMs = parsed;
  }
  return {
    Name: typeof def.name === 'string' ? def.name : '',
    Behavior: behavior,
    ttlMs,
    TTL: ttl,
    lockDelayMs,
  };
}
