/**
 * Moderator commands: mute, ban, rename, mod/unmod, clear, delete. The caller has already checked the
 * command level; here each action checks its target (nobody acts on someone of equal or higher rank),
 * changes the store, tells the channel with a system message and logs it.
 */
import { namesCollide } from '../../common/names.js';
import type { SanctionKind, SanctionTarget } from '../store/types.js';
import type { Command } from './commands.js';
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

export type ModerationCommand = Extract<
  Command,
  { name: 'mute' | 'unmute' | 'ban' | 'unban' | 'rename' | 'mod' | 'unmod' | 'clear' | 'delete' }
>;

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
  }
}

function audit(room: ChatRoom, actor: Conn, action: string, details: Record<string, unknown> = {}): void {
  room.logger.info(
    { channel: actor.member.channel, action, by: actor.member.name, ...details },
    'chat moderation',
  );
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
    room.notice(actor.ref, 'error', 'FORBIDDEN', `You cannot ${kind} ${subject.name}.`);
    return;
  }
  const targets = targetsOf(subject, kind === 'ban');
  const until = minutes === undefined ? null : room.now() + minutes * 60_000;
  addSanctions(room.store, channel, kind, targets, until, actor.member.name);
  const span = minutes === undefined ? '' : ` for ${minutes} minute${minutes === 1 ? '' : 's'}`;
  const verb = kind === 'mute' ? 'muted' : 'banned';
  audit(room, actor, kind, { target: subject.name, minutes: minutes ?? null, targets: targets.length });
  room.system(channel, `${subject.name} was ${verb}${span} by ${actor.member.name}`);
  if (kind === 'ban') ejectMatching(room, channel, targets);
}

/** A ban removes every connection it covers: the member's on every edge, and anyone else on a banned IP. */
function ejectMatching(room: ChatRoom, channel: string, targets: SanctionTarget[]): void {
  let ejected = false;
  for (const m of room.members.list(channel)) {
    for (const conn of [...m.conns.values()]) {
      if (matchesAny({ name: m.name, account: m.account, rank: m.rank, ips: [conn.ip] }, targets)) {
        room.eject(conn, 'BANNED', 'You are banned from this chat.');
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
  const noun = kind === 'mute' ? 'muted' : 'banned';
  if (removed === 0) {
    room.notice(actor.ref, 'info', undefined, `${subject.name} is not ${noun}.`);
    return;
  }
  audit(room, actor, `un${kind}`, { target: subject.name, removed });
  room.system(
    channel,
    `${subject.name} was un${kind === 'mute' ? 'muted' : 'banned'} by ${actor.member.name}`,
  );
}

function renameOther(room: ChatRoom, actor: Conn, name: string, newName: string): void {
  const target = room.members.byName(actor.member.channel, name);
  if (!target) {
    room.notice(actor.ref, 'error', 'UNKNOWN_NAME', `${name} is not in this chat.`);
    return;
  }
  if (target !== actor.member && !outranks(actor, target.rank)) {
    room.notice(actor.ref, 'error', 'FORBIDDEN', `You cannot rename ${target.name}.`);
    return;
  }
  const problem = room.checkName(target, newName);
  if (problem) {
    room.notice(actor.ref, 'error', problem, `${newName} cannot be used as a name here.`);
    return;
  }
  audit(room, actor, 'rename', { target: target.name, newName });
  room.rename(target, newName, actor.member);
}

function setModerator(room: ChatRoom, actor: Conn, name: string, on: boolean): void {
  const channel = actor.member.channel;
  const user = room.store.users.getByName(name);
  if (!user) {
    room.notice(
      actor.ref,
      'error',
      'UNKNOWN_NAME',
      `${name} is not an account: only accounts can be moderators.`,
    );
    return;
  }
  if (room.store.streamers.ownerOf(channel) === user.name) {
    room.notice(actor.ref, 'info', undefined, `${user.name} is the host.`);
    return;
  }
  const already = room.store.moderators.is(channel, user.name);
  if (already === on) {
    room.notice(actor.ref, 'info', undefined, `${user.name} is ${on ? 'already' : 'not'} a moderator.`);
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
    on
      ? `${user.name} is now a moderator (by ${actor.member.name})`
      : `${user.name} is no longer a moderator (by ${actor.member.name})`,
  );
}

function clear(room: ChatRoom, actor: Conn): void {
  const channel = actor.member.channel;
  room.store.chat.clear(channel);
  audit(room, actor, 'clear');
  room.broadcast(channel, { type: 'clear', channel });
  room.system(channel, `Chat was cleared by ${actor.member.name}`);
}

function deleteMessage(room: ChatRoom, actor: Conn, seq: number): void {
  const channel = actor.member.channel;
  room.store.chat.remove(channel, [seq]);
  audit(room, actor, 'delete', { seq });
  room.broadcast(channel, { type: 'delete', channel, seqs: [seq] });
  room.system(channel, `A message was deleted by ${actor.member.name}`);
}
