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

export function isObject(v: unknown): v is PlainObject {
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

/** What an environment variable's text becomes: decided by the schema's type at that key. */
type EnvKind = 'string' | 'number' | 'boolean' | 'json';

type SchemaNode = { _zod: { def: Record<string, unknown> & { type: string } } };

/** Wrappers that do not change what a value must look like. */
const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional']);

/** The kinds of value a schema accepts; empty when unknown (the value is then left as text). */
function kindsOf(schema: SchemaNode | undefined): Set<EnvKind> {
  const out = new Set<EnvKind>();
  if (!schema) return out;
  const def = schema._zod.def;
  if (WRAPPERS.has(def.type)) return kindsOf(def.innerType as SchemaNode);
  if (def.type === 'pipe') return kindsOf(def.in as SchemaNode);
  switch (def.type) {
    case 'string':
    case 'enum':
      out.add('string');
      break;
    case 'number':
    case 'int':
      out.add('number');
      break;
    case 'boolean':
      out.add('boolean');
      break;
    case 'literal':
      for (const v of def.values as unknown[])
        out.add(typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'string');
      break;
    case 'array':
    case 'tuple':
    case 'object':
    case 'record':
      out.add('json');
      break;
    case 'union':
      for (const o of def.options as SchemaNode[]) for (const k of kindsOf(o)) out.add(k);
      break;
  }
  return out;
}

/** The schema at a key path (through optional/default wrappers and object shapes); undefined if unknown. */
export function schemaAt(schema: z.ZodType | undefined, path: string[]): z.ZodType | undefined {
  let cur = schema as SchemaNode | undefined;
  for (const seg of path) {
    while (cur && (WRAPPERS.has(cur._zod.def.type) || cur._zod.def.type === 'pipe')) {
      const def = cur._zod.def;
      cur = (def.type === 'pipe' ? def.in : def.innerType) as SchemaNode;
    }
    if (!cur) return undefined;
    const def = cur._zod.def;
    if (def.type === 'object') cur = (def.shape as Record<string, SchemaNode>)[seg];
    else if (def.type === 'record') cur = def.valueType as SchemaNode;
    else return undefined;
  }
  return cur as z.ZodType | undefined;
}

const NUMBER = /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

/**
 * Converts one variable's text to the type its key has in the schema: `TIERCAST_NODE_ID=1234` stays the
 * string "1234", `TIERCAST_HTTP__PORT=8080` becomes a number, booleans are true/false (or 1/0), arrays and
 * objects are JSON. A key the schema does not know stays text (validation then names it). Errors name the
 * variable, never its value: it may be a secret.
 */
export function coerceEnvValue(name: string, raw: string, schema: z.ZodType | undefined): unknown {
  const kinds = kindsOf(schema as SchemaNode | undefined);
  if (kinds.size === 0) return raw;
  const text = raw.trim();
  if (kinds.has('number') && NUMBER.test(text)) return Number(text);
  if (kinds.has('boolean') && /^(true|false|1|0)$/i.test(text)) return /^(true|1)$/i.test(text);
  if (kinds.has('json') && /^[[{]/.test(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ConfigError(`${name} is not valid JSON`);
    }
  }
  if (kinds.has('string')) return raw;
  const expected = [...kinds]
    .map((k) => (k === 'json' ? 'JSON' : k === 'boolean' ? 'true or false' : 'a number'))
    .join(' or ');
  throw new ConfigError(`${name} must be ${expected}`);
}

/**
 * TIERCAST_* variables as a nested object, each value typed by `schemaFor(path)` (the schema of the key it
 * sets). `ignore` skips variables that are not configuration.
 */
export function envOverrides(
  env: NodeJS.ProcessEnv,
  ignore: (name: string) => boolean = () => false,
  schemaFor: (path: string[]) => z.ZodType | undefined = () => undefined,
): PlainObject {
  const out: PlainObject = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('TIERCAST_') || value === undefined || ignore(name)) continue;
    const path = name.slice('TIERCAST_'.length).split('__').map(camel);
    let cur = out;
    for (const [i, seg] of path.entries()) {
      if (i === path.length - 1) cur[seg] = coerceEnvValue(name, value, schemaFor(path));
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
