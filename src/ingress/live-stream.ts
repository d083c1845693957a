/**
 * One live publish (from RTMP, WHIP, the browser socket or a local capture input; all hand it FLV tags,
 * Enhanced RTMP ones included): buffers the first tags until the source can be probed (size, tracks, and
 * whether a codec needs the Matroska input), starts a Transcoder, and publishes its renditions into the
 * stream's relay. close() is idempotent: it closes the transcoder (and so ffmpeg) and marks the stream offline.
 *
 * A track that begins after the transcoder started without it (a microphone that comes up late) restarts
 * the transcoder with it, continuing the timeline, rather than being dropped for the whole publish.
 *
 * The stream counts as live (`isLive`, `onLive`) only once every rendition has produced its first chunk:
 * a publish that never yields watchable media must not be listed. A codec the transcoder cannot take, a
 * malformed header or sequence header, a codec that changes mid-stream (checked on every audio/video tag)
 * and a transcoder that gives up end the stream through `onFailed`, with a description for the streamer,
 * right after `onClosed`.
 */
import type { TranscodeConfig, TranscodeMode } from '../common/config/index.js';
import { errorMessage, type ErrorCode } from '../common/errors/index.js';
import { callSafely } from '../common/events/safe-emitter.js';
import type { Logger } from '../common/logging/index.js';
import type { Metrics } from '../common/metrics/index.js';
import type { MediaChunk, RenditionInfo, StreamInfo } from '../common/media.js';
import { encodeMediaChunk } from '../common/protocol/index.js';
import type { StreamRelay } from '../common/relay/stream-relay.js';
import { FLV_TAG_AUDIO, FLV_TAG_VIDEO, isMetadataTag, type FlvTag } from './flv/flv-tag.js';
import { SUPPORTED_CODECS_TEXT, codecName, malformedTag, unsupportedCodec } from './flv/codecs.js';
import { isLegacyCodec, tryMediaPacket } from './flv/media-packet.js';
import { buildFfmpegPlan, canPassThrough, type SourceTracks } from './transcoder/ladder.js';
import { MAX_SOURCE_GOP_MS, passthroughSegmentMs } from './transcoder/source-gop.js';
import { Transcoder } from './transcoder/transcoder.js';

/** Tags buffered while waiting to learn the source's shape; ~3 s of a typical stream. */
const PROBE_MAX_TAGS = 300;
/** After the first keyframe, how long to wait for audio that metadata announced (its codec picks the container). */
const PROBE_AUDIO_WAIT_MS = 1000;
/** With passthrough the probe waits for the second keyframe (the GOP is the segment duration): ~10 s of tags. */
const PASSTHROUGH_PROBE_MAX_TAGS = 3000;
/**
 * And never more than this many bytes, whatever the tag count (10 s of a 20 Mbit/s source): a publisher's
 * huge frames cannot make the ingress hold an unbounded probe. Past it the probe ends with what it has.
 */
export const PROBE_MAX_BYTES = 24 * 1024 * 1024;

export interface LiveStreamOptions {
  name: string;
  relay: StreamRelay;
  transcode: TranscodeConfig;
  /** This publish's mode (the streamer's, else the ingress's `transcode.mode`). */
  transcodeMode?: TranscodeMode;
  logger: Logger;
  metrics: Metrics;
  /** Needs a viewing password: travels down the tree in StreamInfo so edges refuse media at once. */
  protected?: boolean;
  /** Called once when the stream ends for any reason (publisher left, transcoder gave up). */
  onClosed(reason: string): void;
  /** Called once when the first chunks are out: the stream can be watched. */
  onLive?(): void;
  /** Called (after onClosed) when the stream cannot go on; `description` is for the streamer. */
  onFailed?(code: ErrorCode, description: string): void;
}

