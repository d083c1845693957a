/**
 * A webhook's body (ADR 0021, proposed): tiercast's JSON (`{id, event, channel, at, data}`), or the shape
 * Discord's incoming webhooks take (`{content, embeds}`), so a streamer can paste a Discord webhook URL.
 */
import type { HubEvent } from '../../common/protocol/hub-events.js';

export type WebhookFormat = 'json' | 'discord';

/** One delivery's body. `id` is the delivery's id: the same on every retry, so a receiver can drop repeats. */
export function renderBody(format: WebhookFormat, id: string, e: HubEvent, channelUrl: string): string {
  if (format === 'json') {
    const { type, channel, at, ...data } = e;
    return JSON.stringify({ id, event: type, channel, at: new Date(at).toISOString(), data });
  }
  return JSON.stringify(discordMessage(e, channelUrl));
}

/** Discord truncates nothing for us: content is at most 2,000 characters, an embed title 256. */
function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function discordMessage(e: HubEvent, channelUrl: string): { content: string; embeds?: object[] } {
  // Discord renders markdown and mentions: names and texts are escaped so that a title cannot ping @everyone.
  const esc = (s: string) => s.replace(/([\\*_~`|>@#[\]()])/g, '\\$1');
  switch (e.type) {
    case 'stream.started':
      return {
        content: clip(`**${esc(e.channel)}** is live: ${esc(e.title)}`, 2000),
        embeds: [{ title: clip(e.title || e.channel, 256), url: channelUrl, description: esc(e.category) }],
      };
    case 'stream.ended':
      return {
        content: clip(
          `**${esc(e.channel)}** ended the stream after ${Math.round(e.durationS / 60)} min`,
          2000,
        ),
      };
    case 'stream.title_changed':
      return { content: clip(`**${esc(e.channel)}** is now: ${esc(e.title)}`, 2000) };
    case 'channel.followed':
      return { content: clip(`${esc(e.follower)} followed **${esc(e.channel)}**`, 2000) };
    case 'chat.message':
      return { content: clip(`${esc(e.author)} in **${esc(e.channel)}**: ${esc(e.text)}`, 2000) };
    case 'clip.created':
      return { content: clip(`New clip on **${esc(e.channel)}**: ${e.url}`, 2000) };
  }
}
