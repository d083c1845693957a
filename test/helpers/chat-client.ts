/** A chat viewer for tests: a WebSocket on an edge's /chat/NAME, recording every event. */
import WebSocket from 'ws';

export interface ChatMsg {
  seq: number;
  kind: string;
  author: string;
  badge: string;
  text: string;
}

export class ChatClient {
  readonly ws: WebSocket;
  readonly events: Array<Record<string, unknown> & { type: string }> = [];
  readonly opened: Promise<void>;
  closed: { code: number; reason: string } | undefined;

  constructor(edgeUrl: string, channel: string, opts: { name?: string; cookie?: string } = {}) {
    const q = opts.name ? `?name=${encodeURIComponent(opts.name)}` : '';
    this.ws = new WebSocket(`${edgeUrl.replace(/^http/, 'ws')}/chat/${channel}${q}`, {
      headers: opts.cookie ? { cookie: opts.cookie } : {},
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`refused: ${res.statusCode} ${String(res.headers['x-tiercast-error'])}`)),
      );
      this.ws.once('error', reject);
    });
    this.ws.on('message', (d: Buffer) =>
      this.events.push(JSON.parse(d.toString()) as Record<string, unknown> & { type: string }),
    );
    this.ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
  }

  /** Chat messages in the order received (history first), deduplicated by seq. */
  messages(): ChatMsg[] {
    const out = new Map<number, ChatMsg>();
    for (const e of this.events) {
      if (e.type === 'history') for (const m of e.messages as ChatMsg[]) out.set(m.seq, m);
      if (e.type === 'message') {
        const m = e.msg as ChatMsg;
        out.set(m.seq, m);
      }
    }
    return [...out.values()].sort((a, b) => a.seq - b.seq);
  }

  texts(): string[] {
    return this.messages()
      .filter((m) => m.kind === 'text' || m.kind === 'me')
      .map((m) => `${m.author}: ${m.text}`);
  }

  notices(): string[] {
    return this.events.filter((e) => e.type === 'notice').map((e) => String(e.code ?? e.text));
  }

  you(): { name: string; badge: string } | undefined {
    return this.events.filter((e) => e.type === 'you').at(-1) as { name: string; badge: string } | undefined;
  }

  send(text: string): void {
    this.ws.send(JSON.stringify({ type: 'send', text }));
  }

  close(): void {
    this.ws.terminate();
  }
}
