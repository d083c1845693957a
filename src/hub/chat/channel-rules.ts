/**
 * A channel's own chat rules at the hub (issue 16, ADR 0021), checked for every message whichever edge it came
 * through: who may chat (everyone, accounts, followers), slow mode, links (allowed, held for review when a
 * first-time chatter sends one, or blocked, with an allow-list of domains) and the channel's blocked words
 * (masked like the operator's). The channel's staff (host, moderators, admins) pass every rule.
 */
import type { ChatRules } from '../store/types.js';
import { notice } from '../../common/chat/lines.js';
import type { Conn } from './members.js';
import type { ChatRoom } from './room.js';

/** Anything with a scheme is a link, whatever its host looks like (an IP, a non-ASCII name): as the page renders it. */
const SCHEME_URL = /\b[a-z][a-z0-9+.-]*:\/\/[^\s<>"']+/giu;
/** A bare name: `www.` anything, or a name ending in a common top-level domain, or followed by a path. */
const BARE =
  /(?<![\p{L}\p{N}_@.-])((?:[\p{L}\p{N}](?:[\p{L}\p{N}_-]{0,61}[\p{L}\p{N}])?\.)+\p{L}{2,24})(?![\p{L}\p{N}_-])(\/)?/gu;
const COMMON_TLD =
  /\.(?:com|net|org|io|gg|tv|ru|se|ly|be|me|co|xyz|app|dev|link|info|biz|uk|de|click|live|site|online|top|shop|club|fun|store)$/u;

/**
 * Host names of the links in a text: `https://a.example/x`, `https://93.184.216.34/`, `www.a.example` and
 * bare `a.example/path` alike. Dots are folded first (fullwidth and ideographic full stops are dots too), so
 * `evil。com` is `evil.com`. Prose like "e.g." or "v1.2" or "ok.so" is not a link.
 */
export function linkHosts(text: string): string[] {
  const folded = text
    .normalize('NFKC')
    .replace(/[\u3002\uff0e\uff61]/g, '.')
    .toLowerCase();
  const hosts = new Set<string>();
  const rest = folded.replace(SCHEME_URL, (url) => {
    let host: string;
    try {
      host = new URL(url).hostname || url;
    } catch {
      host = url;
    }
    hosts.add(host.replace(/^\[|\]$/g, '').replace(/^www\./, ''));
    return ' ';
  });
  for (const m of rest.matchAll(BARE)) {
    const name = m[1]!;
    const host = name.replace(/^www\./, '');
    if (name.startsWith('www.') || m[2] === '/' || COMMON_TLD.test(host)) hosts.add(host);
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
 * sender already has a notice saying why. Slow mode counts from the last message that was admitted, per
 * account (a guest: per address), so a reload or a second tab does not reset it.
 */
export function admit(room: ChatRoom, conn: Conn, rules: ChatRules, text: string | undefined): Admission {
  const m = conn.member;
  if (m.rank >= 1) return 'post';
  if (rules.who !== 'everyone' && m.account === undefined) {
    room.notice(
      conn.ref,
      'error',
      'ACCOUNTS_ONLY',
      rules.who === 'followers' ? notice.followersLogIn(m.channel) : notice.accountsOnly(),
    );
    return 'refused';
  }
  if (
    rules.who === 'followers' &&
    !m.follows &&
    !(m.follows = room.store.follows.isFollowing(m.account!, m.channel))
  ) {
    room.notice(conn.ref, 'error', 'FOLLOWERS_ONLY', notice.followersOnly(m.channel));
    return 'refused';
  }
  const now = room.now();
  const last = room.lastPost(conn);
  if (rules.slowModeS > 0 && last !== undefined) {
    const waitS = Math.ceil((last + rules.slowModeS * 1000 - now) / 1000);
    if (waitS > 0) {
      room.notice(conn.ref, 'error', 'SLOW_MODE', notice.slowMode(waitS));
      return 'refused';
    }
  }
  if (text !== undefined && rules.links !== 'allow') {
    const outside = linkHosts(text).filter((h) => !hostAllowed(h, rules.linkAllow));
    if (outside.length > 0) {
      if (rules.links === 'block') {
        room.notice(conn.ref, 'error', 'LINK_BLOCKED', notice.linkBlocked(outside[0]!));
        return 'refused';
      }
      // Only accounts become regulars: a guest's name can be taken by anyone, so a guest's links always wait.
      if (m.account === undefined || !(m.regular ||= room.store.moderation.isRegular(m.channel, m.account))) {
        room.posted(conn, now);
        return 'held';
      }
    }
  }
  room.posted(conn, now);
  return 'post';
}