export class LiveStream {
  private probeTags: FlvTag[] = [];
  private probeBytes = 0;
  private transcoder: Transcoder | undefined;
  private starting = false;
  private closed = false;
  private planned: string[] = [];
  private readonly inits = new Map<string, { info: RenditionInfo; data: Buffer }>();
  private pending: MediaChunk[] = [];
  /** The stream was announced (onLive): once per publish, whatever the transcoder restarts. */
  private live = false;
  /** The current transcoder's renditions are in the relay's info. */
  private published = false;
  /** The tracks the current transcoder was started with. */
  private tracks: SourceTracks = { hasAudio: false, hasVideo: false };
  /** The latest metadata and sequence header of each track, to start a new transcoder mid-stream. */
  private readonly configTags = new Map<string, FlvTag>();
  /** Transcoders replaced by restartWithNewTrack, still stopping. */
  private readonly retiring: Promise<void>[] = [];
  private speedTimer: NodeJS.Timeout | undefined;
  /** The codec of each track, fixed by its first packet: a change ends the publish (CODEC_CHANGED). */
  private readonly codecs: { video?: string; audio?: string } = {};
  private keyframeAt: number | undefined;
  /** FLV timestamps of the video keyframes seen while probing (passthrough measures the GOP from them). */
  private readonly probeKeyframes: number[] = [];
  private container: 'flv' | 'matroska' = 'flv';
  private segmentDurationMs: number;
  /** With the Source rendition on: when the last video keyframe arrived (the NO_KEYFRAMES watchdog). */
  private lastKeyframeAt = 0;
  private keyframeTimer: NodeJS.Timeout | undefined;

  private get mode(): TranscodeMode {
    return this.opts.transcodeMode ?? this.opts.transcode.mode;
  }

  constructor(private readonly opts: LiveStreamOptions) {
    this.segmentDurationMs = opts.transcode.segmentDurationMs;
  }

  get isLive(): boolean {
    return this.live && !this.closed;
  }

  onTag(tag: FlvTag): void {
    if (this.closed) return;
    const codec = unsupportedCodec(tag);
    if (codec !== undefined) {
      this.opts.logger.warn(
        { stream: this.opts.name, code: 'UNSUPPORTED_CODEC', codec },
        'publish refused: unsupported codec',
      );
      this.fail('UNSUPPORTED_CODEC', `Unsupported codec ${codec}: publish ${SUPPORTED_CODECS_TEXT}`);
      return;
    }
    const malformed = malformedTag(tag);
    if (malformed !== undefined) {
      this.opts.logger.warn(
        { stream: this.opts.name, code: 'MALFORMED_MEDIA_TAG', reason: malformed },
        'publish refused: malformed media',
      );
      this.fail(
        'MALFORMED_MEDIA_TAG',
        `The encoder sent a ${malformed}; check its settings and publish again`,
      );
      return;
    }
    const packet = tryMediaPacket(tag);
    if (packet && (packet.kind === 'config' || packet.kind === 'frame')) {
      const first = this.codecs[packet.track];
      if (first === undefined) {
        this.codecs[packet.track] = packet.codec;
      } else if (first !== packet.codec) {
        const [from, to] = [codecName(first), codecName(packet.codec)];
        this.opts.logger.warn(
          { stream: this.opts.name, code: 'CODEC_CHANGED', track: packet.track, from, to },
          'publish ended: codec changed mid-stream',
        );
        this.fail(
          'CODEC_CHANGED',
          `The ${packet.track} codec changed mid-stream from ${from} to ${to}; publish again to switch codecs`,
        );
        return;
      }
    }
    if (packet?.kind === 'config' || isMetadataTag(tag))
      this.configTags.set(packet?.track ?? 'metadata', tag);
    if (this.transcoder && this.lacksTrack()) this.restartWithNewTrack(tag);
    const keyframe = packet?.kind === 'frame' && packet.track === 'video' && packet.keyframe;
    if (this.transcoder) {
      if (keyframe) this.lastKeyframeAt = tag.receivedAt;
      this.transcoder.write(tag);
      return;
    }
    this.probeTags.push(tag);
    this.probeBytes += tag.data.length;
    if (keyframe) {
      this.keyframeAt ??= tag.receivedAt;
      this.probeKeyframes.push(tag.timestamp);
    }
    if (!this.starting && this.probeDone(tag)) void this.startTranscoder();
  }

  /**
   * Enough tags to start: a video keyframe, and the first audio tag if metadata announced audio (its codec
   * decides between FLV and Matroska), waited for at most PROBE_AUDIO_WAIT_MS; or PROBE_MAX_TAGS tags.
   */
  private probeDone(last: FlvTag): boolean {
    if (this.probeBytes >= PROBE_MAX_BYTES) return true;
    if (this.wantsSourceGop()) {
      // Passthrough: the segment duration is the source's GOP, so wait for the second keyframe.
      if (this.probeTags.length >= PASSTHROUGH_PROBE_MAX_TAGS) return true;
      if (this.keyframeAt === undefined) return false;
      return this.probeKeyframes.length >= 2 || last.receivedAt - this.keyframeAt > MAX_SOURCE_GOP_MS;
    }
    if (this.probeTags.length >= PROBE_MAX_TAGS) return true;
    if (this.keyframeAt === undefined) return false;
    if (this.codecs.audio !== undefined || last.receivedAt - this.keyframeAt >= PROBE_AUDIO_WAIT_MS)
      return true;
    return !Transcoder.probeSource(this.probeTags.filter((t) => t.type === 18)).hasAudio;
  }

