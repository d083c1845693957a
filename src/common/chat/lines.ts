/**
 * What the hub itself writes into a chat: the system lines everyone in the channel sees (stored in history and
 * replayed to late joiners) and the notices one connection gets; the edge refuses what is over the limits with
 * the same notices before it travels. Each carries a catalogue key and its params, so the page shows it in the
 * viewer's language (`t(key, params)`, ADR 0023), and the English text, which old pages, the history API and
 * anything without the catalogue show as it is.
 *
 * The English here and in `src/edge/public/locales/en/chat.json` say the same thing: a unit test renders every
 * line through the catalogue and compares (test/unit/hub-chat-lines.test.ts). Keys of notices whose words are
 * fixed by their code are the code (`chat.notice.MUTED`, as the page already knew them); the keys of notices
 * with details are camelCase (`chat.notice.slowMode`), so a page that looks a notice up by its code alone (an
 * older hub) never finds a sentence whose variables it cannot fill.
 */

/** Values filled into a line: names, seconds, counts. `count` picks the plural form. */
export type LineParams = Record<string, string | number>;

export interface Line {
  /** `chat.system.…` or `chat.notice.…`. */
  key?: string;
  params?: LineParams;
  text: string;
}

function line(key: string, text: string, params?: LineParams): Line {
  return params ? { key, params, text } : { key, text };
}

const minutes = (n: number) => `${n} minute${n === 1 ? '' : 's'}`;

/** Lines to the whole channel, kept in its history. */
export const system = {
  slowOn: (seconds: number, by: string) =>
    line('chat.system.slowOn', `Slow mode is on: one message every ${seconds} s (by ${by})`, { seconds, by }),
  slowOff: (by: string) => line('chat.system.slowOff', `Slow mode is off (by ${by})`, { by }),
  everyone: (by: string) => line('chat.system.everyone', `Everyone can chat (by ${by})`, { by }),
  accountsOnly: (by: string) =>
    line('chat.system.accountsOnly', `Only logged-in accounts can chat now (by ${by})`, { by }),
  followersOnly: (by: string) =>
    line('chat.system.followersOnly', `Only followers can chat now (by ${by})`, { by }),
  linksAllowed: (by: string) => line('chat.system.linksAllowed', `Links are allowed (by ${by})`, { by }),
  linksReviewed: (by: string) =>
    line('chat.system.linksReviewed', `A first-time chatter's links wait for a moderator (by ${by})`, { by }),
  linksBlocked: (by: string) =>
    line('chat.system.linksBlocked', `Links are blocked (allowed domains excepted) (by ${by})`, { by }),
  raid: (by: string, target: string) =>
    line('chat.system.raid', `${by} is raiding ${target}: everyone watching moves there`, { by, target }),
  sanctioned: (kind: 'mute' | 'ban', name: string, by: string, count?: number) => {
    const verb = kind === 'mute' ? 'muted' : 'banned';
    return count === undefined
      ? line(`chat.system.${verb}`, `${name} was ${verb} by ${by}`, { name, by })
      : line(`chat.system.${verb}For`, `${name} was ${verb} for ${minutes(count)} by ${by}`, {
          name,
          by,
          count,
        });
  },
  lifted: (kind: 'mute' | 'ban', name: string, by: string) => {
    const verb = kind === 'mute' ? 'unmuted' : 'unbanned';
    return line(`chat.system.${verb}`, `${name} was ${verb} by ${by}`, { name, by });
  },
  modAdded: (name: string, by: string) =>
    line('chat.system.modAdded', `${name} is now a moderator (by ${by})`, { name, by }),
  modRemoved: (name: string, by: string) =>
    line('chat.system.modRemoved', `${name} is no longer a moderator (by ${by})`, { name, by }),
  cleared: (by: string) => line('chat.system.cleared', `Chat was cleared by ${by}`, { by }),
  deleted: (by: string) => line('chat.system.deleted', `A message was deleted by ${by}`, { by }),
  /** In a join's history, in place of a stored message too large for a page (history-pages.ts). */
  tooLarge: (drawing: boolean, name: string) =>
    drawing
      ? line('chat.system.tooLargeDrawing', `A drawing by ${name} is too large to show.`, { name })
      : line('chat.system.tooLargeMessage', `A message by ${name} is too large to show.`, { name }),
  renamed: (old: string, name: string, by?: string) =>
    by === undefined
      ? line('chat.system.renamed', `${old} is now ${name}`, { old, name })
      : line('chat.system.renamedBy', `${old} is now ${name} (renamed by ${by})`, { old, name, by }),
};

export type RaidRefusal = 'self' | 'unknown' | 'offline' | 'protected';

const RAID_WHY: Record<RaidRefusal, string> = {
  self: 'that is this channel',
  unknown: 'there is no such channel',
  offline: 'it is not live',
  protected: 'it is password-protected',
};

