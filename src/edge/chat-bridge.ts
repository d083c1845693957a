/**
 * The edge's half of chat (domain): bridges local viewer connections to the hub over one link. While the
 * hub is unreachable, viewers are told chat is reconnecting and what they send is queued (bounded; past
 * the bound a message is refused with a notice, never dropped silently); on reconnect every connection
 * rejoins and the queue is delivered in order. Video is not involved at all.
 *
 * This is the first hop: a message over the hub's limits (announced on the link, the ceilings until then)
 * is refused here with the hub's own code, so it never travels, queues, or reaches the link.
 */
import { randomBytes } from 'node:crypto';
import type { ChatNoticeCode } from '../common/errors/index.js';
import { CEILING_LIMITS, checkDrawing, checkText, type ChatSizeLimits } from '../common/chat/index.js';
import { notice, type Line } from '../common/chat/lines.js';
import type { Logger } from '../common/logging/index.js';
import type { EdgeToHub, HubDirectoryEntry, HubToEdge } from '../common/protocol/index.js';
import { CloseCode } from '../common/protocol/close-codes.js';

export interface ChatViewer {
  /** Sends a JSON text event to this viewer. */
  send(json: string): void;
  close(code: number, reason: string): void;
}

export interface ChatBridgeOptions {
  queueLimit: number;
  /** This edge's id: with a per-start nonce and a counter it names each action for the hub (its origin). */
  edgeId: string;
  logger: Logger;
  /** Fan-out to every local viewer of a channel (uWS topic publish: one serialisation, one call). */
  publish(channel: string, json: string): void;
  /** Sends to the hub; false when the link is down. */
  sendToHub(m: EdgeToHub): boolean;
  onDirectory(entries: HubDirectoryEntry[]): void;
  /** Per live stream being recorded, its broadcast (the watch page's rewind). */
  onRecordings?(streams: Record<string, string>): void;
}

type Identity = Extract<EdgeToHub, { t: 'join' }>['identity'];
type Action = Extract<EdgeToHub, { t: 'act' }>['action'];
type ActMessage = Extract<EdgeToHub, { t: 'act' }>;

export class ChatBridge {
  private readonly conns = new Map<string, { channel: string; identity: Identity; viewer: ChatViewer }>();
  private queue: ActMessage[] = [];
  /** Sent to the hub and not yet acknowledged, oldest first: sent again after a reconnect (ADR 0018). */
  private inflight: ActMessage[] = [];
  private readonly originPrefix: string;
  private counter = 0;
  private connected = false;
  private limits: ChatSizeLimits = CEILING_LIMITS;
  /** Pages of a directory still arriving (a long directory is sent as several link messages). */
  private directoryPages: HubDirectoryEntry[][] = [];

  constructor(private readonly opts: ChatBridgeOptions) {
    const id = opts.edgeId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
    this.originPrefix = `${id}.${randomBytes(6).toString('base64url')}`;
  }

  /** Actions sent and not yet acknowledged by the hub. */
  get unacknowledged(): number {
    return this.inflight.length;
  }

