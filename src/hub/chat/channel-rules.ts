/**
 * A channel's own chat rules at the hub (issue 16, ADR 0021), checked for every message whichever edge it came
 * through: who may chat (everyone, accounts, followers), slow mode, links (allowed, held for review when a
 * first-time chatter sends one, or blocked, with an allow-list of domains) and the channel's blocked words
 * (masked like the operator's). The channel's staff (host, moderators, admins) pass every rule.
 */
import type { ChatRules } from '../store/types.js';
import type { Conn } from './members.js';
import type { ChatRoom } from './room.js';

/**
 * Host names of the links in a text: `https://a.example/x`, `www.a.example` and bare `a.example/path` alike.
 * A bare name needs a known-looking top-level part (letters, 2–24) so "e.g." or "v1.2" are not links.
 */
const LINK =
  /(?:\b[a-z][a-z0-9+.-]*:\/\/)?\b((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24})\b(?![.-]?\w)/giu;

export function linkHosts(text: string): string[] {
  const folded = text.normalize('NFKC').toLowerCase();
  const hosts = new Set<string>();
  for (const m of folded.matchAll(LINK)) {
    const host = m[1]!.replace(/^www\./, '');
    // "word.word" in prose ("ok.so") is not a link unless it had a scheme or a path/www.
    const hadScheme = m[0].includes('://');
    const after = folded.charAt(m.index + m[0].length);
    if (
      !hadScheme &&
      !m[1]!.startsWith('www.') &&
      after !== '/' &&
      !/\.(?:com|net|org|io|gg|tv|ru|se|ly|be|me|co|xyz|app|dev|link|info|biz|uk|de)$/.test(host)
    )
      continue;
    hosts.add(host);
  }
  return [...hosts];
}

/** Whether `host` is one of the allowed domains or under one. */
export function hostAllowed(host: string, allow: readonly string[]): boolean {
  return allow.some((d) => {
    const domain = d.toLowerCase().replace(/^\*?\.+/, '');
    return host === domain || host.endsWith(`.${domain}`);
  });
}

/** What the rules say of one message: post it, it was refused (the sender was told), or hold it for review. */
export type Admission = 'post' | 'refused' | 'held';

/**
 * Checks a text (or, `text` undefined, a drawing) from `conn` against its channel's rules; on 'refused' the
 * sender already has a notice saying why. Slow mode counts from the last message that was admitted.
 */
export function admit(room: ChatRoom, conn: Conn, rules: ChatRules, text: string | undefined): Admission {
  const m = conn.member;
  if (m.rank >= 1) return 'post';
  if (rules.who !== 'everyone' && m.account === undefined) {
    room.notice(
      conn.ref,
      'error',
      'ACCOUNTS_ONLY',
      rules.who === 'followers'
        ? `Only followers of ${m.channel} can chat right now: log in and follow to join in.`
        : 'Only logged-in accounts can chat here right now.',
    );
    return 'refused';
  }
  if (rules.who === 'followers' && !room.store.follows.isFollowing(m.account!, m.channel)) {
    room.notice(conn.ref, 'error', 'FOLLOWERS_ONLY', `Only followers of ${m.channel} can chat right now.`);
    return 'refused';
  }
  const now = room.now();
  if (rules.slowModeS > 0 && m.lastPostAt !== undefined) {
    const waitS = Math.ceil((m.lastPostAt + rules.slowModeS * 1000 - now) / 1000);
    if (waitS > 0) {
      room.notice(conn.ref, 'error', 'SLOW_MODE', `Slow mode is on: you can send again in ${waitS} s.`);
      return 'refused';
    }
  }
  if (text !== undefined && rules.links !== 'allow') {
    const outside = linkHosts(text).filter((h) => !hostAllowed(h, rules.linkAllow));
    if (outside.length > 0) {
      if (rules.links === 'block') {
        room.notice(conn.ref, 'error', 'LINK_BLOCKED', `Links are not allowed in this chat (${outside[0]}).`);
        return 'refused';
      }
      if (!room.store.moderation.isRegular(m.channel, regularKey(conn))) {
        m.lastPostAt = now;
        return 'held';
      }
    }
  }
  m.lastPostAt = now;
  return 'post';
}

/** Who a regular is, in the store: the account, or a guest's name. */
export function regularKey(conn: Conn): string {
  return (conn.member.account ?? `guest:${conn.member.name}`).toLowerCase();
}
