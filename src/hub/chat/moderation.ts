/**
 * Moderator commands: mute and timeout, ban, rename, mod/unmod, clear, delete; the channel's rules (slow mode,
 * who may chat, links) and held messages (approve, reject); the host's raid. The caller has already checked
 * the command level; here each action checks its target (nobody acts on someone of equal or higher rank),
 * changes the store, tells the channel with a system message and writes the moderation log.
 */
import { namesCollide } from '../../common/names.js';
import type { ChatRules, SanctionKind, SanctionTarget } from '../store/types.js';
import type { Command } from './commands.js';
import { notice, system, type Line } from '../../common/chat/lines.js';
import { accountStanding, memberKeyForAccount, standing } from './identity.js';
import type { Conn, Member, Rank } from './members.js';
import type { ChatRoom } from './room.js';
import {
  addSanctions,
  liftTargets,
  matchesAny,
  removeSanctions,
  targetsOf,
  type SanctionSubject,
} from './sanctions.js';

export type ModerationCommand = Exclude<Command, { name: 'help' | 'me' | 'name' | 'color' }>;

export function runModeration(room: ChatRoom, actor: Conn, cmd: ModerationCommand): void {
  switch (cmd.name) {
    case 'mute':
    case 'ban':
      return sanction(room, actor, cmd.name, cmd.target, cmd.minutes);
    case 'unmute':
      return lift(room, actor, 'mute', cmd.target);
    case 'unban':
      return lift(room, actor, 'ban', cmd.target);
    case 'rename':
      return renameOther(room, actor, cmd.target, cmd.newName);
    case 'mod':
    case 'unmod':
      return setModerator(room, actor, cmd.target, cmd.name === 'mod');
    case 'clear':
      return clear(room, actor);
    case 'delete':
      return deleteMessage(room, actor, cmd.seq);
    case 'timeout':
      return sanction(room, actor, 'mute', cmd.target, cmd.minutes);
    case 'slow':
      return changeRules(room, actor, { slowModeS: cmd.seconds }, (by) =>
        cmd.seconds ? system.slowOn(cmd.seconds, by) : system.slowOff(by),
      );
    case 'only':
      return changeRules(room, actor, { who: cmd.who }, (by) =>
        cmd.who === 'everyone'
          ? system.everyone(by)
          : cmd.who === 'accounts'
            ? system.accountsOnly(by)
            : system.followersOnly(by),
      );
    case 'links':
      return changeRules(room, actor, { links: cmd.links }, (by) =>
        cmd.links === 'allow'
          ? system.linksAllowed(by)
          : cmd.links === 'review'
            ? system.linksReviewed(by)
            : system.linksBlocked(by),
      );
    case 'approve':
    case 'reject':
      if (!room.decideHeld(actor.member.channel, cmd.id, cmd.name === 'approve', actor.member))
        room.notice(actor.ref, 'error', 'UNKNOWN_NAME', notice.noHeld(cmd.id));
      return;
    case 'raid':
      return raid(room, actor, cmd.target);
  }
}

/** One line in the channel's moderation log and the hub's log. */
function audit(room: ChatRoom, actor: Conn, action: string, details: Record<string, unknown> = {}): void {
  const { target, ...rest } = details;
  room.audit(actor.member, action, typeof target === 'string' ? target : null, rest);
}

/** A rule changed from the chat: stored, in force for the next message, announced, logged. */
function changeRules(
  room: ChatRoom,
  actor: Conn,
  change: Partial<ChatRules>,
  said: (by: string) => Line,
): void {
  const channel = actor.member.channel;
  room.setRules(channel, { ...room.rules(channel), ...change });
  audit(room, actor, 'rules', change);
  room.system(channel, said(actor.member.name));
}

/** The host sends the channel's viewers to another live, open channel. */
function raid(room: ChatRoom, actor: Conn, target: string): void {
  const channel = actor.member.channel;
  const state = namesCollide(target, channel) ? 'self' : room.raidable(target);
  if (state !== 'ok') {
    room.notice(actor.ref, 'error', 'RAID_REFUSED', notice.raidRefused(target, state));
    return;
  }
  audit(room, actor, 'raid', { target });
  room.system(channel, system.raid(actor.member.name, target));
  room.broadcast(channel, { type: 'raid', channel, target, by: actor.member.name });
}

/** The person a moderator names: connected now, seen recently, or just an account or a name. */
function findSubject(
  room: ChatRoom,
  channel: string,
  name: string,
): { subject: SanctionSubject; member?: Member } {
  const member = room.members.byName(channel, name);
  if (member)
    return {
      subject: { name: member.name, account: member.account, rank: member.rank, ips: member.ips },
      member,
    };
  const gone = room.members.departedByName(channel, name);
  if (gone) return { subject: { ...gone } };
  const user = room.store.users.getByName(name);
  if (user)
    return {
      subject: {
        name: user.name,
        account: user.name,
        rank: accountStanding(room.store, channel, user.name).rank,
        ips: [],
      },
    };
  // Someone absent, named like the channel: rank them as the host so a look-alike cannot be used to sanction them.
  const hostRank: Rank = namesCollide(name, channel) ? 2 : 0;
  return { subject: { name, rank: hostRank, ips: [] } };
}

