/**
 * `node-role`: parses arguments and calls the node's start function. Nothing else lives here.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { loadAllConfig, loadRoleConfig, type AllConfig, type PlainObject } from '../common/config/index.js';
import { TiercastError, errorMessage } from '../common/errors/index.js';
import { nativeUws } from '../common/http/uws-runtime.js';
import { configureLogging } from '../common/logging/index.js';
import { addAdminCommands } from './admin-commands.js';
import { addRecordingCommands } from './recording-commands.js';

// Each role's modules load when that role starts: the admin commands (and --help, --version) need none of
// them, and an operator's or a script's `node-role streamer list` starts in a fraction of the time.

function int(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number');
  return n;
}

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

/** One exit status for every failure: scripts and service managers need only tell 0 from 2. */
const EXIT_FAILURE = 2;

function fail(err: unknown): never {
  const own = (err as { code?: unknown })?.code;
  const code =
    err instanceof TiercastError
      ? err.code
      : typeof own === 'string' && /^[A-Z_]+$/.test(own)
        ? own
        : 'FAILED';
  process.stderr.write(`node-role: ${code}: ${errorMessage(err)}\n`);
  process.exit(EXIT_FAILURE);
}

interface Closable {
  close(): Promise<void>;
}

function closeOnSignal(closables: Closable[]): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stderr.write(`\n${signal}: stopping…\n`);
    void (async () => {
      for (const c of closables) await c.close().catch(() => undefined);
      process.exit(0);
    })();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** The start-up banner is for the operator: stderr, so stdout stays one JSON log line after another. */
function printBanner(lines: string[]): void {
  process.stderr.write(`\n${lines.join('\n')}\n\n`);
}

/** Pretty log lines for a person at a terminal, JSON for everything else (a file, journald, a collector). */
const LOG_FORMAT = process.stdout.isTTY ? 'pretty' : 'json';

