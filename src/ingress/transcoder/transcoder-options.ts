/**
 * The Transcoder's options, events and policy constants (transcoder.ts holds the machinery).
 */
import type { TiercastError } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';
import type { MediaChunk, RenditionInfo } from '../../common/media.js';
import type { SourceTracks, TranscodeOptions } from './ladder.js';

export interface RestartPolicy {
  /** Consecutive failed runs tolerated before giving up with 'fatal'. */
  maxRestarts: number;
  /** First retry delay; doubles per consecutive failure, capped at MAX_BACKOFF_MS. */
  backoffMs: number;
}

export interface TranscoderStartOptions {
  stream: string;
  options: TranscodeOptions;
  logger: Logger;
  /** Default "ffmpeg" on PATH. */
  ffmpegPath?: string;
  restart: RestartPolicy;
  /** Which tracks the publisher sends (see probeSource); default both. */
  source?: SourceTracks;
  /**
   * Bytes queued for ffmpeg's stdin above which video is dropped until the next keyframe (audio above
   * twice this). Bounds memory when ffmpeg cannot keep up; 4 MiB is ~7 s of a 4.5 Mbit/s source.
   */
  maxStdinBufferBytes?: number;
  startupWindowMs?: number;
  killTimeoutMs?: number;
  /** Watchdog: no output for this long while fed media means ffmpeg is stuck. Default 5000 ms. */
  stallTimeoutMs?: number;
  /**
   * Continue the timeline of an earlier publish of the same stream (the publisher reconnected): same
   * availabilityStartTime, segment numbers after `nextSegment`, epoch after `epoch`. Players then cross the
   * gap as a discontinuity instead of reloading a new timeline.
   */
  continueTimeline?: {
    availabilityStartTime: number;
    endSeconds: number;
    nextSegment: number;
    epoch: number;
  };
}

export type TranscoderEvents = {
  /** A rendition's init segment, before its first chunk (again after a restart only if the bytes changed). */
  init: [rendition: RenditionInfo, init: Buffer];
  chunk: [chunk: MediaChunk];
  /** A new ffmpeg run is up after a crash; chunks from it belong to this epoch. */
  restart: [epoch: number];
  /** Gave up restarting; the transcoder closes itself. */
  fatal: [error: TiercastError];
};

export const STABLE_RUN_MS = 30_000;
export const MAX_BACKOFF_MS = 30_000;
export const DEFAULT_MAX_STDIN_BUFFER = 4 * 1024 * 1024;
export const DEFAULT_STALL_TIMEOUT_MS = 5000;
/** Failed runs tolerated before the first output ever: 3 runs that never decode the source say enough. */
export const STARTUP_MAX_RESTARTS = 2;