  /** A track has begun that the running transcoder was started without (a microphone that starts late). */
  private lacksTrack(): boolean {
    return (
      (this.codecs.audio !== undefined && !this.tracks.hasAudio) ||
      (this.codecs.video !== undefined && !this.tracks.hasVideo)
    );
  }

  /**
   * A track began after the transcoder started (a browser's microphone often starts after its picture, an
   * encoder's audio source may come up late): rather than drop it for the whole publish, the stream goes
   * through the probe again with the stored headers and a new transcoder continues the timeline with the
   * new track, as a publisher's reconnect does. Viewers see one discontinuity (a pause of at most a
   * keyframe interval); the stream stays live and listed throughout.
   */
  private restartWithNewTrack(current?: FlvTag): void {
    const old = this.transcoder!;
    this.opts.logger.info(
      { stream: this.opts.name, codecs: { ...this.codecs }, had: this.tracks },
      'a track began after the stream started: restarting the transcoder with it',
    );
    this.transcoder = undefined;
    this.starting = false;
    this.published = false;
    this.inits.clear();
    this.pending = [];
    this.stopTimers();
    // Its ffmpeg is told to stop now; close() waits for it too, so no process outlives the stream.
    this.retiring.push(old.close());
    this.keyframeAt = undefined;
    this.probeKeyframes.length = 0;
    this.probeTags = [...this.configTags.values()].filter((t) => t !== current);
    this.probeBytes = this.probeTags.reduce((n, t) => n + t.data.length, 0);
  }

  private stopTimers(): void {
    if (this.speedTimer) clearInterval(this.speedTimer);
    if (this.keyframeTimer) clearInterval(this.keyframeTimer);
    this.speedTimer = this.keyframeTimer = undefined;
  }

  /** Passthrough wanted and the video is H.264 (the only codec passed through): the GOP must be measured. */
  private wantsSourceGop(): boolean {
    return this.mode !== 'ladder' && this.codecs.video === 'avc1';
  }

  private async startTranscoder(): Promise<void> {
    this.starting = true;
    const { name, transcode, logger, metrics } = this.opts;
    const source = Transcoder.probeSource(this.probeTags);
    // Matroska as soon as a track is in a codec legacy FLV cannot carry to ffmpeg 5.1.
    this.container = this.probeTags.some((t) => {
      const p = tryMediaPacket(t);
      return p !== undefined && p.kind !== 'ignore' && !isLegacyCodec(p);
    })
      ? 'matroska'
      : 'flv';
    // A track counts once a tag of it has arrived: one that metadata announced but that has not begun by
    // the end of the probe joins later (restartWithNewTrack) instead of holding ffmpeg's output.
    const seen = (type: number) => this.probeTags.some((t) => t.type === type);
    const tracks = (this.tracks = {
      hasAudio: source.hasAudio && seen(FLV_TAG_AUDIO),
      hasVideo: source.hasVideo && seen(FLV_TAG_VIDEO),
      container: this.container,
      ...(this.codecs.video !== undefined ? { videoCodec: this.codecs.video } : {}),
    });
    const passthrough = this.choosePassthrough(tracks, source.frameRate);
    if (passthrough === 'failed') return;
    if (passthrough) this.segmentDurationMs = passthrough.segmentDurationMs;
    const options = {
      ladder: transcode.ladder,
      audioBitrateKbps: transcode.audioBitrateKbps,
      segmentDurationMs: this.segmentDurationMs,
      chunkDurationMs: transcode.chunkDurationMs,
      preset: transcode.preset,
      decodeThreads: transcode.decodeThreads,
      sourceHeight: source.height,
      ...(passthrough
        ? {
            passthrough: true,
            videoTranscodeOff: this.mode === 'off',
            ...(source.videoBitrateKbps !== undefined
              ? { sourceBitrateKbps: Math.round(source.videoBitrateKbps) }
              : {}),
          }
        : {}),
    };
    try {
      this.planned = buildFfmpegPlan(options, tracks).outputs.map((o) => o.rendition);
      const t = await Transcoder.start({
        continueTimeline: this.previousTimeline(),
        stream: name,
        options,
        source: tracks,
        logger,
        ffmpegPath: transcode.ffmpegPath,
        restart: { maxRestarts: transcode.maxRestarts, backoffMs: transcode.restartBackoffMs },
        stallTimeoutMs: transcode.stallTimeoutMs,
      });
      if (this.closed) {
        await t.close();
        return;
      }
      this.transcoder = t;
      t.on('init', (info, data) => this.onInit(info, data));
      t.on('chunk', (c) => this.onChunk(c));
      t.on('restart', (epoch) => {
        metrics.ffmpegRestarts.inc({ stream: name });
        logger.warn({ stream: name, epoch }, 'transcoder restarted; stream continues');
        if (this.published) this.publishInfo(epoch);
      });
      t.on('fatal', (err) => {
        logger.error({ stream: name, code: err.code, err: err.message }, 'transcoder gave up');
        this.fail(
          err.code,
          'The stream could not be transcoded; check the encoder settings and publish again',
        );
      });
      this.speedTimer = setInterval(() => {
        if (t.speed !== undefined) metrics.ffmpegSpeed.set({ stream: name }, t.speed);
      }, 2000);
      this.speedTimer.unref();
      if (passthrough) this.watchKeyframes();
      const tags = this.probeTags;
      this.probeTags = [];
      this.probeBytes = 0;
      for (const tag of tags) t.write(tag);
      // A track that began while ffmpeg was starting.
      if (this.lacksTrack()) this.restartWithNewTrack();
    } catch (err) {
      logger.error(
        { stream: name, code: 'TRANSCODER_START_FAILED', err: errorMessage(err) },
        'transcoder failed to start',
      );
      this.fail('TRANSCODER_START_FAILED', 'The stream could not be transcoded right now; try again shortly');
    }
  }

