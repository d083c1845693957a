/**
 * Builds each role's validated config from file, environment and flags. `node-role all` takes one file with
 * a section per role; shared keys (clusterSecret, logLevel) apply to every section.
 */
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { ConfigError } from '../errors/index.js';
import {
  deepMerge,
  envOverrides,
  readConfigFile,
  isObject,
  schemaAt,
  validateConfig,
  type PlainObject,
} from './load.js';
import {
  edgeSchema,
  hubSchema,
  ingressSchema,
  intermediateSchema,
  type EdgeConfig,
  type HubConfig,
  type IngressConfig,
  type IntermediateConfig,
  type Role,
} from './schema.js';

const schemas = {
  ingress: ingressSchema,
  intermediate: intermediateSchema,
  edge: edgeSchema,
  hub: hubSchema,
} as const;
type RoleConfig<R extends Role> = R extends 'ingress'
  ? IngressConfig
  : R extends 'intermediate'
    ? IntermediateConfig
    : R extends 'hub'
      ? HubConfig
      : EdgeConfig;

/** Test harnesses pass their own TIERCAST_TEST_* variables; they are not configuration. */
const notConfig = (name: string) => name.startsWith('TIERCAST_TEST_');

export function defaultNodeId(role: string): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9_-]/g, '-')
      .slice(0, 40) || 'host';
  return `${role}-${host}`;
}

export interface LoadOptions {
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Values from command-line flags, already nested (highest precedence). */
  flags?: PlainObject;
}

export function loadRoleConfig<R extends Role>(role: R, opts: LoadOptions = {}): RoleConfig<R> {
  const file = opts.configFile ? readConfigFile(opts.configFile) : {};
  const env = envOverrides(opts.env ?? process.env, notConfig, (path) => schemaAt(schemas[role], path));
  const raw = deepMerge(deepMerge(deepMerge({ nodeId: defaultNodeId(role) }, file), env), opts.flags ?? {});
  if (raw.clusterSecret === undefined) {
    throw new ConfigError(
      `${role} needs a cluster secret: set clusterSecret in the config file or TIERCAST_CLUSTER_SECRET`,
    );
  }
  return validateConfig(schemas[role], raw, role) as RoleConfig<R>;
}

const allFileSchema = z.strictObject({
  clusterSecret: z.string().optional(),
  logLevel: z.string().optional(),
  ingress: z.record(z.string(), z.unknown()).optional(),
  intermediate: z.record(z.string(), z.unknown()).optional(),
  edge: z.record(z.string(), z.unknown()).optional(),
  hub: z.record(z.string(), z.unknown()).optional(),
});

/** `node-role all`: TIERCAST_EDGE__HTTP__PORT is typed by the edge schema, TIERCAST_LOG_LEVEL by the shared keys. */
function allSchemaAt(path: string[]): z.ZodType | undefined {
  const [section, ...rest] = path;
  if (section && section in schemas && rest.length) return schemaAt(schemas[section as Role], rest);
  return schemaAt(allFileSchema, path);
}

export interface AllConfig {
  hub: HubConfig;
  ingress: IngressConfig;
  intermediate: IntermediateConfig;
  edge: EdgeConfig;
  /** True when no secret was configured and one was generated for this run (one machine, one process). */
  generatedSecret: boolean;
}

/** The embedded default: ingress → one intermediate → one edge, wired on loopback. */
export function loadAllConfig(opts: LoadOptions = {}): AllConfig {
  const file = opts.configFile ? readConfigFile(opts.configFile) : {};
  const merged = deepMerge(
    deepMerge(file, envOverrides(opts.env ?? process.env, notConfig, allSchemaAt)),
    opts.flags ?? {},
  );
  const top = validateConfig(allFileSchema, merged, 'all');
  const generatedSecret = top.clusterSecret === undefined;
  const shared: PlainObject = {
    clusterSecret: top.clusterSecret ?? randomBytes(24).toString('base64url'),
    ...(top.logLevel ? { logLevel: top.logLevel } : {}),
  };
  const hubRaw = deepMerge(
    { ...shared, nodeId: 'hub-1', http: { host: '127.0.0.1', port: 8070 } },
    top.hub ?? {},
  );
  const hub = validateConfig(hubSchema, hubRaw, 'hub');
  const hubLink = { url: `http://127.0.0.1:${hub.http.port}` };
  const ingressRaw = deepMerge(
    {
      ...shared,
      nodeId: 'ingress-1',
      http: { host: '127.0.0.1', port: 8090 },
      hub: hubLink,
      // One machine shows every way to go live: SRT on UDP 9000 too (off by default on a lone ingress).
      srt: { enabled: true },
      // And keeps what it streams (issue 15): recordings beside the hub's data, as past broadcasts.
      recording: { enabled: true, storage: { kind: 'local', dir: join(hub.dataDir, 'recordings') } },
    },
    top.ingress ?? {},
  );
  const ingress = validateConfig(ingressSchema, ingressRaw, 'ingress');
  const ingressUrl = `ws://127.0.0.1:${ingress.http.port}`;
  const interRaw = deepMerge(
    {
      ...shared,
      nodeId: 'intermediate-1',
      http: { host: '127.0.0.1', port: 8091 },
      upstream: { parents: [ingressUrl] },
    },
    top.intermediate ?? {},
  );
  const intermediate = validateConfig(intermediateSchema, interRaw, 'intermediate');
  const edgeRaw = deepMerge(
    {
      ...shared,
      nodeId: 'edge-1',
      upstream: { parents: [`ws://127.0.0.1:${intermediate.http.port}`] },
      hub: hubLink,
    },
    top.edge ?? {},
  );
  // The edge plays, and the hub deletes, what the ingress records: the same storage unless configured apart.
  const recordings = ingress.recording.enabled ? ingress.recording.storage : undefined;
  const edgeOwn = isObject(edgeRaw.recordings) && edgeRaw.recordings.storage !== undefined;
  const edge = validateConfig(
    edgeSchema,
    recordings && !edgeOwn ? deepMerge({ recordings: { storage: recordings } }, edgeRaw) : edgeRaw,
    'edge',
  );
  const hubWithStorage =
    recordings && !hub.recordings.storage
      ? { ...hub, recordings: { ...hub.recordings, storage: recordings } }
      : hub;
  return { hub: hubWithStorage, ingress, intermediate, edge, generatedSecret };
}
