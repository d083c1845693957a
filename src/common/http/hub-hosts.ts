/**
 * The hubs a node may talk to (`hub.url`, then `hub.standbys`, then those discovery knows) and which of them
 * it talks to now: the one that last answered as leader. A standby answers 503 HUB_NOT_LEADER, naming the leader
 * (`x-tiercast-hub-leader`): the node moves there when the leader is one of its hubs (a URL from outside the
 * list is never followed), else to the next hub. A request is tried on another hub only when the first could
 * not have acted on it (refused as standby, or no connection made): never after a timeout, so nothing is
 * done twice (ADR 0018).
 */
export const HUB_LEADER_HEADER = 'x-tiercast-hub-leader';
export const HUB_ERROR_HEADER = 'x-tiercast-error';

export class HubHosts {
  private readonly configured: string[];
  private urls: string[];
  private at = 0;

  constructor(primary: string, standbys: readonly string[] = []) {
    this.configured = [...new Set([primary, ...standbys].map(trimSlash))];
    this.urls = [...this.configured];
  }

  /**
   * The hubs discovery knows (Consul: the healthy `hub` registrations), tried after the configured ones: a
   * hub added to the group is found without reconfiguring every node. The hub in use stays in use.
   */
  learn(discovered: readonly string[]): void {
    const current = this.current;
    this.urls = [...new Set([...this.configured, ...discovered.map(trimSlash)])];
    this.at = Math.max(0, this.urls.indexOf(current));
  }

  /** The hub to use now, without a trailing slash. */
  get current(): string {
    return this.urls[this.at]!;
  }

  get count(): number {
    return this.urls.length;
  }

  /** `from` failed or is a standby: move to `leader` if it is one of ours, else to the hub after `from`. */
  moveOn(from: string, leader?: string | null): void {
    if (from !== this.current) return; // someone already moved on
    const named = leader ? this.urls.indexOf(trimSlash(leader)) : -1;
    this.at = named >= 0 && named !== this.at ? named : (this.at + 1) % this.urls.length;
  }

  /**
   * `fetch(hub + path)` on the leader: tries each hub at most once while they answer as standbys or cannot
   * be connected to. A timeout or any other answer is returned (or thrown) as it is.
   */
  async fetch(path: string, init: RequestInit, timeoutMs: number): Promise<Response> {
    let lastError: unknown;
    for (let tries = 0; tries < this.urls.length; tries++) {
      const base = this.current;
      let r: Response;
      try {
        r = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
      } catch (err) {
        if (!notConnected(err)) throw err;
        lastError = err;
        this.moveOn(base);
        continue;
      }
      if (r.status === 503 && r.headers.get(HUB_ERROR_HEADER) === 'HUB_NOT_LEADER') {
        await r.body?.cancel();
        this.moveOn(base, r.headers.get(HUB_LEADER_HEADER));
        lastError = new Error(`${base} is a standby hub`);
        continue;
      }
      return r;
    }
    throw lastError instanceof Error ? lastError : new Error('no hub answered');
  }
}

const trimSlash = (u: string) => u.replace(/\/+$/, '');

/** The connection was never made (refused, unreachable, no such host): the hub cannot have seen the request. */
function notConnected(err: unknown): boolean {
  const code = (err as { cause?: { code?: string } })?.cause?.code;
  return (
    code === 'ECONNREFUSED' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH' ||
    code === 'ENOTFOUND' ||
    code === 'EAI_AGAIN'
  );
}
