/**
 * Chat commands: a pure parser and the table of who may use what. The hub checks the level before it looks
 * at the arguments, so a non-moderator probing `/ban` learns FORBIDDEN, not the usage.
 */

import { notice, type Line } from '../../common/chat/lines.js';

/** everyone: any member; moderator: moderators, the host and site admins; owner: the host and site admins. */
export type CommandLevel = 'everyone' | 'moderator' | 'owner';

export type Command =
  | { name: 'help' }
  | { name: 'me'; text: string }
  | { name: 'name'; newName: string }
  | { name: 'color'; color: string }
  | { name: 'mute'; target: string; minutes?: number }
  | { name: 'unmute'; target: string }
  | { name: 'ban'; target: string; minutes?: number }
  | { name: 'unban'; target: string }
  | { name: 'rename'; target: string; newName: string }
  | { name: 'mod'; target: string }
  | { name: 'unmod'; target: string }
  | { name: 'clear' }
  | { name: 'delete'; seq: number }
  | { name: 'timeout'; target: string; minutes: number }
  | { name: 'slow'; seconds: number }
  | { name: 'only'; who: 'everyone' | 'accounts' | 'followers' }
  | { name: 'links'; links: 'allow' | 'review' | 'block' }
  | { name: 'approve'; id: number }
  | { name: 'reject'; id: number }
  | { name: 'raid'; target: string };

export type CommandName = Command['name'];

export interface CommandSpec {
  name: CommandName;
  level: CommandLevel;
  usage: string;
  description: string;
}

export const COMMANDS: readonly CommandSpec[] = [
  { name: 'help', level: 'everyone', usage: '/help', description: 'list the commands you can use' },
  { name: 'me', level: 'everyone', usage: '/me <action>', description: 'describe what you are doing' },
  { name: 'name', level: 'everyone', usage: '/name <newname>', description: 'change your name in this chat' },
  {
    name: 'color',
    level: 'everyone',
    usage: '/color <#rrggbb|colour name>',
    description: 'change your name colour',
  },
  {
    name: 'mute',
    level: 'moderator',
    usage: '/mute <name> [minutes]',
    description: 'stop someone from chatting',
  },
  { name: 'unmute', level: 'moderator', usage: '/unmute <name>', description: 'lift a mute' },
  {
    name: 'ban',
    level: 'moderator',
    usage: '/ban <name> [minutes]',
    description: 'remove someone and keep them out',
  },
  { name: 'unban', level: 'moderator', usage: '/unban <name>', description: 'lift a ban' },
  {
    name: 'rename',
    level: 'moderator',
    usage: '/rename <name> <newname>',
    description: "change someone's name",
  },
  { name: 'mod', level: 'owner', usage: '/mod <account>', description: 'make an account a moderator here' },
  { name: 'unmod', level: 'owner', usage: '/unmod <account>', description: 'remove a moderator' },
  { name: 'clear', level: 'moderator', usage: '/clear', description: 'clear the chat history' },
  { name: 'delete', level: 'moderator', usage: '/delete <seq>', description: 'delete one message' },
  {
    name: 'timeout',
    level: 'moderator',
    usage: '/timeout <name> <minutes>',
    description: 'mute someone for a while',
  },
  {
    name: 'slow',
    level: 'moderator',
    usage: '/slow <seconds|off>',
    description: 'one message per chatter every so many seconds',
  },
  {
    name: 'only',
    level: 'moderator',
    usage: '/only <everyone|accounts|followers>',
    description: 'who may chat',
  },
  {
    name: 'links',
    level: 'moderator',
    usage: '/links <allow|review|block>',
    description: "links: allowed, a first-time chatter's held for review, or blocked",
  },
  { name: 'approve', level: 'moderator', usage: '/approve <id>', description: 'post a held message' },
  { name: 'reject', level: 'moderator', usage: '/reject <id>', description: 'drop a held message' },
  {
    name: 'raid',
    level: 'owner',
    usage: '/raid <channel>',
    description: 'send your viewers to another live channel',
  },
];

/** Slow mode at most an hour between messages. */
export const MAX_SLOW_MODE_S = 3600;

const BY_NAME = new Map<string, CommandSpec>(COMMANDS.map((c) => [c.name, c]));

/** A year: longer than that is what "no minutes" (permanent) is for. */
export const MAX_SANCTION_MINUTES = 525_600;

export type ParseResult =
  | { kind: 'text'; text: string }
  | { kind: 'command'; spec: CommandSpec; command: Command }
  | { kind: 'bad-usage'; spec: CommandSpec }
  | { kind: 'unknown'; name: string };

/**
 * Text that starts with '/' is a command; '//' sends the rest as text starting with '/'.
 * Input is already sanitised and trimmed.
 */
