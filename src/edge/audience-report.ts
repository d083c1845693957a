/**
 * The edge's audience reports for analytics (issue 16, ADR 0021): per stream, viewers by transport and the
 * viewers who began watching since the last report. A viewer is sent as a key, never as an address: the first
 * 64 bits of an HMAC of the address, keyed by the cluster secret and the UTC day. Every edge derives the same
 * key for the same address on the same day (so the hub counts a viewer who moves between edges once), the
 * keys of two days cannot be linked, and nothing the hub stores names a person.
 */
import { createHmac } from 'node:crypto';
import { MAX_AUDIENCE_KEYS, type EdgeToHub } from '../common/protocol/index.js';
import type { ViewerCounter } from './viewer-count.js';

type AudienceMessage = Extract<EdgeToHub, { t: 'audience' }>;

const DAY_MS = 86_400_000;

export class ViewerKeys {
  private day = -1;
  private salt: Buffer = Buffer.alloc(0);

  constructor(private readonly clusterSecret: string) {}

  key(address: string, now = Date.now()): string {
    const day = Math.floor(now / DAY_MS);
    if (day !== this.day) {
      this.day = day;
      this.salt = createHmac('sha256', this.clusterSecret).update(`tiercast-audience:${day}`).digest();
    }
    return createHmac('sha256', this.salt).update(address).digest('hex').slice(0, 16);
  }
}

/**
 * The messages of one report: usually one; more when more viewers joined than one message carries (each
 * stream's counts go in the first message that names it, and the keys fill messages in order); none while
 * the edge has no viewers (the hub takes a stream an edge stops naming as having none there).
 */
export function audienceMessages(
  counter: ViewerCounter,
  keys: ViewerKeys,
  region: string,
  now = Date.now(),
): AudienceMessage[] {
  const joined = counter.drainJoined();
  const messages: AudienceMessage[] = [{ t: 'audience', region, streams: {} }];
  let room = MAX_AUDIENCE_KEYS;
  for (const stream of new Set([...counter.streams(), ...joined.keys()])) {
    let m = messages[messages.length - 1]!;
    const entry = { transports: counter.byTransport(stream, now), joined: [] as string[] };
    m.streams[stream] = entry;
    for (const address of joined.get(stream) ?? []) {
      if (room === 0) {
        m = { t: 'audience', region, streams: {} };
        messages.push(m);
        room = MAX_AUDIENCE_KEYS;
        m.streams[stream] = { transports: entry.transports, joined: [] };
      }
      m.streams[stream].joined.push(keys.key(address, now));
      room--;
    }
  }
  return Object.keys(messages[0]!.streams).length === 0 ? [] : messages;
}
