/**
 * Web Push of go-live (issue 16, ADR 0021): a follower whose browser subscribed hears that a channel went live
 * with every tiercast page closed. The browser's push service (FCM, Mozilla autopush, Apple) holds the message
 * until the device is reachable; this hub signs each request with its VAPID key pair (RFC 8292) and encrypts
 * the payload for that browser alone (RFC 8291, aes128gcm), through the `web-push` library.
 *
 * An endpoint is an address a browser hands us, so it is a request-forgery target like a webhook's: it must be
 * https on a public address (target-url.ts), checked when stored and again at each push, and the request goes
 * to the addresses checked (pinned-post.ts). The push service's answer decides what happens next:
 * 404 or 410 (the browser unsubscribed, or the subscription expired) deletes it; any other failure is counted,
 * and a subscription that failed 10 go-lives in a row is deleted. A go-live is not retried: the push service
 * retries delivery itself for the TTL (10 minutes), and a late "is live" is worth less than none.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import webpush from 'web-push';
import type { Logger } from '../../common/logging/index.js';
import { errorMessage } from '../../common/errors/index.js';
import type { PushTarget, Store } from '../store/types.js';
import { checkTarget } from '../../common/net/target-url.js';
import { postPinned } from '../webhooks/pinned-post.js';

/** How long a push service keeps trying to deliver a go-live (seconds). */
export const GO_LIVE_TTL_S = 600;
/** Failed go-lives in a row after which a subscription is dropped. */
export const MAX_FAILURES = 10;
const TIMEOUT_MS = 10_000;
/** Pushes in flight at once (a channel with many followers' browsers). */
const CONCURRENCY = 8;

export interface PushConfig {
  enabled: boolean;
  subject?: string | undefined;
  allowPrivateEndpoints: boolean;
}

export interface GoLivePayload {
  title: string;
  body: string;
  url: string;
  tag: string;
  channel: string;
}

export interface WebPush {
  /** The VAPID public key browsers subscribe with (base64url), or undefined when push is off. */
  readonly publicKey: string | undefined;
  /**
   * Checks a browser's endpoint: undefined when acceptable, else why not, in words for any account (which
   * address a name resolves to is not told: it would map the hub's network for anyone who signs up).
   */
  checkEndpoint(endpoint: string): Promise<string | undefined>;
  /** Pushes a go-live to every subscribed browser of the channel's followers; how many were accepted. */
  goLive(channel: string, title: string): Promise<number>;
}

export function goLivePayload(channel: string, title: string): GoLivePayload {
  return {
    title: `${channel} is live`,
    body: title.slice(0, 140),
    url: `/watch/${encodeURIComponent(channel)}`,
    tag: `golive-${channel}`,
    // The service worker puts it in the title in the viewer's language (public/push-sw.js).
    channel,
  };
}

/** A push service replaces an undelivered message with a newer one of the same topic (≤ 32 base64url). */
function topicOf(channel: string): string {
  return `golive-${createHash('sha256').update(channel).digest('base64url').slice(0, 24)}`;
}

export function createWebPush(opts: { store: Store; config: PushConfig; logger: Logger }): WebPush {
  const { store, config, logger } = opts;
  if (!config.enabled) {
    return {
      publicKey: undefined,
      checkEndpoint: () => Promise.resolve('push is turned off on this site'),
      goLive: () => Promise.resolve(0),
    };
  }
  const keys = JSON.parse(
    store.settings.getOrCreate('vapid', () => JSON.stringify(webpush.generateVAPIDKeys())),
  ) as { publicKey: string; privateKey: string };
  const vapidDetails = {
    subject: config.subject ?? `mailto:tiercast@${hostname()}`,
    publicKey: keys.publicKey,
    privateKey: keys.privateKey,
  };
  const schemes = config.allowPrivateEndpoints ? ['https:', 'http:'] : ['https:'];
  const check = (endpoint: string) =>
    checkTarget(endpoint, { allowPrivate: config.allowPrivateEndpoints, schemes });

  const pushOne = async (t: PushTarget, payload: string, topic: string): Promise<boolean> => {
    const log = { subscription: t.id, pushService: safeOrigin(t.endpoint) };
    const target = await check(t.endpoint);
    if (!target.ok && !isTransient(target.reason)) {
      logger.warn(
        { ...log, code: 'PUSH_ENDPOINT_REFUSED', reason: target.reason },
        'push endpoint refused; dropped',
      );
      store.push.delete(t.id);
      return false;
    }
    let status = 0;
    if (!target.ok) {
      // A resolver hiccup says nothing about the subscription: counted like any failed push, not dropped.
      logger.warn({ ...log, reason: target.reason }, 'push not sent');
    } else {
      try {
        const req = webpush.generateRequestDetails(
          { endpoint: t.endpoint, keys: { p256dh: t.p256dh, auth: t.auth } },
          payload,
          { vapidDetails, TTL: GO_LIVE_TTL_S, urgency: 'high', topic, contentEncoding: 'aes128gcm' },
        );
        status = await postPinned(target.url, target.addresses, req.headers, req.body, TIMEOUT_MS);
      } catch (err) {
        logger.warn({ ...log, err: errorMessage(err) }, 'push not sent');
      }
    }
    if (status >= 200 && status < 300) {
      store.push.recordSuccess(t.id);
      return true;
    }
    if (status === 404 || status === 410) {
      logger.info({ ...log, status }, 'push subscription gone; dropped');
      store.push.delete(t.id);
      return false;
    }
    const failures = store.push.recordFailure(t.id);
    logger.warn({ ...log, status, failures }, 'push refused by the push service');
    if (failures >= MAX_FAILURES) {
      logger.warn({ ...log, failures }, 'push subscription failing; dropped');
      store.push.delete(t.id);
    }
    return false;
  };

  return {
    publicKey: keys.publicKey,
    async checkEndpoint(endpoint) {
      const r = await check(endpoint);
      if (r.ok) return undefined;
      return /resolves to/.test(r.reason) ? 'its host is not a public address' : r.reason;
    },
    async goLive(channel, title) {
      const targets = store.push.followersOf(channel);
      if (targets.length === 0) return 0;
      const payload = JSON.stringify(goLivePayload(channel, title));
      const topic = topicOf(channel);
      let next = 0;
      let accepted = 0;
      const worker = async () => {
        while (next < targets.length) if (await pushOne(targets[next++]!, payload, topic)) accepted++;
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, targets.length) }, worker));
      logger.info({ channel, browsers: targets.length, accepted }, 'go-live pushed');
      return accepted;
    },
  };
}

/** A check that failed on the resolver (the name did not resolve now), not on what the endpoint is. */
function isTransient(reason: string): boolean {
  return /does not resolve/.test(reason);
}

/** The push service's origin, for logs: an endpoint's path is the subscription's capability, never logged. */
function safeOrigin(endpoint: string): string {
  try {
    return new URL(endpoint).origin;
  } catch {
    return 'invalid';
  }
}
