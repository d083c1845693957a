/**
 * The discovery section of a role's config (merged into each role schema as `discovery`). Timings and retry
 * policy are config data; docs/configuration.md describes them.
 */
import { z } from 'zod';
import { MAX_TIER } from './types.js';

/** Region names travel as Consul tags (`region:<name>`): keep them tag- and log-friendly. */
export const regionSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and "-", at most 63');

const HOSTNAME_RE =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV6_RE = /^\[?[0-9A-Fa-f:.]{2,45}\]?$/;

/** A DNS name, an IPv4 address or an IPv6 address (bracketed or not). */
export function isValidHost(host: string): boolean {
  return HOSTNAME_RE.test(host) || (host.includes(':') && IPV6_RE.test(host));
}

export const consulDiscoverySchema = z
  .strictObject({
    /** The local Consul agent's HTTP API. */
    address: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8500'),
    /** ACL token sent as X-Consul-Token. Never logged. */
    token: z.string().min(1).optional(),
    /** TTL of this node's health check; it is refreshed every ttlMs/3. */
    ttlMs: z.number().int().min(300).max(3_600_000).default(5000),
    /** Consul removes a registration whose check stayed critical this long (Consul rounds up to 1 minute). */
    deregisterCriticalAfterMs: z.number().int().min(1000).default(60_000),
    /** Session TTL behind stream claims (Consul accepts 10 s to 24 h; it invalidates after up to twice this). */
    sessionTtlMs: z.number().int().min(10_000).max(86_400_000).default(15_000),
    /** After a holder's session dies, its streams cannot be claimed again for this long (Consul's lock-delay). */
    lockDelayMs: z.number().int().min(0).max(60_000).default(1000),
    /** Blocking query wait (Consul's `wait`, at most 10 minutes). */
    watchWaitS: z.number().int().min(1).max(600).default(10),
    /** Timeout of a non-blocking call (register, heartbeat, KV). */
    requestTimeoutMs: z.number().int().min(100).default(5000),
    /** Backoff between failed calls: doubles from the initial value up to the max, with jitter. */
    retryInitialMs: z.number().int().min(10).default(250),
    retryMaxMs: z.number().int().min(100).default(10_000),
    /** Address advertised in the service registration; defaults to the host of the node's own URL. */
    serviceAddress: z.string().refine(isValidHost, 'a host name or an IP address').optional(),
  })
  .refine((c) => c.retryInitialMs <= c.retryMaxMs, {
    message: 'retryInitialMs must not exceed retryMaxMs',
    path: ['retryInitialMs'],
  });

export const discoverySchema = z.strictObject({
  backend: z.enum(['static', 'consul']).default('static'),
  region: regionSchema.default('local'),
  /** Position in the tree: 0 ingress, 1.. intermediates, edges last. Defaults by role. */
  tier: z.number().int().min(0).max(MAX_TIER).optional(),
  /** Most children (relays) or viewers (edges) this node advertises. */
  capacity: z.number().int().min(1).default(1000),
  consul: consulDiscoverySchema.default(() => consulDiscoverySchema.parse({})),
});

export type DiscoveryConfig = z.infer<typeof discoverySchema>;
export type ConsulDiscoveryConfig = z.infer<typeof consulDiscoverySchema>;
