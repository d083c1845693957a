/**
 * The input side of one ffmpeg run: what the transcoder writes to ffmpeg's stdin, and when (in legacy FLV
 * or Matroska, see input-muxers.ts; `source.container` chooses).
 * - StreamConfig keeps the publisher's onMetaData and AVC/AAC sequence headers for the whole publish, so
 *   a restarted ffmpeg can be started mid-stream.
 * - FlvInput (one per run) writes the container header, then holds everything back until the next video
 *   keyframe (the first audio frame for audio-only streams), sends the stored config just before it, and
 *   from then on passes tags through. It bounds memory when ffmpeg's stdin is jammed: above the ceiling,
 *   video is dropped until a keyframe can be written (audio only above twice the ceiling).
 * - The tags of one event-loop turn (an RTMP read often holds several, each written as two or three
 *   buffers) go to the pipe in one write: stdin is corked at the turn's first write and uncorked once the
 *   turn's synchronous work is done, so ffmpeg gets them at the same moment with one syscall.
 * - It records when each frame was received, keyed by media time relative to the run's first frame, so
 *   chunks can carry the wall-clock time their first frame reached ingress.
 */
import type { Writable } from 'node:stream';
import type { Logger } from '../../common/logging/index.js';
import {
  FLV_TAG_AUDIO,
  FLV_TAG_VIDEO,
  isEndOfSequence,
  isMetadataTag,
  isSequenceHeader,
  isVideoKeyframe,
  type FlvTag,
} from '../flv/flv-tag.js';
import { tryMediaPacket } from '../flv/media-packet.js';
import { FlvMuxer, MkvMuxer, type InputMuxer, type StoredConfig } from './input-muxers.js';
import type { SourceTracks } from './ladder.js';
import { normalizeMetadata } from './source-probe.js';
import { WallclockMap } from './wallclock-map.js';

export type TagKind = 'config' | 'media' | 'ignore';

export class StreamConfig implements StoredConfig {
  metadata: FlvTag | undefined;
  video: FlvTag | undefined;
  audio: FlvTag | undefined;
  audioSample: FlvTag | undefined;

  constructor(private readonly source: SourceTracks) {}

  /** Remembers config tags; says what the tag is to ffmpeg. */
  observe(tag: FlvTag): TagKind {
    if (tag.type === FLV_TAG_VIDEO && !this.source.hasVideo) return 'ignore';
    if (tag.type === FLV_TAG_AUDIO && !this.source.hasAudio) return 'ignore';
    if (isMetadataTag(tag)) {
      this.metadata = { ...tag, data: normalizeMetadata(tag.data) };
      return 'config';
    }
    // Other script data (cue points, |RtmpSampleAccess) means nothing to ffmpeg.
    if (tag.type !== FLV_TAG_AUDIO && tag.type !== FLV_TAG_VIDEO) return 'ignore';
    // Nor do Enhanced RTMP Metadata (colorInfo) and command frames: one flagged as a keyframe must not
    // pass for the start tag.
    if (tryMediaPacket(tag)?.kind === 'ignore') return 'ignore';
    if (isSequenceHeader(tag)) {
      if (tag.type === FLV_TAG_VIDEO) this.video = tag;
      else this.audio = tag;
      return 'config';
    }
    if (tag.type === FLV_TAG_AUDIO) this.audioSample ??= tag;
    return 'media';
  }

  /** As ffmpeg must see them before the first frame. */
  all(): FlvTag[] {
    return [this.metadata, this.video, this.audio].filter((t): t is FlvTag => t !== undefined);
  }
}

/** The part of ffmpeg's stdin this module needs (a fake in unit tests). */
export type FlvSink = Pick<Writable, 'write' | 'writable' | 'writableLength' | 'cork' | 'uncork'>;

export interface FlvInputOptions {
  stdin: FlvSink;
  source: SourceTracks;
  /** Bytes queued on stdin above which video is dropped until the next keyframe. */
  maxQueuedBytes: number;
  logger: Logger;
  /** Called with the run's first media frame, before it is written. */
  onFirstFrame(tag: FlvTag): void;
}

