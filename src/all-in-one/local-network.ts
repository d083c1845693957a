/**
 * The embedded default (`node-role all`): hub, ingress → intermediate → edge in one process, wired on
 * loopback, with no external service. Nodes start in tree order so each child's parent URL is known
 * (ports may be 0). Closing goes leaves first: edge, intermediate, ingress, hub.
 */
import type { AllConfig } from '../common/config/index.js';
import { hubLinkSchema } from '../common/config/schema.js';
import type { Logger } from '../common/logging/index.js';
import { startEdge, type EdgeNode } from '../edge/main.js';
import { startHub, type HubNode } from '../hub/main.js';
import { startIngress, type IngressNode } from '../ingress/main.js';
import { startIntermediate, type IntermediateNode } from '../intermediate/main.js';

export interface LocalNetwork {
  hub: HubNode;
  ingress: IngressNode;
  intermediate: IntermediateNode;
  edge: EdgeNode;
  close(): Promise<void>;
}

export async function startLocalNetwork(
  cfg: AllConfig,
  logger?: Logger,
  opts: { demoKey?: string } = {},
): Promise<LocalNetwork> {
  const hub = await startHub(cfg.hub, logger);
  const started: Array<{ close(): Promise<void> }> = [hub];
  try {
    if (opts.demoKey) {
      // The demo streamer exists in the hub's store with this run's key (rotated at every start).
      const s = hub.store.streamers;
      if (s.get('demo')) s.rotateKey('demo', opts.demoKey);
      else s.add({ name: 'demo', key: opts.demoKey, title: 'tiercast demo: test pattern', category: 'Demo' });
    }
    // Defaults from the schema, not restated here.
    const hubLink = { ...(cfg.ingress.hub ?? hubLinkSchema.parse({ url: hub.url })), url: hub.url };
    const ingress = await startIngress({ ...cfg.ingress, hub: hubLink }, logger);
    started.unshift(ingress);
    const intermediate = await startIntermediate(
      { ...cfg.intermediate, upstream: { ...cfg.intermediate.upstream, parents: [ingress.url] } },
      logger,
    );
    started.unshift(intermediate);
    const edge = await startEdge(
      {
        ...cfg.edge,
        hub: { ...(cfg.edge.hub ?? hubLink), url: hub.url },
        upstream: { ...cfg.edge.upstream, parents: [intermediate.url] },
        // The /broadcast page sends to this ingress (the page puts its own host in for a loopback address).
        broadcast: { ingestUrl: `${ingress.url}/publish/ws`, ...cfg.edge.broadcast },
      },
      logger,
    );
    started.unshift(edge);
    let closing: Promise<void> | undefined;
    return {
      hub,
      ingress,
      intermediate,
      edge,
      close: () =>
        (closing ??= (async () => {
          for (const n of started) await n.close();
        })()),
    };
  } catch (err) {
    for (const n of started) await n.close();
    throw err;
  }
}
