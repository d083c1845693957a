import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggingOptions {
  level: LevelWithSilent;
  nodeId: string;
  role: string;
}

let root: Logger = pino({ level: 'info', base: undefined });

/** Called once by each node's main with its config; modules then ask for a child logger. */
export function configureLogging(opts: LoggingOptions): Logger {
  root = pino({
    level: opts.level,
    base: { node_id: opts.nodeId, role: opts.role },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Belt and braces: stream keys and secrets must never be logged, even if someone passes them by mistake.
    redact: {
      paths: ['key', 'streamKey', 'secret', 'password', '*.key', '*.streamKey', '*.secret', '*.password'],
      censor: '[redacted]',
    },
  });
  return root;
}

export function createLogger(
  module: string,
  bindings: Record<string, unknown> = {},
  parent: Logger = root,
): Logger {
  return parent.child({ module, ...bindings });
}
