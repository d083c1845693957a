/**
 * `node-role streamer|emoji|user …`: the operator's admin commands (like seed 002's manage.py). They open the
 * hub's SQLite store directly (WAL mode: safe beside a running hub, whose next lookup sees the change).
 * Keys are printed only when tiercast generated them, once.
 */
import type { Command } from 'commander';
import { pino } from 'pino';
import {
  loadAllConfig,
  loadRoleConfig,
  readConfigFile,
  type StreamerConfig,
} from '../common/config/index.js';
import { ConfigError } from '../common/errors/index.js';
import {
  emojiAdd,
  emojiJson,
  emojiList,
  emojiRemove,
  formatEmojiTable,
  formatStreamerTable,
  formatUserTable,
  streamerAdd,
  streamerEntries,
  streamerList,
  streamersJson,
  usersJson,
  streamerRemove,
  parseRecording,
  parseTranscode,
  streamerSet,
  userAdd,
  userList,
  userRemove,
  userSetPassword,
  userSetRole,
} from '../hub/admin.js';
import { openHubStore, type HubStoreConfig } from '../hub/store/open-hub-store.js';
import { backupSqlite } from '../hub/store/backup.js';
import type { Store } from '../hub/store/types.js';

interface StoreOpts {
  dataDir?: string;
  config?: string;
}

/** Reading a config needs no real secret: a placeholder lets a file without one load. */
export const configEnv = () => ({
  ...process.env,
  TIERCAST_CLUSTER_SECRET: process.env.TIERCAST_CLUSTER_SECRET ?? 'x'.repeat(16),
});

/** A `node-role all` config (sections ingress, intermediate, edge) rather than one role's. */
export function isAllConfig(file: string): boolean {
  const data = readConfigFile(file);
  return ['ingress', 'intermediate', 'edge'].some((k) => typeof data[k] === 'object' && data[k] !== null);
}

function dataDirOf(o: StoreOpts): string {
  if (o.dataDir) return o.dataDir;
  if (o.config && isAllConfig(o.config)) return loadAllConfig({ configFile: o.config }).hub.dataDir;
  if (o.config) return loadRoleConfig('hub', { configFile: o.config, env: configEnv() }).dataDir;
  return process.env.TIERCAST_DATA_DIR ?? process.env.TIERCAST_HUB__DATA_DIR ?? './data';
}

/** --data-dir means SQLite there; a config file says which store the hub uses (SQLite or PostgreSQL). */
function hubStoreOf(o: StoreOpts): HubStoreConfig {
  if (o.dataDir) return { store: 'sqlite', dataDir: o.dataDir };
  if (o.config && isAllConfig(o.config)) return loadAllConfig({ configFile: o.config }).hub;
  if (o.config) return loadRoleConfig('hub', { configFile: o.config, env: configEnv() });
  return { store: 'sqlite', dataDir: dataDirOf(o) };
}

/** The `streamers:` of an ingress config, or of the ingress section of a `node-role all` config. */
function configStreamers(o: StoreOpts & { ingressConfig?: string }): StreamerConfig[] {
  const file = o.ingressConfig ?? (o.config && isAllConfig(o.config) ? o.config : undefined);
  if (!file) return [];
  if (isAllConfig(file)) return loadAllConfig({ configFile: file }).ingress.streamers;
  return loadRoleConfig('ingress', { configFile: file, env: configEnv() }).streamers;
}

/** Runs `fn` with `resource`, closing it afterwards whatever happens. */
export async function closing<R extends { close(): void }, T>(
  resource: R,
  fn: (r: R) => T | Promise<T>,
): Promise<T> {
  try {
    return await fn(resource);
  } finally {
    resource.close();
  }
}

function withStore<T>(o: StoreOpts, fn: (store: Store) => T | Promise<T>): Promise<T> {
  return closing(openHubStore(hubStoreOf(o), pino({ level: 'silent' })), fn);
}

export function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** `--json`: one JSON array, the table's fields per row. */
function outJson(rows: object[]): void {
  out(JSON.stringify(rows, null, 2));
}

