/**
 * What a channel's owner does with its chat rules and moderation log, from the dashboard and the remote API
 * alike (issue 16): read them, replace the rules (checked here; in force for the next message on every edge),
 * read the log. A change from here is logged as the host's, like one made with a chat command.
 */
import { z } from 'zod';
import type { Logger } from '../../common/logging/index.js';
import type { ChatRules, Store } from '../store/types.js';
import { MAX_SLOW_MODE_S } from './commands.js';
import { parseBody } from '../internal-api.js';

const DOMAIN = /^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}$/;

export const chatRulesSchema = z.strictObject({
  slowModeS: z
    .number()
    .int('slow mode is whole seconds')
    .min(0, 'slow mode is 0 (off) or more seconds')
    .max(MAX_SLOW_MODE_S, `slow mode is at most ${MAX_SLOW_MODE_S} seconds`),
  who: z.enum(['everyone', 'accounts', 'followers']),
  links: z.enum(['allow', 'review', 'block']),
  linkAllow: z
    .array(
      z
        .string()
        .trim()
        .toLowerCase()
        .regex(DOMAIN, 'a domain such as example.com')
        .transform((d) => d.replace(/^\*\./, '')),
    )
    .max(50, 'at most 50 allowed domains'),
  blockedWords: z
    .array(z.string().trim().min(1).max(50, 'a masked word is at most 50 characters'))
    .max(200, 'at most 200 masked words'),
});

export interface RulesListener {
  /** The chat hub: the next message is checked against the new rules. */
  rulesChanged(channel: string): void;
}

export function channelChatRules(store: Store, chat: RulesListener, logger: Logger, via: string) {
  return {
    get: (channel: string) => ({ rules: store.moderation.rules(channel) }),
    set(channel: string, body: unknown) {
      const next: ChatRules = parseBody(chatRulesSchema, body);
      next.linkAllow = [...new Set(next.linkAllow)];
      next.blockedWords = [...new Set(next.blockedWords)];
      const before = store.moderation.rules(channel);
      const rules = store.moderation.setRules(channel, next);
      chat.rulesChanged(channel);
      // What changed, lists as their new lengths (the log keeps a line, not the lists).
      const changed = Object.fromEntries(
        Object.entries(rules)
          .filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(before[k as keyof ChatRules]))
          .map(([k, v]) => [k, Array.isArray(v) ? v.length : v]),
      );
      store.moderation.log({
        channel,
        actor: channel,
        action: 'rules',
        target: null,
        details: { ...changed, via },
      });
      logger.info({ stream: channel, changed: Object.keys(changed), via }, 'chat rules changed');
      return { rules };
    },
    log: (channel: string) => ({
      entries: store.moderation.logList(channel, 100).map((e) => ({
        at: e.at,
        actor: e.actor,
        action: e.action,
        target: e.target,
        details: e.details,
      })),
    }),
  };
}
