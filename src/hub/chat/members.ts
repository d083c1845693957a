/**
 * Who is in which chat. A member is one person in one channel: an account (or the streamer) with every
 * connection it has open there, on any edge, or a guest (one connection each). Display name, colour and
 * badge belong to the member, so a /name or a /mod shows on all of its tabs at once.
 */
import { nameSkeleton } from '../../common/names.js';
import type { ChatBadge } from '../store/types.js';
import type { ConnRef, MemberView } from './events.js';

/** 0 guests and users, 1 channel moderators, 2 the host, 3 site admins. Acting on someone needs a higher rank. */
export type Rank = 0 | 1 | 2 | 3;

export interface Member {
  /** `acct:<lower-case account name>` or `guest:<edge>/<conn>`. */
  readonly key: string;
  readonly channel: string;
  name: string;
  color: string;
  /** Set by /color; otherwise the colour follows the name. */
  colorChosen: boolean;
  badge: ChatBadge;
  rank: Rank;
  /** Account (or streamer) name for logged-in members. */
  readonly account?: string;
  readonly conns: Map<string, Conn>;
  /** Every IP this member has connected from since it joined (a ban covers all of them). */
  readonly ips: Set<string>;
  /** Known to be a regular of the channel (a message accepted before): not read or written again. */
  regular?: boolean;
  /** Known to follow the channel (followers-only mode): not read again this session. */
  follows?: boolean;
}

export interface Conn {
  readonly ref: ConnRef;
  readonly ip: string;
  readonly member: Member;
}

/** What is remembered of someone who left, so /ban still reaches their IP for a while. */
export interface Departed {
  name: string;
  account?: string;
  rank: Rank;
  ips: string[];
}

const DEPARTED_PER_CHANNEL = 200;

export function refKey(ref: ConnRef): string {
  return `${ref.edge}\u0000${ref.conn}`;
}

export class MemberRegistry {
  private readonly conns = new Map<string, Conn>();
  private readonly channels = new Map<string, Map<string, Member>>();
  private readonly departed = new Map<string, Map<string, Departed>>();

  connection(ref: ConnRef): Conn | undefined {
    return this.conns.get(refKey(ref));
  }

  find(channel: string, key: string): Member | undefined {
    return this.channels.get(channel)?.get(key);
  }

  create(init: Omit<Member, 'conns' | 'ips'>): Member {
    const member: Member = { ...init, conns: new Map(), ips: new Set() };
    let ch = this.channels.get(init.channel);
    if (!ch) this.channels.set(init.channel, (ch = new Map<string, Member>()));
    ch.set(member.key, member);
    this.departed.get(init.channel)?.delete(member.name.toLowerCase());
    return member;
  }

  attach(member: Member, ref: ConnRef, ip: string): Conn {
    const conn: Conn = { ref: { edge: ref.edge, conn: ref.conn }, ip, member };
    member.conns.set(refKey(ref), conn);
    member.ips.add(ip);
    this.conns.set(refKey(ref), conn);
    return conn;
  }

  /** Removes a connection; `memberGone` when it was the member's last one. */
  detach(ref: ConnRef): { conn: Conn; memberGone: boolean } | undefined {
    const key = refKey(ref);
    const conn = this.conns.get(key);
    if (!conn) return undefined;
    this.conns.delete(key);
    const member = conn.member;
    member.conns.delete(key);
    if (member.conns.size > 0) return { conn, memberGone: false };
    const ch = this.channels.get(member.channel);
    ch?.delete(member.key);
    if (ch?.size === 0) this.channels.delete(member.channel);
    this.remember(member);
    return { conn, memberGone: true };
  }

  byName(channel: string, name: string): Member | undefined {
    const lower = name.toLowerCase();
    for (const m of this.channels.get(channel)?.values() ?? []) if (m.name.toLowerCase() === lower) return m;
    return undefined;
  }

  /** Taken when another member's name is one a viewer could mistake for it (skeleton, not just case). */
  nameTaken(channel: string, name: string, exceptKey?: string): boolean {
    const key = nameSkeleton(name);
    for (const m of this.channels.get(channel)?.values() ?? [])
      if (m.key !== exceptKey && nameSkeleton(m.name) === key) return true;
    return false;
  }

  departedByName(channel: string, name: string): Departed | undefined {
    return this.departed.get(channel)?.get(name.toLowerCase());
  }

  list(channel: string): Member[] {
    return [...(this.channels.get(channel)?.values() ?? [])];
  }

  channelNames(): string[] {
    return [...this.channels.keys()];
  }

  /** Members ordered host, moderators, then everyone by name: the order the member list shows. */
  views(channel: string): MemberView[] {
    return this.list(channel)
      .sort((a, b) => badgeOrder(a.badge) - badgeOrder(b.badge) || a.name.localeCompare(b.name))
      .map((m) => ({ name: m.name, color: m.color, badge: m.badge }));
  }

  connsOnEdge(edge: string): Conn[] {
    return [...this.conns.values()].filter((c) => c.ref.edge === edge);
  }

  clear(): void {
    this.conns.clear();
    this.channels.clear();
    this.departed.clear();
  }

  private remember(member: Member): void {
    let ch = this.departed.get(member.channel);
    if (!ch) this.departed.set(member.channel, (ch = new Map<string, Departed>()));
    const lower = member.name.toLowerCase();
    ch.delete(lower); // re-insert: Map order is the eviction order
    ch.set(lower, { name: member.name, account: member.account, rank: member.rank, ips: [...member.ips] });
    if (ch.size > DEPARTED_PER_CHANNEL) {
      const oldest = ch.keys().next();
      if (!oldest.done) ch.delete(oldest.value);
    }
  }
}

function badgeOrder(b: ChatBadge): number {
  return b === 'host' ? 0 : b === 'moderator' ? 1 : b === 'user' ? 2 : 3;
}