const JSON_HELP = 'print a JSON array (the same fields as the table) instead of the table';

function storeOptions(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'the hub data directory (default ./data or TIERCAST_HUB__DATA_DIR)')
    .option('-c, --config <file>', 'hub config file, or a node-role all config (for the hub dataDir)');
}

/** Registers the admin commands; `run` wraps each action with the CLI's error handling. */
export function addAdminCommands(program: Command, run: (fn: () => Promise<void>) => Promise<void>): void {
  storeOptions(
    program
      .command('backup')
      .description(
        "an online copy of the hub's SQLite database (safe while the hub runs); restore: docs/operations.md",
      ),
  )
    .requiredOption('--out <file>', 'where to write the copy (never overwritten)')
    .action((o: StoreOpts & { out: string }) =>
      run(async () => {
        if (hubStoreOf(o).store === 'postgres')
          throw new ConfigError('the hub store is PostgreSQL: back it up with pg_dump (docs/operations.md)');
        const b = await backupSqlite(dataDirOf(o), o.out);
        out(
          `backup written: ${b.file} (${b.bytes} bytes, schema version ${b.schemaVersion}, ` +
            `${b.streamers} streamers, ${b.users} users, ${b.chatMessages} chat messages)`,
        );
      }),
    );

  const streamer = program
    .command('streamer')
    .description('manage streamers (stream keys, titles, viewing passwords)');
  storeOptions(streamer.command('add').description('add a streamer; prints a generated key if none is given'))
    .requiredOption('--name <name>', 'public stream name')
    .option('--key <key>', 'stream key (at least 16 characters); generated when omitted')
    .option('--title <title>')
    .option('--description <text>')
    .option('--category <category>')
    .option('--password <password>', 'viewing password (makes the stream private)')
    .action(
      (
        o: StoreOpts & {
          name: string;
          key?: string;
          title?: string;
          description?: string;
          category?: string;
          password?: string;
        },
      ) =>
        run(() =>
          withStore(o, (store) => {
            const r = streamerAdd(store, {
              name: o.name,
              key: o.key,
              title: o.title,
              description: o.description,
              category: o.category,
              password: o.password,
            });
            out(`added streamer ${r.streamer.name}`);
            if (r.generatedKey) out(`stream key (shown once): ${r.generatedKey}`);
          }),
        ),
    );
  storeOptions(streamer.command('set').description('change a streamer; --rotate-key prints a new key'))
    .requiredOption('--name <name>')
    .option('--key <key>', 'replace the key with this one')
    .option('--rotate-key', 'replace the key with a generated one (the old key stops working at once)')
    .option('--title <title>')
    .option('--description <text>')
    .option('--category <category>')
    .option('--password <password>', 'set the viewing password')
    .option('--no-password', 'remove the viewing password')
    .option(
      '--transcode <mode>',
      "ladder, passthrough (Source + ladder), off (Source only), or default (the ingress's transcode.mode)",
    )
    .option(
      '--recording <choice>',
      "off, all, source, top-and-lowest (what the ingress records), or default (the ingress's recording)",
    )
    .action(
      (
        o: StoreOpts & {
          name: string;
          key?: string;
          rotateKey?: boolean;
          title?: string;
          description?: string;
          category?: string;
          password?: string | boolean;
          transcode?: string;
          recording?: string;
        },
      ) =>
        run(() =>
          withStore(o, (store) => {
            const password =
              o.password === false ? null : typeof o.password === 'string' ? o.password : undefined;
            const r = streamerSet(store, o.name, {
              key: o.key,
              rotateKey: o.rotateKey,
              title: o.title,
              description: o.description,
              category: o.category,
              password,
              transcode: parseTranscode(o.transcode),
              recording: parseRecording(o.recording),
            });
            out(`updated streamer ${r.streamer.name}`);
            if (r.generatedKey) out(`new stream key (shown once): ${r.generatedKey}`);
          }),
        ),
    );
  storeOptions(
    streamer.command('remove').description('remove a streamer and their chat, follows and moderators'),
  )
    .requiredOption('--name <name>')
    .action((o: StoreOpts & { name: string }) =>
      run(() =>
        withStore(o, (store) => {
          streamerRemove(store, o.name);
          out(`removed streamer ${o.name}`);
        }),
      ),
    );
  storeOptions(
    streamer
      .command('list')
      .description(
        'list streamers of the hub and of an ingress config (never shows keys); SOURCE says which defines each',
      ),
  )
    .option(
      '--ingress-config <file>',
      "also list this ingress config's streamers (with -c ALL.yaml: that file's ingress section)",
    )
    .option('--json', JSON_HELP)
    .action((o: StoreOpts & { ingressConfig?: string; json?: boolean }) =>
      run(() =>
        withStore(o, (store) => {
          const rows = streamerEntries(streamerList(store), configStreamers(o));
          if (o.json) outJson(streamersJson(rows));
          else out(formatStreamerTable(rows));
        }),
      ),
    );

  const emoji = program.command('emoji').description('manage custom chat emoji (:name:)');
  storeOptions(emoji.command('add').description('add a PNG, GIF or WebP image (at most 64 KiB) as :name:'))
    .requiredOption('--name <name>')
    .requiredOption('--file <path>')
    .action((o: StoreOpts & { name: string; file: string }) =>
      run(() =>
        withStore(o, async (store) => {
          const e = await emojiAdd(store, o.name, o.file);
          out(`added emoji :${e.name}:`);
        }),
      ),
    );
  storeOptions(emoji.command('remove'))
    .requiredOption('--name <name>')
    .action((o: StoreOpts & { name: string }) =>
      run(() =>
        withStore(o, (store) => {
          emojiRemove(store, o.name);
          out(`removed emoji :${o.name}:`);
        }),
      ),
    );
  storeOptions(emoji.command('list'))
    .option('--json', JSON_HELP)
    .action((o: StoreOpts & { json?: boolean }) =>
      run(() =>
        withStore(o, (store) =>
          o.json ? outJson(emojiJson(emojiList(store))) : out(formatEmojiTable(emojiList(store))),
        ),
      ),
    );

  const user = program.command('user').description('manage viewer accounts and site admins');
  storeOptions(user.command('add'))
    .requiredOption('--name <name>')
    .requiredOption('--password <password>')
    .option('--role <role>', 'user or admin', 'user')
    .action((o: StoreOpts & { name: string; password: string; role: string }) =>
      run(() =>
        withStore(o, (store) => {
          const u = userAdd(store, o.name, o.password, o.role === 'admin' ? 'admin' : 'user');
          out(`added ${u.role} ${u.name}`);
        }),
      ),
    );
  storeOptions(user.command('remove'))
    .requiredOption('--name <name>')
    .action((o: StoreOpts & { name: string }) =>
      run(() =>
        withStore(o, (store) => {
          userRemove(store, o.name);
          out(`removed user ${o.name}`);
        }),
      ),
    );
  storeOptions(user.command('list'))
    .option('--json', JSON_HELP)
    .action((o: StoreOpts & { json?: boolean }) =>
      run(() =>
        withStore(o, (store) =>
          o.json ? outJson(usersJson(userList(store))) : out(formatUserTable(userList(store))),
        ),
      ),
    );
  storeOptions(user.command('set-role'))
    .requiredOption('--name <name>')
    .requiredOption('--role <role>', 'user or admin')
    .action((o: StoreOpts & { name: string; role: string }) =>
      run(() =>
        withStore(o, (store) => {
          const u = userSetRole(store, o.name, o.role);
          out(`${u.name} is now ${u.role}`);
        }),
      ),
    );
  storeOptions(user.command('set-password'))
    .requiredOption('--name <name>')
    .requiredOption('--password <password>')
    .action((o: StoreOpts & { name: string; password: string }) =>
      run(() =>
        withStore(o, (store) => {
          userSetPassword(store, o.name, o.password);
          out(`password changed for ${o.name}`);
        }),
      ),
    );
}
