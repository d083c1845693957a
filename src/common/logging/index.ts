/**
 * Structured logs (pino). Every line carries each key once: a child logger's bindings are merged with its
 * parent's (the innermost value wins) instead of being appended, as pino's own `child()` does; so
 * `node_id` and `role` name the node that logs (the hub's own id under `node-role all`, not "all"), and
 * `module` is the path of modules from the node down, joined with "/" (`hub/store`, `edge/chat`,
 * `ingress/live-stream/transcoder`): innermost-only names would be ambiguous (the hub and the edge both have
 * a `chat`). On a terminal the lines are pretty-printed (pino-pretty); otherwise one JSON object a line.
 */
import {
  pino,
  type Bindings,
  type ChildLoggerOptions,
  type DestinationStream,
  type LevelWithSilent,
  type Logger,
  type LoggerOptions,
} from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export interface LoggingOptions {
  level: LevelWithSilent;
  nodeId: string;
  role: string;
  /** pretty: human-readable lines (for a terminal); json (default): one JSON object a line. */
  format?: 'json' | 'pretty';
  /** Where lines go; default stdout (tests pass a stream). */
  destination?: DestinationStream;
}

/** Loggers made here: the bindings-free logger they derive from, and their merged bindings. */
const derived = new WeakMap<Logger, { base: Logger; bindings: Bindings }>();

/** `a/b` + `c` → `a/b/c`; a module repeating the innermost one (`discovery` under `discovery`) is not doubled. */
function joinModule(outer: unknown, inner: unknown): unknown {
  if (typeof outer !== 'string' || typeof inner !== 'string' || !outer) return inner;
  if (!inner || outer === inner || outer.endsWith(`/${inner}`)) return outer;
  return `${outer}/${inner}`;
}

function mergeBindings(outer: Bindings, inner: Bindings): Bindings {
  const out: Bindings = { ...outer, ...inner };
  if ('module' in inner && 'module' in outer) out.module = joinModule(outer.module, inner.module);
  return out;
}

/** A child of `base` holding all of `bindings` at once, whose own children merge into it the same way. */
function derive(base: Logger, bindings: Bindings, options?: ChildLoggerOptions): Logger {
  const logger = base.child(bindings, options);
  derived.set(logger, { base, bindings });
  logger.child = ((inner: Bindings, opts?: ChildLoggerOptions) => {
    const child = derive(base, mergeBindings(bindings, inner), opts);
    // Built from `base`, so it would take base's level; a child starts at its parent's, as with pino.
    if (!opts?.level) child.level = logger.level;
    return child;
  }) as unknown as Logger['child'];
  return logger;
}

let root: Logger = derive(pino({ level: 'info', base: undefined }), {});

/** Called once by each node's main with its config; modules then ask for a child logger. */
export function configureLogging(opts: LoggingOptions): Logger {
  const options: LoggerOptions = {
    level: opts.level,
    // No pid/hostname; node_id and role are bindings, so a node's own logger can replace them.
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    // Belt and braces: stream keys and secrets must never be logged, even if someone passes them by mistake.
    redact: {
      paths: [
        'key',
        'streamKey',
        'secret',
        'password',
        '*.key',
        '*.streamKey',
        '*.secret',
        '*.password',
        // The hub's PostgreSQL URL holds a password.
        'postgres.url',
        '*.postgres.url',
      ],
      censor: '[redacted]',
    },
  };
  const base =
    opts.format === 'pretty'
      ? pino(
          options,
          pretty({
            destination: opts.destination ?? 1,
            sync: true,
            colorize: true,
            singleLine: true,
            translateTime: 'SYS:HH:MM:ss.l',
            messageFormat: '{node_id} {module}: {msg}',
            ignore: 'node_id,role,module',
          }),
        )
      : opts.destination
        ? pino(options, opts.destination)
        : pino(options);
  root = derive(base, { node_id: opts.nodeId, role: opts.role });
  return root;
}

/**
 * A module's logger: `parent` (default: the configured root) with `module` and `bindings` merged in. A
 * node's main passes `node_id` and `role`, which then replace the root's (`node-role all` runs four nodes).
 */
export function createLogger(
  module: string,
  bindings: Record<string, unknown> = {},
  parent: Logger = root,
): Logger {
  const own = { module, ...bindings };
  // A logger from elsewhere (a test's pino): its bindings cannot be merged, only added to.
  return derived.has(parent) ? parent.child(own) : derive(parent, own);
}
