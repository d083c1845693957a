/**
 * What tiercast writes to and reads from Consul, as pure functions: our service registration, the validation
 * of health entries (anything read from Consul is untrusted: a malformed registration is reported and
 * skipped, never thrown), stream claims in KV, and Go duration strings.
 */
import { z } from 'zod';
import { ConfigError } from '../errors/index.js';
import { isValidHost, regionSchema } from './config.js';
import { MAX_TIER, NODE_ROLES, type NodeInfo, type NodeRole } from './types.js';

export const NODE_ID_RE = /^[A-Za-z0-9_:-]{1,64}$/;
export const STREAM_NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
export const STREAM_KEY_PREFIX = 'tiercast/streams/';

export function serviceName(role: NodeRole): string {
  return `tiercast-${role}`;
}

export function serviceId(node: Pick<NodeInfo, 'role' | 'id'>): string {
  return `${node.role}-${node.id}`;
}

export function checkId(node: Pick<NodeInfo, 'role' | 'id'>): string {
  return `service:${serviceId(node)}`;
}

export function streamKey(stream: string): string {
  return `${STREAM_KEY_PREFIX}${stream}`;
}

/** Cluster roles speak WebSocket; the hub is reached over HTTP. */
function urlProtocols(role: NodeRole): readonly string[] {
  return role === 'hub' ? ['http:', 'https:'] : ['ws:', 'wss:'];
}

/** Why a node URL is unusable, or undefined when it is fine. Secrets never travel in URLs, so none are allowed. */
export function nodeUrlProblem(role: NodeRole, raw: string): string | undefined {
  if (raw.length > 512) return 'url longer than 512 characters';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not a URL';
  }
  if (!urlProtocols(role).includes(url.protocol))
    return `protocol must be ${urlProtocols(role).join(' or ')}`;
  if (!url.hostname || !isValidHost(url.hostname)) return 'bad host';
  if (url.hostname === '0.0.0.0' || url.hostname === '[::]')
    return 'unspecified address (0.0.0.0) cannot be dialled';
  if (url.username || url.password) return 'credentials in URL';
  if (url.search || url.hash) return 'query or fragment in URL';
  return undefined;
}

/** Why an edge's public base URL is unusable (http or https, a host, no credentials, query or fragment). */
export function publicUrlProblem(raw: string): string | undefined {
  if (raw.length > 512) return 'url longer than 512 characters';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'protocol must be http: or https:';
  if (!url.hostname || !isValidHost(url.hostname)) return 'bad host';
  if (url.username || url.password) return 'credentials in URL';
  if (url.search || url.hash) return 'query or fragment in URL';
  return undefined;
}

/** Validates this node's own description before it is registered: malformed → ConfigError, nothing sent. */
export function validateSelf(self: NodeInfo): NodeInfo {
  const ctx = { node: typeof self.id === 'string' ? self.id.slice(0, 64) : undefined };
  if (typeof self.id !== 'string' || !NODE_ID_RE.test(self.id))
    throw new ConfigError('discovery: node id must be 1-64 letters, digits, "_", ":" or "-"', ctx);
  if (!NODE_ROLES.includes(self.role)) throw new ConfigError('discovery: unknown role', ctx);
  if (!regionSchema.safeParse(self.region).success) throw new ConfigError('discovery: malformed region', ctx);
  if (!Number.isInteger(self.tier) || self.tier < 0 || self.tier > MAX_TIER)
    throw new ConfigError(`discovery: tier must be an integer 0-${MAX_TIER}`, ctx);
  if (!Number.isSafeInteger(self.capacity) || self.capacity < 0)
    throw new ConfigError('discovery: capacity must be a non-negative integer', ctx);
  if (!Number.isSafeInteger(self.load) || self.load < 0)
    throw new ConfigError('discovery: load must be a non-negative integer', ctx);
  const problem = nodeUrlProblem(self.role, self.wsUrl);
  if (problem) throw new ConfigError(`discovery: malformed node address (${problem})`, ctx);
  const publicProblem = self.publicUrl === undefined ? undefined : publicUrlProblem(self.publicUrl);
  if (publicProblem) throw new ConfigError(`discovery: malformed public URL (${publicProblem})`, ctx);
  return self;
}

/** Consul's agent service registration, in Consul's own field names. */
export interface ServiceRegistration {
  ID: string;
  Name: string;
  Tags: string[];
  Address: string;
  Port: number;
  Meta: Record<string, string>;
  Check: {
    CheckID: string;
    Name: string;
    TTL: string;
    Status: 'passing';
    DeregisterCriticalServiceAfter: string;
  };
}

export function buildRegistration(
  self: NodeInfo,
  opts: { ttlMs: number; deregisterCriticalAfterMs: number; serviceAddress?: string | undefined },
): ServiceRegistration {
  const url = new URL(self.wsUrl);
  const defaultPort = url.protocol === 'wss:' || url.protocol === 'https:' ? 443 : 80;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    ID: serviceId(self),
    Name: serviceName(self.role),
    Tags: [`region:${self.region}`, `tier:${self.tier}`],
    Address: opts.serviceAddress ?? host,
    Port: url.port ? Number(url.port) : defaultPort,
    Meta: {
      node_id: self.id,
      ws_url: self.wsUrl,
      capacity: String(self.capacity),
      load: String(self.load),
      ...(self.publicUrl ? { public_url: self.publicUrl } : {}),
    },
    // Registered passing: a TTL check starts critical otherwise, and the node would be invisible until its
    // first heartbeat. Re-registration (a load change) then also counts as a heartbeat.
    Check: {
      CheckID: checkId(self),
      Name: `tiercast ${self.role} ${self.id} heartbeat`,
      TTL: formatDuration(opts.ttlMs),
      Status: 'passing',
      DeregisterCriticalServiceAfter: formatDuration(opts.deregisterCriticalAfterMs),
    },
  };
}

