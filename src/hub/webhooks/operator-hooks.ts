/**
 * The operator's hooks (hub config `webhooks.hooks`): every channel's events, to the operator's own receivers
 * (a status bot, a Discord channel for the team). The config is their source of truth: the leader makes the
 * store match it when it takes the hooks. Each is stored as `op_NAME` with no channel; one whose address,
 * secret, format or events changed is replaced (its delivery log starts again), one gone from the config is
 * removed. Hooks of channels are never touched here.
 */
import { DEFAULT_HOOK_EVENTS } from '../../common/protocol/hub-events.js';
import type { HubConfig } from '../../common/config/index.js';
import type { Logger } from '../../common/logging/index.js';
import type { WebhookRecord, WebhookRepo } from '../store/types.js';

export type OperatorHookConfig = HubConfig['webhooks']['hooks'][number];

export const OPERATOR_HOOK_PREFIX = 'op_';

const same = (a: WebhookRecord, b: Omit<WebhookRecord, 'createdAt'>) =>
  a.channel === null &&
  a.url === b.url &&
  a.secret === b.secret &&
  a.format === b.format &&
  a.events.join() === b.events.join();

/** Makes the store's operator hooks those of the config; returns what changed (names). */
export function syncOperatorHooks(
  repo: WebhookRepo,
  wanted: readonly OperatorHookConfig[],
  logger: Logger,
): { added: string[]; replaced: string[]; removed: string[] } {
  const out = { added: [] as string[], replaced: [] as string[], removed: [] as string[] };
  const ids = new Set<string>();
  for (const h of wanted) {
    const id = `${OPERATOR_HOOK_PREFIX}${h.name}`;
    ids.add(id);
    const want = {
      id,
      channel: null,
      url: new URL(h.url).href,
      secret: h.secret,
      format: h.format,
      events: [...new Set(h.events ?? DEFAULT_HOOK_EVENTS)],
    };
    const have = repo.get(id);
    if (have && same(have, want)) continue;
    if (have) repo.remove(id);
    repo.add(want);
    (have ? out.replaced : out.added).push(h.name);
  }
  for (const h of repo.all())
    if (h.channel === null && h.id.startsWith(OPERATOR_HOOK_PREFIX) && !ids.has(h.id)) {
      repo.remove(h.id);
      out.removed.push(h.id.slice(OPERATOR_HOOK_PREFIX.length));
    }
  if (out.added.length + out.replaced.length + out.removed.length > 0)
    logger.info(out, "the operator's webhooks now match the config");
  return out;
}
