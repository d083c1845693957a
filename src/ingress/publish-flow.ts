/**
 * One publish flow for every way of going live (RTMP, the browser's WebSocket ingest, ...): the stream key
 * is checked with the ingress's StreamerAuthorizer, the name claimed in discovery (exactly one ingress
 * carries a name), and a LiveStream begun. Refusals are TiercastErrors with a code and words for the
 * streamer; they are counted (`publishRejected`) and logged with the remote address, never the key.
 */
import { TiercastError, type ErrorCode } from '../common/errors/index.js';
import type { Logger } from '../common/logging/index.js';
import type { Metrics } from '../common/metrics/index.js';
import type { Discovery } from '../common/discovery/index.js';
import type { LiveStream } from './live-stream.js';
import type { PublishSink } from './rtmp/rtmp-server.js';
import type { StreamerAuthorizer, StreamerProfile } from './streamer-registry.js';

export interface PublishFlowDeps {
  streamers: StreamerAuthorizer;
  discovery: Pick<Discovery, 'claimStream'>;
  live: ReadonlyMap<string, LiveStream>;
  beginStream: (
    name: string,
    extra: Omit<StreamerProfile, 'name'>,
    onFailed?: (code: ErrorCode, description: string) => void,
  ) => LiveStream;
  metrics: Pick<Metrics, 'publishRejected'>;
  logger: Logger;
}

export interface PublishAttempt {
  /** The stream key: checked, never logged, never kept. */
  key: string;
  remoteAddress: string;
  /** Ends an accepted publish later with words for the streamer (unsupported codec, transcoder gave up). */
  onFailed(code: ErrorCode, description: string): void;
  /**
   * Called once the key is accepted, before the name is claimed: a transport may end its own earlier
   * publish of the same name here (a browser reconnecting before its old socket was noticed dead).
   */
  beforeClaim?(name: string): Promise<void>;
}

export type PublishFlow = (a: PublishAttempt) => Promise<{ name: string; sink: PublishSink }>;

export function createPublishFlow(deps: PublishFlowDeps): PublishFlow {
  const { streamers, discovery, live, metrics, logger } = deps;
  return async (a) => {
    let s: StreamerProfile;
    try {
      s = await streamers.authorize(a.key);
    } catch (err) {
      const code = err instanceof TiercastError ? err.code : 'BAD_STREAM_KEY';
      metrics.publishRejected.inc({ code });
      logger.warn({ remote: a.remoteAddress, code }, 'publish refused');
      throw err instanceof TiercastError ? err : new TiercastError('BAD_STREAM_KEY', 'invalid stream key');
    }
    await a.beforeClaim?.(s.name);
    // Exactly one ingress carries a name: the claim in discovery decides (static: always ours).
    let claimed: boolean;
    try {
      claimed = live.has(s.name) ? false : await discovery.claimStream(s.name);
    } catch (err) {
      metrics.publishRejected.inc({ code: 'UPSTREAM_UNAVAILABLE' });
      logger.warn(
        {
          remote: a.remoteAddress,
          stream: s.name,
          code: 'UPSTREAM_UNAVAILABLE',
          err: (err as Error).message,
        },
        'publish refused: cannot claim the stream',
      );
      throw new TiercastError('STREAM_ALREADY_LIVE', 'cannot confirm the stream is not live elsewhere', {
        stream: s.name,
      });
    }
    if (!claimed && !live.has(s.name)) {
      metrics.publishRejected.inc({ code: 'STREAM_ALREADY_LIVE' });
      logger.warn(
        { remote: a.remoteAddress, stream: s.name, code: 'STREAM_ALREADY_LIVE' },
        'publish refused: live on another ingress',
      );
      throw new TiercastError('STREAM_ALREADY_LIVE', 'stream is live on another ingress', { stream: s.name });
    }
    let stream: LiveStream;
    try {
      stream = deps.beginStream(s.name, s, (code, description) => a.onFailed(code, description));
    } catch (err) {
      metrics.publishRejected.inc({ code: 'STREAM_ALREADY_LIVE' });
      logger.warn(
        { remote: a.remoteAddress, stream: s.name, code: 'STREAM_ALREADY_LIVE' },
        'publish refused',
      );
      throw err;
    }
    logger.info({ remote: a.remoteAddress, stream: s.name }, 'publisher connected');
    return {
      name: s.name,
      sink: {
        onTag: (tag) => stream.onTag(tag),
        close: (reason) => void stream.close(`publisher left: ${reason}`),
      },
    };
  };
}
