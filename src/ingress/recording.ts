/**
 * Recording at the ingress (issue 15, ADR 0019): with `recording.enabled`, each live stream's relay gets a
 * StreamRecorder as a subscriber, writing through one WriteQueue to the configured storage. Storage is
 * checked at start-up (a wrong directory, bucket or credential stops the ingress with STORAGE_UNAVAILABLE);
 * later trouble is logged, counted and retried, and never reaches the live path.
 */
import type { IngressConfig, StreamerRecording } from '../common/config/index.js';
import { errorMessage } from '../common/errors/index.js';
import type { Logger } from '../common/logging/index.js';
import { createLogRateLimiter } from '../common/logging/rate-limit.js';
import type { Metrics } from '../common/metrics/index.js';
import { StreamRecorder, type StreamRecorderOptions } from '../common/recording/stream-recorder.js';
import type { StreamRelay } from '../common/relay/stream-relay.js';
import { openObjectStore } from '../common/storage/open-store.js';
import { WriteQueue } from '../common/storage/write-queue.js';

export interface RecordedStream {
  /** Stops recording (the relay's end has ended the broadcast already). */
  detach(): void;
  /** A still of the stream: the broadcast's thumbnail. */
  thumbnail(jpeg: Buffer): void;
}

export interface Recording {
  /**
   * Records the stream from its next description on; `events` hears the broadcast's start and end. The
   * streamer's `choice` (from the hub or the static list) overrides `recording.renditions`; `off`: nothing is
   * recorded (undefined).
   */
  record(
    stream: string,
    relay: StreamRelay,
    events?: StreamRecorderOptions['events'],
    choice?: StreamerRecording,
  ): RecordedStream | undefined;
  /** Waits (at most `timeoutMs`) for what is queued, then stops. */
  close(timeoutMs?: number): Promise<void>;
}

export async function startRecording(
  config: IngressConfig['recording'],
  logger: Logger,
  metrics: Metrics,
): Promise<Recording | undefined> {
  if (!config.enabled) return undefined;
  const store = openObjectStore(config.storage);
  try {
    await store.check();
  } catch (err) {
    store.close();
    throw err;
  }
  const trouble = createLogRateLimiter(logger, {
    maxPerWindow: 1,
    windowMs: 10_000,
    what: 'repeated recording write failures',
    level: 'warn',
  });
  const queue = new WriteQueue({
    store,
    maxQueuedBytes: config.maxQueuedBytes,
    concurrency: config.concurrency,
    retryInitialMs: 250,
    retryMaxMs: 10_000,
    onWritten: (_key, bytes) => {
      metrics.recordingBytes.inc(bytes);
      metrics.recordingQueued.set(queue.pendingBytes);
    },
    onFailed: (key, err, retryInMs) => {
      metrics.recordingFailures.inc();
      if (trouble.allow('failed'))
        logger.warn(
          { code: 'STORAGE_UNAVAILABLE', key, retryInMs, err: errorMessage(err) },
          'recording write failed; retrying (the live stream is not affected)',
        );
    },
    onRefused: (key, bytes) => {
      metrics.recordingRefused.inc();
      if (trouble.allow('refused'))
        logger.error(
          { code: 'STORAGE_UNAVAILABLE', key, bytes, queued: queue.pendingBytes },
          'recording storage is too far behind: this part of the recording is lost',
        );
    },
  });
  logger.info({ storage: config.storage.kind, renditions: config.renditions }, 'recording live streams');
  return {
    record(stream, relay, events, choice) {
      if (choice === 'off') {
        logger.info({ stream }, 'not recorded: the streamer turned recording off');
        return undefined;
      }
      const recorder = new StreamRecorder({
        stream,
        queue,
        renditions: choice ?? config.renditions,
        logger,
        events,
      });
      relay.listen(recorder);
      return {
        detach: () => relay.detach(recorder),
        thumbnail: (jpeg) => recorder.onThumbnail(jpeg),
      };
    },
    async close(timeoutMs = 5000) {
      await Promise.race([queue.flush(), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
      queue.close();
      trouble.close();
      store.close();
    },
  };
}
