/** The Store over an open, migrated Db: the same repos whatever the backend. */
import type { Logger } from '../../common/logging/index.js';
import { createBroadcastRepo, createClipRepo } from './broadcasts-repo.js';
import { createChatHistoryRepo } from './chat-history-repo.js';
import { createFollowRepo, createModeratorRepo, createSanctionRepo } from './channel-repos.js';
import type { Db } from './db.js';
import { createEmojiRepo } from './emoji-repo.js';
import { createNameRegistry } from './name-registry.js';
import { Lookups, type RepoContext } from './repo-context.js';
import { createStreamerRepo } from './streamers-repo.js';
import type { Store } from './types.js';
import { createUserRepo } from './users-repo.js';
import { createWebhookRepo } from './webhooks-repo.js';
import { createModerationRepo } from './moderation-repo.js';
import { createNotificationRepo } from './notifications-repo.js';
import { createPushRepo, createSettingsRepo } from './push-repo.js';
import { createRestreamRepo } from './restream-repo.js';
import { createAnalyticsRepo } from './analytics-repo.js';

export const DEFAULT_HISTORY_SIZE = 200;

export interface BuildStoreOptions {
  /** Chat messages kept per channel (default 200). */
  historySize?: number;
  logger: Logger;
  /** Clock for createdAt, sanction expiry and the like; tests pass their own. */
  now?: () => number;
  /** Names the database in logs: a path, or a host and database name (never a URL with its password). */
  where: string;
}

export function checkHistorySize(historySize: number): number {
  if (!Number.isSafeInteger(historySize) || historySize < 0)
    throw new RangeError(`openStore: historySize must be an integer >= 0, got ${historySize}`);
  return historySize;
}

/** Builds the repos over `db`; the Store's close() closes `db` (once). */
export function buildStore(db: Db, opts: BuildStoreOptions): Store {
  const historySize = checkHistorySize(opts.historySize ?? DEFAULT_HISTORY_SIZE);
  const { logger, where } = opts;
  const names = createNameRegistry(db);
  const ctx: RepoContext = { db, now: opts.now ?? Date.now, logger, names };
  const lookups = new Lookups(db);
  let closed = false;
  logger.debug({ db: where, historySize }, 'hub store open');
  return {
    names,
    streamers: createStreamerRepo(ctx),
    users: createUserRepo(ctx),
    moderators: createModeratorRepo(ctx, lookups),
    sanctions: createSanctionRepo(ctx, lookups),
    emoji: createEmojiRepo(ctx),
    follows: createFollowRepo(ctx, lookups),
    chat: createChatHistoryRepo(ctx, lookups, historySize),
    broadcasts: createBroadcastRepo(ctx, lookups),
    clips: createClipRepo(ctx),
    webhooks: createWebhookRepo(ctx, lookups),
    moderation: createModerationRepo(ctx, lookups),
    notifications: createNotificationRepo(ctx, lookups),
    push: createPushRepo(ctx),
    settings: createSettingsRepo(ctx),
    restream: createRestreamRepo(ctx, lookups),
    analytics: createAnalyticsRepo(ctx, lookups),
    close() {
      if (closed) return;
      closed = true;
      db.close();
      logger.debug({ db: where }, 'hub store closed');
    },
  };
}
