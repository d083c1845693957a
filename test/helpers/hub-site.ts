/**
 * A hub with an edge in front of it (no relay tier: nothing here is live media) and a Chromium, for the
 * browser tests of the hub's pages: the dashboard, chat rules, the bell. Channel `cam` (key KEY) exists.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { KEY, startNetwork, startTestHub, type TestNetwork } from './network.js';
import { launchChromium } from './browser.js';
import type { HubNode } from '../../src/hub/main.js';

export interface HubSite {
  hub: HubNode;
  net: TestNetwork;
  browser: Browser;
  /** Page errors of every page opened with `newPage`. */
  errors: string[];
  /** A page in a context of its own (its own cookies), closed with the site. */
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/**
 * `ingressKeysFromHub`: the ingress has no static streamers, so a publish with KEY is checked by the hub (whose
 * answer carries what the hub keeps for the channel, such as its restream outputs).
 */
export async function startHubSite(
  hubConfig: Record<string, unknown> = {},
  opts: { ingressKeysFromHub?: boolean; edge?: Record<string, unknown> } = {},
): Promise<HubSite> {
  const hub = await startTestHub({ extra: hubConfig });
  hub.store.streamers.add({ name: 'cam', key: KEY, title: 'Test cam', category: 'Testing' });
  const net = await startNetwork({
    intermediates: 0,
    hub,
    ...(opts.ingressKeysFromHub ? { ingress: { streamers: [] } } : {}),
    ...(opts.edge ? { edge: opts.edge } : {}),
  });
  const browser = await launchChromium();
  const contexts: BrowserContext[] = [];
  const errors: string[] = [];
  return {
    hub,
    net,
    browser,
    errors,
    async newPage() {
      const ctx = await browser.newContext();
      contexts.push(ctx);
      const page = await ctx.newPage();
      page.on('pageerror', (e) => errors.push(e.message));
      return page;
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close();
      await net.close();
      await hub.close();
    },
  };
}