  /**
   * Whether this publish gets the Source rendition, and its segment duration (the source's GOP). A source
   * that is not H.264 is transcoded to the ladder whatever the mode (browsers cannot all play HEVC/AV1);
   * a keyframe interval that cannot be a segment (none within MAX_SOURCE_GOP_MS, or shorter than a chunk)
   * drops Source with a warning, or, with transcoding off (nothing else to show), ends the publish.
   */
  private choosePassthrough(
    tracks: { hasAudio: boolean; hasVideo: boolean; container: 'flv' | 'matroska'; videoCodec?: string },
    frameRate: number | undefined,
  ): { segmentDurationMs: number } | false | 'failed' {
    const { logger, name, transcode } = this.opts;
    if (this.mode === 'ladder') return false;
    if (!canPassThrough(tracks)) {
      logger.info(
        { stream: name, mode: this.mode, codec: this.codecs.video },
        'Source quality needs H.264: this publish is transcoded to the ladder',
      );
      return false;
    }
    const [k0, k1] = this.probeKeyframes;
    const gap = k0 !== undefined && k1 !== undefined ? k1 - k0 : Infinity;
    const segmentDurationMs = passthroughSegmentMs(gap, transcode.chunkDurationMs, frameRate);
    if (segmentDurationMs !== undefined) {
      logger.info({ stream: name, mode: this.mode, segmentDurationMs, gapMs: gap }, 'Source quality on');
      return { segmentDurationMs };
    }
    const why =
      gap === Infinity
        ? `no second keyframe within ${MAX_SOURCE_GOP_MS / 1000} s or ${PROBE_MAX_BYTES / 1024 / 1024} MiB`
        : `keyframes ${gap} ms apart`;
    logger.warn(
      {
        stream: name,
        code: 'KEYFRAME_INTERVAL_UNSUPPORTED',
        mode: this.mode,
        gapMs: gap === Infinity ? null : gap,
        probedBytes: this.probeBytes,
      },
      `Source quality off: ${why}`,
    );
    if (this.mode === 'off') {
      this.fail(
        'KEYFRAME_INTERVAL_UNSUPPORTED',
        `Source quality needs a keyframe at least every ${MAX_SOURCE_GOP_MS / 1000} s (found ${why}): set the encoder's keyframe interval to 1 or 2 s and publish again`,
      );
      return 'failed';
    }
    return false;
  }

  /** With Source on, a source without keyframes cannot be segmented: end it after `noKeyframeTimeoutMs`. */
  private watchKeyframes(): void {
    const limitMs = this.opts.transcode.noKeyframeTimeoutMs;
    this.lastKeyframeAt = Date.now();
    this.keyframeTimer = setInterval(
      () => {
        if (Date.now() - this.lastKeyframeAt < limitMs) return;
        this.opts.logger.warn(
          { stream: this.opts.name, code: 'NO_KEYFRAMES', limitMs },
          'publish ended: no keyframe with Source quality on',
        );
        this.fail(
          'NO_KEYFRAMES',
          `No keyframe from the encoder for ${limitMs / 1000} s: set its keyframe interval to 1 or 2 s and publish again`,
        );
      },
      Math.min(1000, limitMs / 4),
    );
    this.keyframeTimer.unref();
  }