const metaValue = z.string().max(512);
const healthEntrySchema = z.object({
  Service: z.object({
    ID: z.string(),
    Service: z.string(),
    Tags: z.array(z.string()).nullish(),
    Meta: z.record(z.string(), metaValue).nullish(),
  }),
  Checks: z.array(z.object({ CheckID: z.string(), Status: z.string() })).nullish(),
});

const countString = z.string().regex(/^\d{1,15}$/);

export interface InvalidRegistration {
  /** The Consul service ID (or "#index" when even that is missing). */
  id: string;
  reason: string;
}

/**
 * Turns a `/v1/health/service/tiercast-<role>` answer into nodes. Entries whose checks are not all passing are
 * left out (the query asks for `passing` already; this keeps a lenient server from leaking sick nodes).
 * Throws only when the body as a whole is not a list (the caller treats that as a failed query).
 */
export function parseHealthEntries(
  role: NodeRole,
  body: unknown,
): { nodes: NodeInfo[]; invalid: InvalidRegistration[] } {
  if (!Array.isArray(body)) throw new Error('health answer is not a list');
  const nodes: NodeInfo[] = [];
  const invalid: InvalidRegistration[] = [];
  const seen = new Set<string>();
  body.forEach((raw: unknown, i) => {
    const parsed = healthEntrySchema.safeParse(raw);
    if (!parsed.success) {
      invalid.push({ id: `#${i}`, reason: 'entry does not look like a Consul health entry' });
      return;
    }
    const { Service: svc, Checks: checks } = parsed.data;
    if (svc.Service !== serviceName(role)) return;
    if ((checks ?? []).some((c) => c.Status !== 'passing')) return;
    const result = nodeFromService(role, svc.Tags ?? [], svc.Meta ?? {});
    if (typeof result === 'string') {
      invalid.push({ id: svc.ID.slice(0, 128), reason: result });
      return;
    }
    if (seen.has(result.id)) {
      invalid.push({ id: svc.ID.slice(0, 128), reason: `duplicate node_id ${result.id}` });
      return;
    }
    seen.add(result.id);
    nodes.push(result);
  });
  nodes.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { nodes, invalid };
}

function nodeFromService(role: NodeRole, tags: string[], meta: Record<string, string>): NodeInfo | string {
  const region = tagValue(tags, 'region');
  if (region === undefined || !regionSchema.safeParse(region).success)
    return 'missing or malformed region tag';
  const tierText = tagValue(tags, 'tier');
  const tier = tierText !== undefined && /^\d{1,2}$/.test(tierText) ? Number(tierText) : NaN;
  if (!Number.isInteger(tier) || tier > MAX_TIER) return 'missing or malformed tier tag';
  const id = meta.node_id;
  if (id === undefined || !NODE_ID_RE.test(id)) return 'missing or malformed node_id meta';
  const wsUrl = meta.ws_url;
  if (wsUrl === undefined) return 'missing ws_url meta';
  const urlProblem = nodeUrlProblem(role, wsUrl);
  if (urlProblem) return `malformed ws_url meta (${urlProblem})`;
  if (!countString.safeParse(meta.capacity).success) return 'missing or malformed capacity meta';
  if (!countString.safeParse(meta.load).success) return 'missing or malformed load meta';
  const node: NodeInfo = {
    id,
    role,
    region,
    tier,
    wsUrl,
    capacity: Number(meta.capacity),
    load: Number(meta.load),
  };
  if (meta.public_url !== undefined) {
    const problem = publicUrlProblem(meta.public_url);
    if (problem) return `malformed public_url meta (${problem})`;
    node.publicUrl = meta.public_url;
  }
  return node;
}

function tagValue(tags: string[], name: string): string | undefined {
  const prefix = `${name}:`;
  const tag = tags.find((t) => t.startsWith(prefix));
  return tag?.slice(prefix.length);
}

/** The value of a stream's KV key: who carries it. */
export interface StreamClaim {
  node_id: string;
  ws_url: string;
  region: string;
}

const claimSchema = z.object({
  node_id: z.string().regex(NODE_ID_RE),
  ws_url: z.string(),
  region: regionSchema.optional(),
});

export function encodeClaim(self: NodeInfo): string {
  const claim: StreamClaim = { node_id: self.id, ws_url: self.wsUrl, region: self.region };
  return JSON.stringify(claim);
}

/** A claim read back from KV, or undefined when the value is not one of ours (logged by the caller). */
export function parseClaim(value: string | null | undefined): StreamClaim | undefined {
  if (typeof value !== 'string' || value.length > 2048) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return undefined;
  }
  const parsed = claimSchema.safeParse(json);
  if (!parsed.success || nodeUrlProblem('ingress', parsed.data.ws_url)) return undefined;
  return { node_id: parsed.data.node_id, ws_url: parsed.data.ws_url, region: parsed.data.region ?? 'local' };
}

/** Milliseconds as a Go duration string ("5s", "1500ms", "1m"), the syntax Consul reads. */
export function formatDuration(ms: number): string {
  const whole = Math.max(0, Math.round(ms));
  if (whole % 60_000 === 0 && whole > 0) return `${whole / 60_000}m`;
  if (whole % 1000 === 0) return `${whole / 1000}s`;
  return `${whole}ms`;
}
