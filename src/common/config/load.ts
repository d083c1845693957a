/**
 * Loads a role's config once, in main: defaults ← config file (YAML or JSON) ← TIERCAST_* environment ← flags.
 * Environment variables map to keys: TIERCAST_CLUSTER_SECRET → clusterSecret, TIERCAST_HTTP__PORT → http.port
 * ("__" separates levels). Errors name the offending key.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors/index.js';

export type PlainObject = Record<string, unknown>;

function isObject(v: unknown): v is PlainObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function readConfigFile(path: string): PlainObject {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file: ${(err as Error).message}`, { file: path });
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file is not valid YAML/JSON: ${(err as Error).message}`, { file: path });
  }
  if (data === null || data === undefined) return {};
  if (!isObject(data)) throw new ConfigError('config file must hold a mapping of keys', { file: path });
  return data;
}

function camel(s: string): string {
  return s.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function coerce(raw: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  if (raw === 'true' || raw === 'false') return raw === 'true';
  if (raw.startsWith('[') || raw.startsWith('{')) {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      return raw;
    }
  }
  return raw;
}

/** TIERCAST_* variables as a nested object. `prefix` selects a role section in `node-role all` (e.g. EDGE__). */
export function envOverrides(
  env: NodeJS.ProcessEnv,
  ignore: (name: string) => boolean = () => false,
): PlainObject {
  const out: PlainObject = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('TIERCAST_') || value === undefined || ignore(name)) continue;
    const path = name.slice('TIERCAST_'.length).split('__').map(camel);
    let cur = out;
    for (const [i, seg] of path.entries()) {
      if (i === path.length - 1) cur[seg] = seg === 'clusterSecret' || seg === 'key' ? value : coerce(value);
      else {
        const next = cur[seg];
        cur = isObject(next) ? next : (cur[seg] = {});
      }
    }
  }
  return out;
}

export function deepMerge(a: PlainObject, b: PlainObject): PlainObject {
  const out: PlainObject = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k], v) : v;
  }
  return out;
}

/** Validates against a role schema; the first problems are reported with their key paths. */
export function validateConfig<S extends z.ZodType>(schema: S, raw: PlainObject, what: string): z.infer<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const problems = r.error.issues.slice(0, 5).map((i) => {
    const keyPath = i.path.map(String).join('.');
    if (i.code === 'unrecognized_keys') {
      const keys = i.keys.map((k) => (keyPath ? `${keyPath}.${k}` : k)).join(', ');
      return `unknown key ${keys}`;
    }
    // Never echo values: a bad value may be a secret.
    return `${keyPath || '(root)'}: ${i.message}`;
  });
  throw new ConfigError(`invalid ${what} configuration: ${problems.join('; ')}`);
}
