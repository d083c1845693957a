/**
 * The embedded default (`node-role all`): ingress → intermediate → edge in one process, wired on loopback,
 * with no external service. Nodes start in tree order so each child's parent URL is known (ports may be 0).
 * Closing goes leaves first: edge, intermediate, ingress.
 */
import type { AllConfig } from '../common/config/index.js';
import type { Logger } from '../common/logging/index.js';
import { startEdge, type EdgeNode } from '../edge/main.js';
import { startIngress, type IngressNode } from '../ingress/main.js';
import { startIntermediate, type IntermediateNode } from '../intermediate/main.js';

export interface LocalNetwork {
  ingress: IngressNode;
  intermediate: IntermediateNode;
  edge: EdgeNode;
  close(): Promise<void>;
}

export async function startLocalNetwork(cfg: AllConfig, logger?: Logger, explicitParents = { intermediate: false, edge: false }): Promise<LocalNetwork> {
  const ingress = await startIngress(cfg.ingress, logger);
  let intermediate: IntermediateNode | undefined;
  try {
    const interCfg = explicitParents.intermediate ? cfg.intermediate : { ...cfg.intermediate, upstream: { ...cfg.intermediate.upstream, parents: [ingress.url] } };
    intermediate = await startIntermediate(interCfg, logger);
    const edgeCfg = explicitParents.edge ? cfg.edge : { ...cfg.edge, upstream: { ...cfg.edge.upstream, parents: [intermediate.url] } };
    const edge = await startEdge(edgeCfg, logger);
    const inter = intermediate;
    let closing: Promise<void> | undefined;
    return {
      ingress,
      intermediate: inter,
      edge,
      close: () =>
        (closing ??= (async () => {
          await edge.close();
          await inter.close();
          await ingress.close();
        })()),
    };
  } catch (err) {
    await intermediate?.close();
    await ingress.close();
    throw err;
  }
}
