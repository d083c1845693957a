/**
 * What a joined member can do: send text, /me, drawings, /help, /name and /color. Moderator commands are
 * handed to moderation.ts once the member's level allows them. Rate limits and bans are checked by the hub
 * before anything here runs.
 */
import { colorNames, parseColor } from './colors.js';
import { helpLine, levelAllows, parseInput, type CommandLevel } from './commands.js';
import { notice } from '../../common/chat/lines.js';
import type { Conn, Member } from './members.js';
import { runModeration } from './moderation.js';
import type { ChatRoom } from './room.js';
import { checkDrawing, checkText } from './text-rules.js';
import { admit } from './channel-rules.js';

export function levelOf(member: Member): CommandLevel {
  return member.rank >= 2 ? 'owner' : member.rank === 1 ? 'moderator' : 'everyone';
}

function authorOf(member: Member): { author: string; color: string; badge: Member['badge'] } {
  return { author: member.name, color: member.color, badge: member.badge };
}

function refuseIfMuted(room: ChatRoom, conn: Conn): boolean {
  if (!room.isMuted(conn)) return false;
  room.notice(conn.ref, 'error', 'MUTED', notice.muted());
  return true;
}

/**
 * Posts a member's text or /me through the channel's rules: masked by the operator's and the channel's words,
 * refused (the sender told why), held for a moderator, or posted (the author is a regular from then on).
 */
function postText(room: ChatRoom, conn: Conn, kind: 'text' | 'me', raw: string): void {
  if (refuseIfMuted(room, conn)) return;
  const channel = conn.member.channel;
  const verdict = admit(room, conn, room.rules(channel), raw);
  if (verdict === 'refused') return;
  const draft = { ...authorOf(conn.member), kind, text: room.filterFor(channel)(raw) };
  if (verdict === 'held') return room.hold(conn, draft);
  room.post(channel, draft);
  room.accepted(conn);
}

export function handleDraw(room: ChatRoom, conn: Conn, image: string): void {
  if (refuseIfMuted(room, conn)) return;
  const check = checkDrawing(image, room.limits.maxDrawingBytes);
  if (!check.ok) {
    const said = check.code === 'DRAWING_TOO_LARGE' ? notice.drawingTooLarge() : notice.badDrawing();
    room.notice(conn.ref, 'error', check.code, said);
    return;
  }
  // A refused drawing does not use up the slow-mode wait: the rules come after its own checks.
  if (admit(room, conn, room.rules(conn.member.channel), undefined) === 'refused') return;
  room.post(conn.member.channel, { ...authorOf(conn.member), kind: 'drawing', text: '', image });
}

export function handleSend(room: ChatRoom, conn: Conn, raw: string): void {
  const max = room.limits.maxMessageChars;
  // The same check the edge made at the first hop (shared rules); the hub is the authority.
  const check = checkText(raw, max);
  if (!check.ok) {
    const said = check.code === 'EMPTY_MESSAGE' ? notice.emptyMessage() : notice.tooLong(max);
    room.notice(conn.ref, 'error', check.code, said);
    return;
  }
  const parsed = parseInput(check.text);
  const level = levelOf(conn.member);
  if (parsed.kind === 'text') return postText(room, conn, 'text', parsed.text);
  if (parsed.kind === 'unknown') {
    room.notice(conn.ref, 'error', 'UNKNOWN_COMMAND', notice.unknownCommand(parsed.name));
    return;
  }
  // Level before usage: a non-moderator probing /ban learns FORBIDDEN, not how to use it.
  if (!levelAllows(level, parsed.spec.level)) {
    room.notice(conn.ref, 'error', 'FORBIDDEN', notice.commandForbidden(parsed.spec.name));
    return;
  }
  if (parsed.kind === 'bad-usage') {
    room.notice(conn.ref, 'error', 'BAD_COMMAND', notice.usage(parsed.spec.usage));
    return;
  }
  const cmd = parsed.command;
  switch (cmd.name) {
    case 'help':
      return room.notice(conn.ref, 'info', undefined, helpLine(level));
    case 'me':
      return postText(room, conn, 'me', cmd.text);
    case 'name':
      return selfRename(room, conn, cmd.newName);
    case 'color':
      return setColor(room, conn, cmd.color);
    default:
      return runModeration(room, conn, cmd);
  }
}

function selfRename(room: ChatRoom, conn: Conn, newName: string): void {
  // A rename is announced to the channel: a muted member must not use it to keep talking.
  if (refuseIfMuted(room, conn)) return;
  if (newName === conn.member.name) {
    room.notice(conn.ref, 'info', undefined, notice.alreadyNamed(newName));
    return;
  }
  const problem = room.checkName(conn.member, newName);
  if (problem) {
    const said = problem === 'INVALID_NAME' ? notice.invalidName() : notice.nameTaken(newName);
    room.notice(conn.ref, 'error', problem, said);
    return;
  }
  room.rename(conn.member, newName);
}

function setColor(room: ChatRoom, conn: Conn, input: string): void {
  const color = parseColor(input);
  if (!color) {
    room.notice(conn.ref, 'error', 'INVALID_COLOR', notice.invalidColor(colorNames().join(', ')));
    return;
  }
  conn.member.color = color;
  conn.member.colorChosen = true;
  room.refresh(conn.member);
  room.broadcastMembers(conn.member.channel);
}