function outranks(actor: Conn, rank: Rank): boolean {
  return actor.member.rank > rank;
}

function sanction(
  room: ChatRoom,
  actor: Conn,
  kind: SanctionKind,
  name: string,
  minutes: number | undefined,
): void {
  const channel = actor.member.channel;
  const { subject } = findSubject(room, channel, name);
  if (!outranks(actor, subject.rank)) {
    room.notice(actor.ref, 'error', 'FORBIDDEN', notice.cannotSanction(kind, subject.name));
    return;
  }
  const targets = targetsOf(subject, kind === 'ban');
  const until = minutes === undefined ? null : room.now() + minutes * 60_000;
  addSanctions(room.store, channel, kind, targets, until, actor.member.name);
  audit(room, actor, kind, { target: subject.name, minutes: minutes ?? null, targets: targets.length });
  room.system(channel, system.sanctioned(kind, subject.name, actor.member.name, minutes));
  if (kind === 'ban') ejectMatching(room, channel, targets);
}

/** A ban removes every connection it covers: the member's on every edge, and anyone else on a banned IP. */
function ejectMatching(room: ChatRoom, channel: string, targets: SanctionTarget[]): void {
  let ejected = false;
  for (const m of room.members.list(channel)) {
    for (const conn of [...m.conns.values()]) {
      if (matchesAny({ name: m.name, account: m.account, rank: m.rank, ips: [conn.ip] }, targets)) {
        room.eject(conn, 'BANNED', notice.banned());
        ejected = true;
      }
    }
  }
  if (ejected) room.broadcastMembers(channel);
}

function lift(room: ChatRoom, actor: Conn, kind: SanctionKind, name: string): void {
  const channel = actor.member.channel;
  const { subject } = findSubject(room, channel, name);
  const targets = liftTargets(
    room.store,
    channel,
    kind,
    name,
    targetsOf({ ...subject, rank: 0 }),
    room.now(),
  );
  const removed = removeSanctions(room.store, channel, kind, targets);
  if (removed === 0) {
    room.notice(actor.ref, 'info', undefined, notice.notSanctioned(kind, subject.name));
    return;
  }
  audit(room, actor, `un${kind}`, { target: subject.name, removed });
  room.system(channel, system.lifted(kind, subject.name, actor.member.name));
}

function renameOther(room: ChatRoom, actor: Conn, name: string, newName: string): void {
  const target = room.members.byName(actor.member.channel, name);
  if (!target) {
    room.notice(actor.ref, 'error', 'UNKNOWN_NAME', notice.notInChat(name));
    return;
  }
  if (target !== actor.member && !outranks(actor, target.rank)) {
    room.notice(actor.ref, 'error', 'FORBIDDEN', notice.cannotRename(target.name));
    return;
  }
  const problem = room.checkName(target, newName);
  if (problem) {
    room.notice(actor.ref, 'error', problem, notice.nameRefused(newName));
    return;
  }
  audit(room, actor, 'rename', { target: target.name, newName });
  room.rename(target, newName, actor.member);
}

function setModerator(room: ChatRoom, actor: Conn, name: string, on: boolean): void {
  const channel = actor.member.channel;
  const user = room.store.users.getByName(name);
  if (!user) {
    room.notice(actor.ref, 'error', 'UNKNOWN_NAME', notice.notAccount(name));
    return;
  }
  if (room.store.streamers.ownerOf(channel) === user.name) {
    room.notice(actor.ref, 'info', undefined, notice.isHost(user.name));
    return;
  }
  const already = room.store.moderators.is(channel, user.name);
  if (already === on) {
    room.notice(actor.ref, 'info', undefined, on ? notice.alreadyMod(user.name) : notice.notMod(user.name));
    return;
  }
  if (on) room.store.moderators.add(channel, user.name);
  else room.store.moderators.remove(channel, user.name);
  audit(room, actor, on ? 'mod' : 'unmod', { target: user.name });
  const live = room.members.find(channel, memberKeyForAccount(user.name));
  if (live) {
    Object.assign(live, standing(room.store, channel, user.name, user.role));
    room.refresh(live);
    room.broadcastMembers(channel);
  }
  room.system(
    channel,
    on ? system.modAdded(user.name, actor.member.name) : system.modRemoved(user.name, actor.member.name),
  );
}

function clear(room: ChatRoom, actor: Conn): void {
  const channel = actor.member.channel;
  room.store.chat.clear(channel);
  audit(room, actor, 'clear');
  room.broadcast(channel, { type: 'clear', channel });
  room.system(channel, system.cleared(actor.member.name));
}

function deleteMessage(room: ChatRoom, actor: Conn, seq: number): void {
  const channel = actor.member.channel;
  room.store.chat.remove(channel, [seq]);
  audit(room, actor, 'delete', { seq });
  room.broadcast(channel, { type: 'delete', channel, seqs: [seq] });
  room.system(channel, system.deleted(actor.member.name));
}
