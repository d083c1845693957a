/**
 * Parent choice through discovery (Consul): for each stream, the candidates are the intermediates of lower
 * tiers plus the one ingress that carries the stream (ingresses only hold their own publishers), chosen by
 * region, tier and load (power of two choices). With no origin known (the publisher is away), no ingress is
 * offered: the relay keeps its viewers and retries until the stream is published again, on any ingress.
 */
import { chooseParent, type Discovery, type NodeInfo } from '../discovery/index.js';
import type { Logger } from '../logging/index.js';
import type { ParentResolver } from './upstream-pool.js';

export class DiscoveryParents implements ParentResolver {
  constructor(
    private readonly discovery: Discovery,
    private readonly self: { id: string; region: string; tier: number },
    private readonly logger: Logger,
  ) {}

  private relays(): NodeInfo[] {
    return this.discovery.nodes('intermediate').filter((n) => n.id !== this.self.id);
  }

  async choose(stream: string, exclude: ReadonlySet<string>): Promise<string | undefined> {
    const candidates = this.relays();
    let origin: NodeInfo | undefined;
    try {
      origin = await this.discovery.streamOrigin(stream);
    } catch (err) {
      this.logger.debug(
        { stream, err: (err as Error).message },
        'stream origin unknown (discovery unreachable)',
      );
    }
    if (origin) candidates.push(origin);
    return chooseParent(candidates, this.self, { exclude })?.wsUrl;
  }

  /** An offline stream pulled straight from an ingress follows its publisher to another ingress. */
  async moveFor(stream: string, current: string): Promise<string | undefined> {
    const ingresses = this.discovery.nodes('ingress');
    if (!ingresses.some((n) => n.wsUrl === current)) return undefined;
    try {
      const origin = await this.discovery.streamOrigin(stream);
      return origin && origin.wsUrl !== current ? origin.wsUrl : undefined;
    } catch {
      return undefined;
    }
  }

  home(): Promise<string | undefined> {
    const any = [...this.relays(), ...this.discovery.nodes('ingress')];
    return Promise.resolve(chooseParent(any, this.self)?.wsUrl);
  }
}
