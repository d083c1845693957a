/**
 * The hub's store as its config says: SQLite in `dataDir` (the embedded default) or PostgreSQL at
 * `postgres.url`. The one place the hub (main.ts) and the admin CLI choose a backend.
 */
import type { HubConfig } from '../../common/config/index.js';
import type { Logger } from '../../common/logging/index.js';
import { openPostgresStore } from './pg-store.js';
import { openStore } from './sqlite-store.js';
import type { Store } from './types.js';

export type HubStoreConfig = Pick<HubConfig, 'store' | 'dataDir' | 'postgres'> & {
  chat?: Pick<HubConfig['chat'], 'historySize'>;
};

export function openHubStore(config: HubStoreConfig, logger: Logger): Store {
  const historySize = config.chat?.historySize;
  if (config.store === 'postgres') {
    // The schema refuses store: postgres without postgres.url; this guards callers that build config by hand.
    if (!config.postgres) throw new TypeError('openHubStore: store is postgres but postgres.url is not set');
    return openPostgresStore({
      url: config.postgres.url,
      timeoutMs: config.postgres.timeoutMs,
      historySize,
      logger,
    });
  }
  return openStore({ dataDir: config.dataDir, historySize, logger });
}