export class FlvInput {
  /** FLV timestamp of the first frame written: this run's media time 0. */
  baseTs: number | undefined;
  readonly maps = { video: new WallclockMap(), audio: new WallclockMap() };
  private waitingForStart = true;
  private skipping = false;
  private droppedVideo = 0;
  private droppedAudio = 0;
  private readonly muxer: InputMuxer;
  private corked = false;

  constructor(private readonly opts: FlvInputOptions) {
    this.muxer =
      opts.source.container === 'matroska'
        ? new MkvMuxer(opts.source, opts.logger)
        : new FlvMuxer(opts.source);
    const head = this.muxer.open();
    if (head) opts.stdin.write(head);
  }

  /** Whether media flows to ffmpeg (the start tag has been written). */
  get started(): boolean {
    return !this.waitingForStart;
  }

  write(tag: FlvTag, kind: TagKind, config: StreamConfig): void {
    if (kind === 'ignore' || !this.opts.stdin.writable) return;
    if (this.waitingForStart) {
      if (kind !== 'media' || !this.isStartTag(tag)) return; // config is sent with the start tag
      this.waitingForStart = false;
      this.send(() => this.muxer.start(config, tag));
    } else if (kind === 'config') {
      // Mid-stream config (e.g. a new resolution) goes straight through.
      this.send(() => this.muxer.config(tag, config));
      return;
    } else if (!this.admit(tag)) {
      return;
    }
    if (this.baseTs === undefined) {
      this.opts.onFirstFrame(tag);
      this.baseTs = tag.timestamp;
    }
    const map = tag.type === FLV_TAG_VIDEO ? this.maps.video : this.maps.audio;
    map.add(tag.timestamp - this.baseTs, tag.receivedAt);
    this.send(() => this.muxer.media(tag));
  }

  private isStartTag(tag: FlvTag): boolean {
    if (isEndOfSequence(tag)) return false;
    if (this.opts.source.hasVideo) return isVideoKeyframe(tag);
    return tag.type === FLV_TAG_AUDIO;
  }

  /** Backpressure: bounded memory when ffmpeg's stdin is jammed. */
  private admit(tag: FlvTag): boolean {
    const queued = this.opts.stdin.writableLength;
    const ceiling = this.opts.maxQueuedBytes;
    if (tag.type !== FLV_TAG_VIDEO) {
      if (queued <= 2 * ceiling) return true;
      this.droppedAudio++;
      return false;
    }
    if (queued > ceiling && !this.skipping) {
      this.skipping = true;
      this.opts.logger.warn(
        { queued, ceiling },
        'ffmpeg stdin jammed: dropping video until the next keyframe',
      );
    }
    if (!this.skipping) return true;
    if (isVideoKeyframe(tag) && queued <= ceiling) {
      this.skipping = false;
      this.opts.logger.info(
        { droppedVideo: this.droppedVideo, droppedAudio: this.droppedAudio },
        'ffmpeg stdin drained, resuming',
      );
      this.droppedVideo = 0;
      this.droppedAudio = 0;
      return true;
    }
    this.droppedVideo++;
    return false;
  }

  /** Corks stdin until the end of this turn's synchronous work (process.nextTick runs right after it). */
  private cork(): void {
    if (this.corked) return;
    this.corked = true;
    this.opts.stdin.cork();
    process.nextTick(() => {
      this.corked = false;
      this.opts.stdin.uncork();
    });
  }

  private send(bytes: () => Buffer | Buffer[] | undefined): void {
    try {
      const out = bytes();
      if (out === undefined) return;
      this.cork();
      for (const b of Array.isArray(out) ? out : [out]) this.opts.stdin.write(b);
    } catch (err) {
      this.opts.logger.warn({ err }, 'dropping a tag that cannot be written');
    }
  }
}
