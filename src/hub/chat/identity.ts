/**
 * Who a joining connection is: an account (session cookie), the streamer (stream-key login) or a guest, and
 * what standing that gives in this channel (badge and rank).
 */
import { randomInt } from 'node:crypto';
import type { ChatBadge, Store, UserRole } from '../store/types.js';
import type { ChatIdentity } from './events.js';
import type { MemberRegistry, Rank } from './members.js';
import { isValidName, type WordFilter } from './text-rules.js';
import type { SessionInfo } from './types.js';

export interface Standing {
  badge: ChatBadge;
  rank: Rank;
}

export interface ResolvedIdentity extends Standing {
  key: string;
  name: string;
  account?: string;
}

export interface IdentityDeps {
  store: Store;
  members: MemberRegistry;
  wordFilter: WordFilter;
  guestsAllowed: boolean;
  verifySession(token: string): SessionInfo | undefined;
  channelExists(name: string): boolean;
}

export function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * The host is whoever proved the stream key (a streamer session for this channel) or the streamer's own
 * account (linked when it was registered with the key): never someone whose name merely matches.
 * Admins moderate everywhere.
 */
export function standing(
  store: Store,
  channel: string,
  account: string,
  role: UserRole,
  provedKey = false,
): Standing {
  const host = provedKey || store.streamers.ownerOf(channel) === account;
  const mod = store.moderators.is(channel, account);
  const rank: Rank = role === 'admin' ? 3 : host ? 2 : mod ? 1 : 0;
  const badge: ChatBadge = host ? 'host' : role === 'admin' || mod ? 'moderator' : 'user';
  return { badge, rank };
}

/** Standing of an account that may not be connected (for /mute and /ban of someone who left). */
export function accountStanding(store: Store, channel: string, account: string): Standing {
  const role = store.users.getByName(account)?.role ?? 'user';
  return standing(store, channel, account, role);
}

export function memberKeyForAccount(account: string): string {
  return `acct:${account.toLowerCase()}`;
}

/**
 * Resolves the identity of a joining connection; undefined when it would be a guest and guests are not
 * allowed. An invalid or expired session falls back to a guest rather than failing the join.
 */
export function resolveIdentity(
  deps: IdentityDeps,
  channel: string,
  identity: ChatIdentity,
  guestKey: string,
  isNameBanned: (name: string) => boolean,
): ResolvedIdentity | undefined {
  const session = identity.session ? deps.verifySession(identity.session) : undefined;
  if (session?.kind === 'user') {
    // The store is the truth for role and name: a session outlives a demotion.
    const user = deps.store.users.get(session.userId);
    if (user) {
      return {
        key: memberKeyForAccount(user.name),
        name: user.name,
        account: user.name,
        ...standing(deps.store, channel, user.name, user.role),
      };
    }
  } else if (session?.kind === 'streamer') {
    const role = deps.store.users.getByName(session.name)?.role ?? 'user';
    return {
      key: memberKeyForAccount(session.name),
      name: session.name,
      account: session.name,
      ...standing(deps.store, channel, session.name, role, session.name === channel),
    };
  }
  if (!deps.guestsAllowed) return undefined;
  const wanted = identity.guestName;
  const name =
    wanted !== undefined && nameAvailable(deps, channel, wanted, undefined) && !isNameBanned(wanted)
      ? wanted
      : generateGuestName(deps, channel, isNameBanned);
  return { key: guestKey, name, badge: 'guest', rank: 0 };
}

/**
 * Whether `name` may be used as a display name in `channel` by the member `ownAccount` (undefined for a guest):
 * well-formed, not reserved or filtered, not someone else's account or channel, not used by another member.
 */
export function nameAvailable(
  deps: Pick<IdentityDeps, 'store' | 'members' | 'wordFilter' | 'channelExists'>,
  channel: string,
  name: string,
  ownAccount: string | undefined,
  exceptKey?: string,
): boolean {
  if (!isValidName(name, deps.wordFilter)) return false;
  // Compared by skeleton (src/common/names.ts): Demo, dem0 and DEMO are the streamer demo's name. A member
  // may use only the name of their own account (or, for the streamer, their channel's).
  const own = (holder: string) => ownAccount !== undefined && sameName(ownAccount, holder);
  if (deps.store.names.holders(name).some((h) => !own(h.name))) return false;
  if (!own(name) && deps.channelExists(name)) return false;
  return !deps.members.nameTaken(channel, name, exceptKey);
}

export function generateGuestName(
  deps: Pick<IdentityDeps, 'store' | 'members' | 'wordFilter' | 'channelExists'>,
  channel: string,
  isNameBanned: (name: string) => boolean,
): string {
  // Four digits while that is enough; a crowded channel moves on to more digits instead of looping.
  const make = (digits: number) => `guest-${String(randomInt(0, 10 ** digits)).padStart(digits, '0')}`;
  for (let digits = 4; digits <= 10; digits++) {
    for (let attempt = 0; attempt < 20; attempt++) {
      const candidate = make(digits);
      if (nameAvailable(deps, channel, candidate, undefined) && !isNameBanned(candidate)) return candidate;
    }
  }
  // Only reachable with a word filter that rejects every guest name: a unique name beats no name.
  return make(12);
}