/** package.json is two levels up from both src/cli/node-role.ts and dist/cli/node-role.js. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? 'unknown';
}

const program = new Command();
program
  .name('node-role')
  .description('tiercast: start a node of a live-streaming network')
  .version(packageVersion(), '-V, --version', 'print the tiercast version')
  .showHelpAfterError()
  // Subcommands inherit this: a usage error (unknown command or option, missing argument or option value)
  // exits 2 like a configuration error, not commander's 1. Help and --version still exit 0.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_FAILURE))
  .addHelpText(
    'after',
    `
Exit status: 0 on success (and after SIGINT/SIGTERM); 2 on any failure: a usage error (unknown command or
option, missing argument), an invalid configuration, a node that cannot start, or an admin command that
fails (stderr says "node-role: CODE: message"; codes in docs/errors.md).
Logs go to stdout (JSON lines; readable lines on a terminal); the start-up banner goes to stderr.`,
  );

// A node without the native uWebSockets.js binary would run on the package's slow JavaScript fallback:
// stop before reading config or opening anything (the admin commands serve no HTTP and run anywhere).
const SERVING = new Set(['ingress', 'intermediate', 'edge', 'hub', 'all']);
program.hook('preAction', (root, command) => {
  if (command.parent !== root || !SERVING.has(command.name())) return;
  try {
    nativeUws();
  } catch (err) {
    fail(err);
  }
});

program
  .command('ingress')
  .description('RTMP ingest + ffmpeg ABR transcoding; serves CMAF chunks to relays')
  .option('-c, --config <file>', 'config file (YAML or JSON)')
  .option('--rtmp-port <port>', 'RTMP port', int)
  .option('--port <port>', 'cluster/metrics HTTP port', int)
  .option(
    '--input <ffmpeg-input>',
    'publish a local capture device or file (any ffmpeg input, e.g. /dev/video0) without RTMP',
  )
  .option('--input-format <format>', 'ffmpeg input format for --input (e.g. v4l2, lavfi)')
  .option('--name <name>', 'stream name for --input')
  .action(
    async (o: {
      config?: string;
      rtmpPort?: number;
      port?: number;
      input?: string;
      inputFormat?: string;
      name?: string;
    }) => {
      try {
        if (o.input && !o.name) throw new InvalidArgumentError('--input needs --name');
        const flags: PlainObject = {};
        if (o.rtmpPort !== undefined) flags.rtmp = { port: o.rtmpPort };
        if (o.port !== undefined) flags.http = { port: o.port };
        const cfg = loadRoleConfig('ingress', { configFile: o.config, flags });
        const logger = configureLogging({
          level: cfg.logLevel,
          nodeId: cfg.nodeId,
          role: 'ingress',
          format: LOG_FORMAT,
        });
        const { startIngress } = await import('../ingress/main.js');
        const node = await startIngress(cfg, logger);
        const closables: Closable[] = [node];
        if (o.input && o.name)
          closables.unshift(await node.publishInput({ input: o.input, format: o.inputFormat, name: o.name }));
        printBanner([
          `tiercast ingress ${cfg.nodeId}`,
          `  publish:  rtmp://<this-host>:${node.rtmpPort}/live   (stream key = OBS "Stream Key")`,
          ...(node.srtPort !== undefined
            ? [`  SRT:      srt://<this-host>:${node.srtPort}?streamid=<stream key>`]
            : []),
          `  relays:   ${node.url}/cluster`,
          `  streamers configured: ${cfg.streamers.map((s) => s.name).join(', ') || '(none)'}`,
          ...(o.input ? [`  local input published as: ${o.name}`] : []),
        ]);
        closeOnSignal(closables);
      } catch (err) {
        fail(err);
      }
    },
  );

for (const role of ['intermediate', 'edge'] as const) {
  program
    .command(role)
    .description(
      role === 'edge'
        ? 'serves viewers: pages, LL-DASH, WebSocket push, the stream list'
        : 'relays streams between tiers',
    )
    .option('-c, --config <file>', 'config file (YAML or JSON)')
    .option('--parent <url>', 'parent WebSocket URL (repeatable; tried in order)', collect)
    .option('--port <port>', 'HTTP/WebSocket port', int)
    .action(async (o: { config?: string; parent?: string[]; port?: number }) => {
      try {
        const flags: PlainObject = {};
        if (o.port !== undefined) flags.http = { port: o.port };
        if (o.parent?.length) flags.upstream = { parents: o.parent };
        if (role === 'edge') {
          const cfg = loadRoleConfig('edge', { configFile: o.config, flags });
          const logger = configureLogging({
            level: cfg.logLevel,
            nodeId: cfg.nodeId,
            role,
            format: LOG_FORMAT,
          });
          const { startEdge } = await import('../edge/main.js');
          const node = await startEdge(cfg, logger);
          printBanner([
            `tiercast edge ${cfg.nodeId}`,
            `  viewers:  ${node.url}/`,
            `  parents:  ${cfg.upstream.parents.join(', ') || '(none!)'}`,
          ]);
          closeOnSignal([node]);
        } else {
          const cfg = loadRoleConfig('intermediate', { configFile: o.config, flags });
          const logger = configureLogging({
            level: cfg.logLevel,
            nodeId: cfg.nodeId,
            role,
            format: LOG_FORMAT,
          });
          const { startIntermediate } = await import('../intermediate/main.js');
          const node = await startIntermediate(cfg, logger);
          printBanner([
            `tiercast intermediate ${cfg.nodeId}`,
            `  relays:   ${node.url}/cluster`,
            `  parents:  ${cfg.upstream.parents.join(', ') || '(none!)'}`,
          ]);
          closeOnSignal([node]);
        }
      } catch (err) {
        fail(err);
      }
    });
}

program
  .command('hub')
  .description('accounts, stream keys, chat, directory and the remote-control API (SQLite)')
  .option('-c, --config <file>', 'config file (YAML or JSON)')
  .option('--port <port>', 'HTTP/WebSocket port', int)
  .option('--data-dir <dir>', 'directory of the SQLite database')
  .action(async (o: { config?: string; port?: number; dataDir?: string }) => {
    try {
      const flags: PlainObject = {};
      if (o.port !== undefined) flags.http = { port: o.port };
      if (o.dataDir) flags.dataDir = o.dataDir;
      const cfg = loadRoleConfig('hub', { configFile: o.config, flags });
      const logger = configureLogging({
        level: cfg.logLevel,
        nodeId: cfg.nodeId,
        role: 'hub',
        format: LOG_FORMAT,
      });
      const { startHub } = await import('../hub/main.js');
      const node = await startHub(cfg, logger);
      printBanner([
        `tiercast hub ${cfg.nodeId}`,
        `  edges and ingress:  hub.url = ${node.url}`,
        `  remote-control API: ${node.url}/api/v1/streams/<name>`,
        ...(cfg.ha.enabled
          ? [
              `  group (ha):         ${
                node.leadership.isLeader
                  ? 'this hub leads'
                  : `standing by; the leader is ${node.leadership.leaderUrl ?? '(not known yet)'}`
              }; list every hub in hub.url + hub.standbys`,
            ]
          : []),
        `  data:               ${cfg.store === 'postgres' ? '(PostgreSQL)' : cfg.dataDir}   streamers: ${
          node.store.streamers
            .list()
            .map((s) => s.name)
            .join(', ') || '(none: node-role streamer add --name NAME)'
        }`,
      ]);
      closeOnSignal([node]);
    } catch (err) {
      fail(err);
    }
  });

const runCommand = async (fn: () => Promise<void>) => {
  try {
    await fn();
  } catch (err) {
    fail(err);
  }
};
addAdminCommands(program, runCommand);
addRecordingCommands(program, runCommand);

program
  .command('all')
  .description('a whole network on this machine: ingress → intermediate → edge (no external service)')
  .option('-c, --config <file>', 'config file with sections ingress, intermediate, edge')
  .option('--demo', 'also publish a test pattern with a tone as stream "demo"')
  .action(async (o: { config?: string; demo?: boolean }) => {
    try {
      const cfg: AllConfig = loadAllConfig({ configFile: o.config });
      const demoKey = o.demo ? `demo-${randomBytes(12).toString('base64url')}` : undefined;
      const logger = configureLogging({
        level: cfg.ingress.logLevel,
        nodeId: 'all',
        role: 'all',
        format: LOG_FORMAT,
      });
      const { startLocalNetwork } = await import('../all-in-one/local-network.js');
      const net = await startLocalNetwork(cfg, logger, { demoKey });
      const closables: Closable[] = [net];
      const host = cfg.edge.http.host === '0.0.0.0' ? '127.0.0.1' : cfg.edge.http.host;
      if (demoKey) {
        const { DemoPublisher } = await import('../ingress/demo-publisher.js');
        const demo = new DemoPublisher({
          rtmpUrl: `rtmp://127.0.0.1:${net.ingress.rtmpPort}/live`,
          key: demoKey,
          ffmpegPath: cfg.ingress.transcode.ffmpegPath,
          logger: logger.child({ module: 'demo' }),
        });
        demo.start();
        closables.unshift(demo);
      }
      const keys = [
        ...new Set([
          ...cfg.ingress.streamers.map((s) => s.name),
          ...net.hub.store.streamers.list().map((s) => s.name),
        ]),
      ];
      printBanner([
        'tiercast is running: ingress → intermediate → edge',
        `  publish (OBS "Server"):  rtmp://${host}:${net.ingress.rtmpPort}/live   with the stream key as "Stream Key"`,
        ...(net.ingress.srtPort !== undefined
          ? [`  publish over SRT:        srt://${host}:${net.ingress.srtPort}?streamid=<stream key>`]
          : []),
        `  go live from a browser:  http://${host}:${net.edge.port}/broadcast   (same stream key)`,
        `  home page:               http://${host}:${net.edge.port}/`,
        `  player:                  http://${host}:${net.edge.port}/watch/<name>`,
        `  streamers configured:    ${keys.join(', ') || '(none: add one with node-role streamer add --name NAME)'}`,
        ...(demoKey
          ? [`  demo stream:             http://${host}:${net.edge.port}/watch/demo   (demo key: ${demoKey})`]
          : []),
        `  hub (accounts, chat, remote API): ${net.hub.url}   data in ${cfg.hub.dataDir}`,
        `  metrics:                 http://${host}:${net.edge.port}/metrics (edge), :${net.intermediate.port}/metrics, :${net.ingress.port}/metrics`,
      ]);
      closeOnSignal(closables);
    } catch (err) {
      fail(err);
    }
  });

await program.parseAsync(process.argv);