  get queued(): number {
    return this.queue.length;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  join(conn: string, channel: string, identity: Identity, viewer: ChatViewer): void {
    this.conns.set(conn, { channel, identity, viewer });
    viewer.send(this.limitsEvent());
    if (this.connected) this.opts.sendToHub({ t: 'join', conn, channel, identity });
    else viewer.send(JSON.stringify({ type: 'status', state: 'reconnecting' }));
  }

  leave(conn: string): void {
    if (!this.conns.delete(conn)) return;
    this.queue = this.queue.filter((m) => m.conn !== conn);
    if (this.connected) this.opts.sendToHub({ t: 'leave', conn });
  }

  act(conn: string, action: Action): void {
    const c = this.conns.get(conn);
    if (!c) return;
    const refused = this.refusal(action);
    if (refused) {
      const { code, line } = refused;
      c.viewer.send(JSON.stringify({ type: 'notice', level: 'error', code, ...line }));
      this.opts.logger.info(
        {
          channel: c.channel,
          code: refused.code,
          chars: action.type === 'send' ? action.text.length : action.image.length,
        },
        'chat message refused at the edge',
      );
      return;
    }
    const m: ActMessage = { t: 'act', conn, action, origin: `${this.originPrefix}:${++this.counter}` };
    if (this.connected && this.send(m)) return;
    if (this.queue.length >= this.opts.queueLimit) {
      c.viewer.send(
        JSON.stringify({
          type: 'notice',
          level: 'error',
          code: 'CHAT_QUEUE_FULL',
          text: 'Chat is reconnecting and its queue is full; your message was not sent.',
        }),
      );
      this.opts.logger.warn(
        { channel: c.channel, code: 'CHAT_QUEUE_FULL' },
        'chat message refused while the hub is away',
      );
      return;
    }
    this.queue.push(m);
    c.viewer.send(
      JSON.stringify({
        type: 'notice',
        level: 'info',
        code: 'CHAT_QUEUED',
        text: 'Chat is reconnecting; your message will be sent when it is back.',
      }),
    );
  }

  /** The hub link came up: rejoin every connection, then deliver what was queued, in order. */
  onConnected(): void {
    this.connected = true;
    for (const [conn, c] of this.conns) {
      this.opts.sendToHub({ t: 'join', conn, channel: c.channel, identity: c.identity });
      c.viewer.send(JSON.stringify({ type: 'status', state: 'connected' }));
    }
    // What the last hub never acknowledged goes first, then what was queued: in order, each with its
    // origin, so a hub that had already stored one does not post it again.
    const q = this.queue;
    this.queue = [];
    for (const m of q) {
      if (!this.conns.has(m.conn)) continue;
      if (!this.send(m)) {
        this.queue.push(m);
      }
    }
    if (q.length)
      this.opts.logger.info({ delivered: q.length - this.queue.length }, 'queued chat messages delivered');
  }

  onDisconnected(): void {
    if (!this.connected) return;
    this.connected = false;
    this.queue = [...this.inflight, ...this.queue];
    this.inflight = [];
    for (const c of this.conns.values())
      c.viewer.send(JSON.stringify({ type: 'status', state: 'reconnecting' }));
  }

  onHubMessage(m: HubToEdge): void {
    switch (m.t) {
      case 'limits': {
        this.limits = m.chat;
        const event = this.limitsEvent();
        for (const c of this.conns.values()) c.viewer.send(event);
        return;
      }
      case 'broadcast':
        this.opts.publish(m.channel, JSON.stringify(m.event));
        return;
      case 'ack': {
        const i = this.inflight.findIndex((a) => a.origin === m.origin);
        if (i >= 0) this.inflight.splice(0, i + 1);
        return;
      }
      case 'direct':
        this.conns.get(m.conn)?.viewer.send(JSON.stringify(m.event));
        return;
      case 'kick': {
        const c = this.conns.get(m.conn);
        if (c) {
          this.leave(m.conn);
          c.viewer.close(CloseCode.FORBIDDEN, m.reason.slice(0, 120));
        }
        return;
      }
      case 'recordings':
        this.opts.onRecordings?.(m.streams);
        return;
      case 'directory': {
        if (m.pages === undefined || m.page === undefined) {
          this.opts.onDirectory(m.entries);
          return;
        }
        if (m.page === 0) this.directoryPages = [];
        if (m.page !== this.directoryPages.length) return; // a page went missing: wait for the next push
        this.directoryPages.push(m.entries);
        if (this.directoryPages.length === m.pages) {
          const all = this.directoryPages.flat();
          this.directoryPages = [];
          this.opts.onDirectory(all);
        }
        return;
      }
    }
  }

  /** Sends one action and keeps it until the hub acknowledges it (bounded: a hub that never does loses none). */
  private send(m: ActMessage): boolean {
    if (!this.opts.sendToHub(m)) return false;
    this.inflight.push(m);
    if (this.inflight.length > this.opts.queueLimit) this.inflight.shift();
    return true;
  }

  /** The same checks, codes and wording as the hub's (shared rules), before anything is sent or queued. */
  /** The hub's own words, key and params for the same refusal (src/common/chat/lines.ts). */
  private refusal(action: Action): { code: ChatNoticeCode; line: Line } | undefined {
    const { maxMessageChars, maxDrawingBytes } = this.limits;
    if (action.type === 'draw') {
      // Shape (BAD_DRAWING) is the hub's to judge; size is what protects the path.
      const check = checkDrawing(action.image, maxDrawingBytes);
      if (!check.ok && check.code === 'DRAWING_TOO_LARGE')
        return { code: check.code, line: notice.drawingTooLarge() };
      return undefined;
    }
    const check = checkText(action.text, maxMessageChars);
    if (check.ok) return undefined;
    return check.code === 'EMPTY_MESSAGE'
      ? { code: check.code, line: notice.emptyMessage() }
      : { code: check.code, line: notice.tooLong(maxMessageChars) };
  }

  private limitsEvent(): string {
    return JSON.stringify({ type: 'limits', ...this.limits });
  }

  /** Channels with local chat connections, for viewer-count style reports. */
  channels(): Map<string, number> {
    const out = new Map<string, number>();
    for (const c of this.conns.values()) out.set(c.channel, (out.get(c.channel) ?? 0) + 1);
    return out;
  }
}
