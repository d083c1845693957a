/**
 * `node-role recording list|delete|export` (issue 15): the operator's view of the recording storage. It reads
 * the storage a config names (a node-role all, ingress or hub config), or a local directory (`--dir`; default
 * `./data/recordings`, where `node-role all` records). Deleting also removes the broadcast from the hub's
 * list when the hub's store can be opened here (its SQLite data directory or its PostgreSQL).
 */
import type { Command } from 'commander';
import { closing, configEnv, isAllConfig, out } from './admin-commands.js';
import { pino } from 'pino';
import { loadAllConfig, loadRoleConfig, readConfigFile } from '../common/config/index.js';
import { ConfigError, TiercastError } from '../common/errors/index.js';
import { listRecordings, type RecordingEntry } from '../common/recording/catalog.js';
import { exportMp4 } from '../common/recording/export.js';
import { readRecording } from '../common/recording/playback.js';
import { isBroadcastId } from '../common/recording/stream-recorder.js';
import type { ObjectStore } from '../common/storage/object-store.js';
import type { StorageConfig } from '../common/storage/open-store.js';
import { cell, formatTable } from '../hub/admin.js';
import { openHubStore, type HubStoreConfig } from '../hub/store/open-hub-store.js';

interface StorageOpts {
  dir?: string;
  config?: string;
}

/** The recording storage and (when there is one to open) the hub store of the options. */
function sources(o: StorageOpts): { storage: StorageConfig; hub?: HubStoreConfig } {
  if (o.dir) return { storage: { kind: 'local', dir: o.dir } };
  if (!o.config) {
    const dataDir = process.env.TIERCAST_HUB__DATA_DIR ?? './data';
    return { storage: { kind: 'local', dir: `${dataDir}/recordings` }, hub: { store: 'sqlite', dataDir } };
  }
  if (isAllConfig(o.config)) {
    const all = loadAllConfig({ configFile: o.config, env: configEnv() });
    return { storage: all.ingress.recording.storage, hub: all.hub };
  }
  if ('recording' in readConfigFile(o.config)) {
    return {
      storage: loadRoleConfig('ingress', { configFile: o.config, env: configEnv() }).recording.storage,
    };
  }
  const hub = loadRoleConfig('hub', { configFile: o.config, env: configEnv() });
  if (!hub.recordings.storage)
    throw new ConfigError(
      'this config names no recording storage (recording.storage or recordings.storage)',
      {
        file: o.config,
      },
    );
  return { storage: hub.recordings.storage, hub };
}

/** The storage clients (the S3 SDK) load only for a recording command: every other command starts sooner. */
async function withStorage<T>(o: StorageOpts, fn: (store: ObjectStore) => Promise<T>): Promise<T> {
  const { storage } = sources(o);
  const { openObjectStore } = await import('../common/storage/open-store.js');
  return closing(openObjectStore(storage), fn);
}

function formatRecordings(list: RecordingEntry[]): string {
  if (list.length === 0) return 'no recordings';
  return formatTable(
    ['STREAM', 'ID', 'STARTED', 'LENGTH', 'EPOCHS', 'BYTES', 'STATE'],
    list.map((r) => [
      cell(r.stream),
      r.id,
      new Date(r.startedAt).toISOString().replace(/\.\d+Z$/, 'Z'),
      `${r.seconds.toFixed(1)} s`,
      String(r.epochs),
      String(r.bytes),
      r.endedAt === null ? 'recording (or cut short)' : 'ended',
    ]),
  );
}

function checkId(name: string, id: string): void {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw new TiercastError('INVALID_VALUE', 'not a stream name');
  if (!isBroadcastId(id)) throw new TiercastError('INVALID_VALUE', 'not a broadcast id (see recording list)');
}

const storageOptions = (cmd: Command) =>
  cmd
    .option(
      '--dir <dir>',
      'a local recording directory (default ./data/recordings, where node-role all records)',
    )
    .option('-c, --config <file>', 'a node-role all, ingress or hub config naming the recording storage');

export function addRecordingCommands(
  program: Command,
  run: (fn: () => Promise<void>) => Promise<void>,
): void {
  const recording = program
    .command('recording')
    .description('recorded broadcasts in the recording storage: list, delete, export to MP4');

  storageOptions(recording.command('list').description('the recordings, oldest first'))
    .option('--name <name>', 'only this stream')
    .option('--json', 'print a JSON array (the same fields as the table) instead of the table')
    .action((o: StorageOpts & { name?: string; json?: boolean }) =>
      run(() =>
        withStorage(o, async (store) => {
          const list = await listRecordings(store, o.name);
          out(o.json ? JSON.stringify(list, null, 2) : formatRecordings(list));
        }),
      ),
    );

  storageOptions(
    recording.command('delete').description("delete a recording's media (and its entry in the hub)"),
  )
    .requiredOption('--name <name>', 'the stream')
    .requiredOption('--id <id>', 'the broadcast id (recording list)')
    .action((o: StorageOpts & { name: string; id: string }) =>
      run(async () => {
        checkId(o.name, o.id);
        const n = await withStorage(o, (store) => store.deletePrefix(`${o.name}/${o.id}/`));
        if (n === 0)
          throw new TiercastError('VIDEO_NOT_FOUND', `no recording ${o.name}/${o.id} in this storage`);
        const hub = sources(o).hub;
        let listed = false;
        if (hub) {
          try {
            listed = await closing(openHubStore(hub, pino({ level: 'silent' })), (s) =>
              s.broadcasts.remove(o.id),
            );
          } catch {
            // No hub store here (a lone ingress's machine): the storage was the whole of it.
          }
        }
        out(`deleted ${o.name}/${o.id}: ${n} objects${listed ? ', and its entry in the hub' : ''}`);
      }),
    );

  storageOptions(
    recording.command('export').description('write a recording as one MP4 file (no re-encoding)'),
  )
    .requiredOption('--name <name>', 'the stream')
    .requiredOption('--id <id>', 'the broadcast id (recording list)')
    .requiredOption('--out <file>', 'the MP4 to write')
    .option('--rendition <id>', 'the video rendition (default the best one)')
    .action((o: StorageOpts & { name: string; id: string; out: string; rendition?: string }) =>
      run(() =>
        withStorage(o, async (store) => {
          checkId(o.name, o.id);
          const timeline = await readRecording(store, o.name, o.id);
          if (!timeline)
            throw new TiercastError('VIDEO_NOT_FOUND', `no recording ${o.name}/${o.id} in this storage`);
          const r = await exportMp4({
            store,
            base: `${o.name}/${o.id}`,
            timeline,
            out: o.out,
            rendition: o.rendition,
          });
          out(`wrote ${r.out}: ${r.seconds.toFixed(1)} s of ${r.rendition ?? 'audio'} with its audio`);
        }),
      ),
    );
}