/** Lines to one connection. */
export const notice = {
  // Fixed by their code: the key is the code.
  banned: () => line('chat.notice.BANNED', 'You are banned from this chat.'),
  guestsNotAllowed: () => line('chat.notice.GUESTS_NOT_ALLOWED', 'Log in to chat here.'),
  notJoined: () => line('chat.notice.NOT_JOINED', 'Join a chat first.'),
  muted: () => line('chat.notice.MUTED', 'You are muted in this chat.'),
  rateLimited: () => line('chat.notice.RATE_LIMITED', 'You are sending messages too quickly.'),
  emptyMessage: () => line('chat.notice.EMPTY_MESSAGE', 'Empty message.'),
  drawingTooLarge: () => line('chat.notice.DRAWING_TOO_LARGE', 'That drawing is too large.'),
  badDrawing: () => line('chat.notice.BAD_DRAWING', 'That is not a PNG drawing.'),
  internal: () => line('chat.notice.INTERNAL', 'Something went wrong; try again.'),
  messageHeld: () =>
    line(
      'chat.notice.MESSAGE_HELD',
      'Your message has a link, so a moderator will look at it first: it appears once approved.',
    ),
  // With details, or one of several sentences for one code.
  unknownAction: () => line('chat.notice.unknownAction', 'Unknown chat action.'),
  noChannel: (channel: string) =>
    line('chat.notice.noChannel', `There is no channel ${channel}.`, { channel }),
  tooLong: (count: number) =>
    line('chat.notice.tooLong', `Messages are limited to ${count} character${count === 1 ? '' : 's'}.`, {
      count,
    }),
  unknownCommand: (command: string) =>
    line('chat.notice.unknownCommand', `Unknown command /${command}. Type /help for the list.`, { command }),
  commandForbidden: (command: string) =>
    line('chat.notice.commandForbidden', `You are not allowed to use /${command}.`, { command }),
  usage: (usage: string) => line('chat.notice.usage', `Usage: ${usage}`, { usage }),
  alreadyNamed: (name: string) => line('chat.notice.alreadyNamed', `You are already ${name}.`, { name }),
  invalidName: () => line('chat.notice.invalidName', 'Names are 2–24 letters, digits, _ or -.'),
  nameTaken: (name: string) => line('chat.notice.nameTaken', `${name} is taken.`, { name }),
  invalidColor: (colors: string) =>
    line('chat.notice.invalidColor', `Use #rrggbb or one of: ${colors}.`, { colors }),
  followersLogIn: (channel: string) =>
    line(
      'chat.notice.followersLogIn',
      `Only followers of ${channel} can chat right now: log in and follow to join in.`,
      { channel },
    ),
  accountsOnly: () => line('chat.notice.accountsOnly', 'Only logged-in accounts can chat here right now.'),
  followersOnly: (channel: string) =>
    line('chat.notice.followersOnly', `Only followers of ${channel} can chat right now.`, { channel }),
  slowMode: (seconds: number) =>
    line('chat.notice.slowMode', `Slow mode is on: you can send again in ${seconds} s.`, { seconds }),
  linkBlocked: (host: string) =>
    line('chat.notice.linkBlocked', `Links are not allowed in this chat (${host}).`, { host }),
  heldSanctioned: (name: string) =>
    line('chat.notice.heldSanctioned', `${name} is muted or banned now: not posted.`, { name }),
  heldRejected: () =>
    line('chat.notice.heldRejected', 'A moderator did not approve your message with a link.'),
  noHeld: (id: number) => line('chat.notice.noHeld', `No held message #${id}.`, { id }),
  raidRefused: (target: string, why: RaidRefusal) =>
    line(`chat.notice.raidRefused.${why}`, `You cannot raid ${target}: ${RAID_WHY[why]}.`, { target }),
  cannotSanction: (kind: 'mute' | 'ban', name: string) =>
    line(
      kind === 'mute' ? 'chat.notice.cannotMute' : 'chat.notice.cannotBan',
      `You cannot ${kind} ${name}.`,
      { name },
    ),
  notSanctioned: (kind: 'mute' | 'ban', name: string) =>
    kind === 'mute'
      ? line('chat.notice.notMuted', `${name} is not muted.`, { name })
      : line('chat.notice.notBanned', `${name} is not banned.`, { name }),
  notInChat: (name: string) => line('chat.notice.notInChat', `${name} is not in this chat.`, { name }),
  cannotRename: (name: string) => line('chat.notice.cannotRename', `You cannot rename ${name}.`, { name }),
  nameRefused: (name: string) =>
    line('chat.notice.nameRefused', `${name} cannot be used as a name here.`, { name }),
  notAccount: (name: string) =>
    line('chat.notice.notAccount', `${name} is not an account: only accounts can be moderators.`, { name }),
  isHost: (name: string) => line('chat.notice.isHost', `${name} is the host.`, { name }),
  alreadyMod: (name: string) => line('chat.notice.alreadyMod', `${name} is already a moderator.`, { name }),
  notMod: (name: string) => line('chat.notice.notMod', `${name} is not a moderator.`, { name }),
  /** /help: the commands by name (space-separated); the page lists each from `chat.help.…`. */
  help: (commands: string[], text: string) =>
    line('chat.notice.help', text, { commands: commands.join(' ') }),
};
