/**
 * A channel's chat rules, who is a regular there, and its moderation log (issue 16, ADR 0021). The chat hub
 * reads the rules at every message (cached there, and dropped when they change), so they hold on every edge.
 */
import { HubError } from './errors.js';
import type { Lookups, RepoContext } from './repo-context.js';
import {
  DEFAULT_CHAT_RULES,
  type ChatLinks,
  type ChatRules,
  type ChatWho,
  type ModerationRepo,
} from './types.js';

interface RulesRow {
  slow_mode_s: number;
  who: string;
  links: string;
  link_allow: string;
  blocked_words: string;
}

interface LogRow {
  id: number;
  channel: string;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  details: string | null;
}

/** A stored list; a hand-edited row that does not parse is empty rather than a crash. */
function stringsOf(text: string): string[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((e): e is string => typeof e === 'string') : [];
  } catch {
    return [];
  }
}

function detailsOf(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Details as JSON, or a marker when they are too long to keep (cut JSON would not read back). */
function boundedJson(details: Record<string, unknown>): string {
  const json = JSON.stringify(details);
  return json.length <= 2000 ? json : JSON.stringify({ truncated: true });
}

const WHO = new Set<string>(['everyone', 'accounts', 'followers']);
const LINKS = new Set<string>(['allow', 'review', 'block']);

export function createModerationRepo(ctx: RepoContext, lookups: Lookups): ModerationRepo {
  const { db, now } = ctx;
  const get = db.prepare<[string], RulesRow>(
    `SELECT r.slow_mode_s, r.who, r.links, r.link_allow, r.blocked_words FROM chat_rules r
     JOIN streamers s ON s.id = r.streamer_id WHERE s.name = ?`,
  );
  const upsert = db.prepare<[number, number, string, string, string, string, number]>(
    `INSERT INTO chat_rules (streamer_id, slow_mode_s, who, links, link_allow, blocked_words, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (streamer_id) DO UPDATE SET slow_mode_s = excluded.slow_mode_s, who = excluded.who,
       links = excluded.links, link_allow = excluded.link_allow, blocked_words = excluded.blocked_words,
       updated_at = excluded.updated_at`,
  );
  const isRegular = db.prepare<[string, string], { one: number }>(
    `SELECT 1 AS one FROM chat_regulars r JOIN streamers s ON s.id = r.streamer_id WHERE s.name = ? AND r.who = ?`,
  );
  const markRegular = db.prepare<[number, string, number]>(
    'INSERT INTO chat_regulars (streamer_id, who, since) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  );
  const addLog = db.prepare<[number, number, string, string, string | null, string | null]>(
    'INSERT INTO moderation_log (streamer_id, at, actor, action, target, details) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const list = db.prepare<[string, number], LogRow>(
    `SELECT l.id, s.name AS channel, l.at, l.actor, l.action, l.target, l.details FROM moderation_log l
     JOIN streamers s ON s.id = l.streamer_id WHERE s.name = ? ORDER BY l.id DESC LIMIT ?`,
  );
  const channelId = (channel: string) => {
    const id = lookups.streamerId(channel);
    if (id === undefined)
      throw new HubError('NOT_FOUND', 'no such channel', { channel: channel.slice(0, 80) });
    return id;
  };

  return {
    rules(channel) {
      const r = get.get(channel);
      if (!r) return { ...DEFAULT_CHAT_RULES, linkAllow: [], blockedWords: [] };
      return {
        slowModeS: r.slow_mode_s,
        who: (WHO.has(r.who) ? r.who : 'everyone') as ChatWho,
        links: (LINKS.has(r.links) ? r.links : 'allow') as ChatLinks,
        linkAllow: stringsOf(r.link_allow),
        blockedWords: stringsOf(r.blocked_words),
      };
    },
    setRules(channel, rules: ChatRules) {
      upsert.run(
        channelId(channel),
        rules.slowModeS,
        rules.who,
        rules.links,
        JSON.stringify(rules.linkAllow),
        JSON.stringify(rules.blockedWords),
        now(),
      );
      return this.rules(channel);
    },
    isRegular(channel, who) {
      return isRegular.get(channel, who.toLowerCase()) !== undefined;
    },
    markRegular(channel, who) {
      const id = lookups.streamerId(channel);
      if (id !== undefined) markRegular.run(id, who.toLowerCase(), now());
    },
    log(e) {
      const id = lookups.streamerId(e.channel);
      if (id === undefined) return;
      addLog.run(
        id,
        now(),
        e.actor.slice(0, 80),
        e.action.slice(0, 40),
        e.target === null ? null : e.target.slice(0, 200),
        e.details === null ? null : boundedJson(e.details),
      );
    },
    logList(channel, limit) {
      return list.all(channel, Math.max(0, Math.min(500, Math.trunc(limit)))).map((r) => ({
        id: r.id,
        channel: r.channel,
        at: r.at,
        actor: r.actor,
        action: r.action,
        target: r.target,
        details: detailsOf(r.details),
      }));
    },
  };
}