export function parseInput(text: string): ParseResult {
  if (!text.startsWith('/')) return { kind: 'text', text };
  if (text.startsWith('//')) return { kind: 'text', text: text.slice(1) };
  const space = text.search(/\s/);
  const name = (space < 0 ? text.slice(1) : text.slice(1, space)).toLowerCase();
  const rest = space < 0 ? '' : text.slice(space + 1).trim();
  const spec = BY_NAME.get(name);
  if (!spec) return { kind: 'unknown', name };
  const command = parseArgs(spec.name, rest);
  return command ? { kind: 'command', spec, command } : { kind: 'bad-usage', spec };
}

function parseArgs(name: CommandName, rest: string): Command | undefined {
  const args = rest.length > 0 ? rest.split(/\s+/) : [];
  switch (name) {
    case 'help':
    case 'clear':
      return args.length === 0 ? { name } : undefined;
    case 'me':
      return rest.length > 0 ? { name, text: rest } : undefined;
    case 'name':
      return args.length === 1 && args[0] ? { name, newName: args[0] } : undefined;
    case 'color':
      return args.length === 1 && args[0] ? { name, color: args[0] } : undefined;
    case 'unmute':
    case 'unban':
    case 'mod':
    case 'unmod':
      return args.length === 1 && args[0] ? { name, target: stripAt(args[0]) } : undefined;
    case 'mute':
    case 'ban':
      return sanctionArgs(name, args, false);
    case 'rename': {
      const [target, newName] = args;
      return target && newName && args.length === 2 ? { name, target: stripAt(target), newName } : undefined;
    }
    case 'delete': {
      const seq = args.length === 1 && args[0] ? parsePositiveInt(args[0]) : undefined;
      return seq === undefined ? undefined : { name, seq };
    }
    case 'approve':
    case 'reject': {
      const id = args.length === 1 && args[0] ? parsePositiveInt(args[0].replace(/^#/, '')) : undefined;
      return id === undefined ? undefined : { name, id };
    }
    case 'timeout': {
      const parsed = sanctionArgs(name, args, true);
      return parsed?.minutes === undefined ? undefined : { ...parsed, minutes: parsed.minutes };
    }
    case 'slow': {
      if (args.length !== 1) return undefined;
      if (args[0] === 'off' || args[0] === '0') return { name, seconds: 0 };
      const seconds = parsePositiveInt(args[0]!);
      return seconds === undefined || seconds > MAX_SLOW_MODE_S ? undefined : { name, seconds };
    }
    case 'only': {
      const who = args.length === 1 ? args[0]!.toLowerCase() : '';
      if (who === 'off') return { name, who: 'everyone' };
      return who === 'everyone' || who === 'accounts' || who === 'followers' ? { name, who } : undefined;
    }
    case 'links': {
      const links = args.length === 1 ? args[0]!.toLowerCase() : '';
      return links === 'allow' || links === 'review' || links === 'block' ? { name, links } : undefined;
    }
    case 'raid':
      return args.length === 1 && args[0] ? { name, target: stripAt(args[0]) } : undefined;
  }
}

/** `<name> [minutes]` of /mute, /ban and /timeout (whose minutes are required). */
function sanctionArgs<N extends 'mute' | 'ban' | 'timeout'>(
  name: N,
  args: string[],
  minutesRequired: boolean,
): { name: N; target: string; minutes?: number } | undefined {
  const [target, mins] = args;
  if (!target || args.length > 2) return undefined;
  if (mins === undefined) return minutesRequired ? undefined : { name, target: stripAt(target) };
  const minutes = parsePositiveInt(mins);
  if (minutes === undefined || minutes > MAX_SANCTION_MINUTES) return undefined;
  return { name, target: stripAt(target), minutes };
}

/** `/mute @bob` works as well as `/mute bob`: people copy names from mentions. */
function stripAt(name: string): string {
  return name.startsWith('@') ? name.slice(1) : name;
}

function parsePositiveInt(s: string): number | undefined {
  if (!/^[0-9]{1,9}$/.test(s)) return undefined;
  const n = Number(s);
  return n > 0 ? n : undefined;
}

export function levelAllows(granted: CommandLevel, required: CommandLevel): boolean {
  const order: CommandLevel[] = ['everyone', 'moderator', 'owner'];
  return order.indexOf(granted) >= order.indexOf(required);
}

/**
 * The /help notice for someone at `level`: the commands they may use by name, for the page to list in its
 * language (`chat.help.…`), and the list in English.
 */
export function helpLine(level: CommandLevel): Line {
  const names = COMMANDS.filter((c) => levelAllows(level, c.level)).map((c) => c.name);
  return notice.help(names, helpText(level));
}

/** The /help text for someone at `level`: only what they may use. */
export function helpText(level: CommandLevel): string {
  const lines = COMMANDS.filter((c) => levelAllows(level, c.level)).map(
    (c) => `${c.usage} — ${c.description}`,
  );
  return ['Commands:', ...lines, 'Start a message with // to send text that begins with /.'].join('\n');
}