  /**
   * A publisher that reconnects continues its stream's timeline (same availabilityStartTime, later segment
   * numbers), so players cross the gap as a discontinuity instead of reloading.
   */
  private previousTimeline():
    { availabilityStartTime: number; endSeconds: number; nextSegment: number; epoch: number } | undefined {
    const relay = this.opts.relay;
    const info = relay.info;
    if (!info || info.segmentDurationMs !== this.segmentDurationMs) return undefined;
    let endSeconds = 0;
    let nextSegment = 0;
    for (const r of info.renditions) {
      const last = relay.renditions.get(r.id)?.last;
      if (!last) continue;
      endSeconds = Math.max(endSeconds, (last.decodeTime + last.duration) / r.timescale);
      nextSegment = Math.max(nextSegment, last.segment + 1);
    }
    if (nextSegment === 0) return undefined;
    return { availabilityStartTime: info.availabilityStartTime, endSeconds, nextSegment, epoch: info.epoch };
  }

  private onInit(info: RenditionInfo, data: Buffer): void {
    this.inits.set(info.id, { info, data });
    if (this.published) this.opts.relay.setInit(info.id, data);
    else this.maybeGoLive();
  }

  private onChunk(c: MediaChunk): void {
    if (!this.published) {
      this.pending.push(c);
      this.maybeGoLive();
      return;
    }
    this.pushChunk(c);
  }

  private pushChunk(c: MediaChunk): void {
    const frame = encodeMediaChunk(c);
    const r = this.opts.relay.push(c, frame);
    if (r === 'ok' || r === 'gap') {
      this.opts.metrics.chunksRelayed.inc({ stream: c.stream });
      this.opts.metrics.bytesIn.inc({ stream: c.stream }, frame.length);
    } else {
      this.opts.metrics.chunksDropped.inc({ stream: c.stream, reason: r });
    }
  }

  /** The stream goes live once every planned rendition has its init segment. */
  private maybeGoLive(): void {
    if (this.published || !this.transcoder || this.planned.some((id) => !this.inits.has(id))) return;
    this.published = true;
    this.publishInfo(this.transcoder.epoch);
    const pending = this.pending;
    this.pending = [];
    for (const c of pending) this.pushChunk(c);
    if (this.live) return;
    this.live = true;
    this.opts.logger.info({ stream: this.opts.name, renditions: this.planned }, 'stream is live');
    callSafely(this.opts.logger, 'onLive listener threw', {}, () => this.opts.onLive?.());
  }

  /** Ends the stream for a reason the streamer must hear about (once; later failures are moot). */
  private fail(code: ErrorCode, description: string): void {
    if (this.closed) return;
    void this.close(`failed: ${code}`);
    callSafely(this.opts.logger, 'onFailed listener threw', {}, () =>
      this.opts.onFailed?.(code, description),
    );
  }

  private publishInfo(epoch: number): void {
    const t = this.transcoder!;
    const info: StreamInfo = {
      name: this.opts.name,
      availabilityStartTime: t.availabilityStartTime ?? Date.now(),
      segmentDurationMs: this.segmentDurationMs,
      chunkDurationMs: this.opts.transcode.chunkDurationMs,
      epoch,
      renditions: this.planned.map((id) => this.inits.get(id)!.info),
      ...(this.opts.protected ? { protected: true } : {}),
    };
    this.opts.relay.start(info);
    for (const id of this.planned) this.opts.relay.setInit(id, this.inits.get(id)!.data);
  }

  get transcoderPid(): number | undefined {
    return this.transcoder?.pid;
  }

  close(reason: string): Promise<void> {
    if (this.closed) return this.closing ?? Promise.resolve();
    this.closed = true;
    this.stopTimers();
    // A stream that ended must not keep a stale speed (it would hold the slow-transcoder alert).
    this.opts.metrics.ffmpegSpeed.remove({ stream: this.opts.name });
    this.probeTags = [];
    this.probeBytes = 0;
    this.pending = [];
    const t = this.transcoder;
    this.transcoder = undefined;
    this.closing = Promise.all([t?.close(), ...this.retiring]).then(() => {});
    this.opts.relay.end(reason);
    this.opts.onClosed(reason);
    return this.closing;
  }

  private closing: Promise<void> | undefined;
}
