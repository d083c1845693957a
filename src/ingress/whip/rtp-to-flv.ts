/**
 * WHIP media → the ingress's FLV tags (the one internal representation, see docs/architecture.md):
 * H.264 access units as legacy AVC tags (an AVCDecoderConfigurationRecord built from the SPS/PPS seen
 * in-band, sent again when they change; NAL units 4-byte length-prefixed; keyframe = IDR; composition
 * time 0, WebRTC senders use no B-frames) and Opus packets as Enhanced RTMP ex-audio tags (FourCC 'Opus',
 * a SequenceStart carrying an OpusHead built from the SDP), after an onMetaData naming the tracks. Pure.
 *
 * Time: the video's RTP clock (90 kHz) from its first keyframe, which is 0 ms; audio joins that timeline
 * at its arrival time relative to that keyframe and then follows its own 48 kHz clock.
 */
import {
  FLV_TAG_AUDIO,
  FLV_TAG_SCRIPT,
  FLV_TAG_VIDEO,
  fourccCodecId,
  onMetaDataBody,
  type FlvTag,
} from '../flv/flv-tag.js';
import { nalType, type AccessUnit } from './h264-rtp.js';

const NAL_SPS = 7;
const NAL_PPS = 8;
const NAL_AUD = 9;

/** AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1) for one SPS and one PPS. */
export function avcDecoderConfig(sps: Buffer, pps: Buffer): Buffer {
  const head = Buffer.from([1, sps[1]!, sps[2]!, sps[3]!, 0xff, 0xe1]);
  const spsLen = Buffer.alloc(2);
  spsLen.writeUInt16BE(sps.length);
  const ppsLen = Buffer.alloc(3);
  ppsLen[0] = 1;
  ppsLen.writeUInt16BE(pps.length, 1);
  return Buffer.concat([head, spsLen, sps, ppsLen, pps]);
}

/** OpusHead (RFC 7845 5.1): version 1, channels, pre-skip 0, 48 kHz, gain 0, mapping family 0. */
export function opusHead(channels: number): Buffer {
  const b = Buffer.alloc(19);
  b.write('OpusHead', 0, 'latin1');
  b[8] = 1;
  b[9] = channels;
  b.writeUInt16LE(0, 10);
  b.writeUInt32LE(48000, 12);
  b.writeInt16LE(0, 16);
  b[18] = 0;
  return b;
}

/**
 * onMetaData (AMF0: the name, then an ECMA array) naming the tracks, as an RTMP encoder sends it first: the
 * LiveStream waits for the first audio tag when metadata announces audio (its codec picks the container).
 */
export function metadataTag(audio: boolean): Buffer {
  return onMetaDataBody(
    audio ? { videocodecid: 7, audiocodecid: fourccCodecId('Opus') } : { videocodecid: 7 },
  );
}

/** Unwraps a 32-bit RTP timestamp into a count of ticks since the first one given. */
export class RtpClock {
  private first: number | undefined;
  private last = 0;

  ticks(timestamp: number): number {
    if (this.first === undefined) {
      this.first = timestamp;
      this.last = 0;
      return 0;
    }
    const prev = (this.first + this.last) >>> 0;
    const delta = ((timestamp - prev + 0x80000000) >>> 0) - 0x80000000;
    this.last += delta;
    return this.last;
  }
}

function lengthPrefixed(nalus: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const n of nalus) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(n.length);
    parts.push(len, n);
  }
  return Buffer.concat(parts);
}

export class WhipTagWriter {
  private readonly videoClock = new RtpClock();
  private readonly audioClock = new RtpClock();
  private config: Buffer | undefined;
  private sps: Buffer | undefined;
  private pps: Buffer | undefined;
  /** Date.now() of the first keyframe: 0 ms of the timeline. */
  private startedAt: number | undefined;
  private audioOffsetMs: number | undefined;
  private lastVideoMs = 0;
  private lastAudioMs = -1;

  constructor(private readonly audio: { channels: number } | undefined) {}

  /** Whether a keyframe with its SPS and PPS has been turned into tags (the timeline has begun). */
  get started(): boolean {
    return this.startedAt !== undefined;
  }

  /**
   * Tags for one access unit: the sequence header first when the SPS/PPS are new. Empty when nothing can
   * be decoded yet (no SPS/PPS seen before the first keyframe): the caller asks for a keyframe.
   */
  video(au: AccessUnit, now: number): FlvTag[] {
    for (const n of au.nalus) {
      if (nalType(n) === NAL_SPS) this.sps = n;
      else if (nalType(n) === NAL_PPS) this.pps = n;
    }
    const tags: FlvTag[] = [];
    if (this.startedAt === undefined && !au.keyframe) return tags;
    if (!this.sps || !this.pps || this.sps.length < 4) return tags;
    const frame = au.nalus.filter((n) => {
      const t = nalType(n);
      return t !== NAL_SPS && t !== NAL_PPS && t !== NAL_AUD;
    });
    if (frame.length === 0) return tags;
    if (this.startedAt === undefined) {
      this.startedAt = now;
      tags.push({
        type: FLV_TAG_SCRIPT,
        timestamp: 0,
        data: metadataTag(this.audio !== undefined),
        receivedAt: now,
      });
    }
    const ms = Math.max(this.lastVideoMs, Math.round((this.videoClock.ticks(au.timestamp) * 1000) / 90000));
    this.lastVideoMs = ms;
    const config = avcDecoderConfig(this.sps, this.pps);
    if (!this.config || !config.equals(this.config)) {
      this.config = config;
      tags.push({
        type: FLV_TAG_VIDEO,
        timestamp: ms,
        data: Buffer.concat([Buffer.from([0x17, 0, 0, 0, 0]), config]),
        receivedAt: now,
      });
    }
    const header = Buffer.from([au.keyframe ? 0x17 : 0x27, 1, 0, 0, 0]);
    tags.push({
      type: FLV_TAG_VIDEO,
      timestamp: ms,
      data: Buffer.concat([header, lengthPrefixed(frame)]),
      receivedAt: now,
    });
    return tags;
  }

  /** Tags for one Opus packet (its RTP timestamp, 48 kHz); none before the video's first keyframe. */
  opus(timestamp: number, payload: Buffer, now: number): FlvTag[] {
    if (!this.audio || this.startedAt === undefined || payload.length === 0) return [];
    const tags: FlvTag[] = [];
    const ticks = this.audioClock.ticks(timestamp);
    if (this.audioOffsetMs === undefined) {
      this.audioOffsetMs = now - this.startedAt;
      tags.push({
        type: FLV_TAG_AUDIO,
        timestamp: this.audioOffsetMs,
        data: Buffer.concat([
          Buffer.from([0x90]),
          Buffer.from('Opus', 'latin1'),
          opusHead(this.audio.channels),
        ]),
        receivedAt: now,
      });
    }
    const ms = this.audioOffsetMs + Math.round((ticks * 1000) / 48000);
    if (ms <= this.lastAudioMs) return tags; // reordered or repeated: Opus packets are not waited for
    this.lastAudioMs = ms;
    tags.push({
      type: FLV_TAG_AUDIO,
      timestamp: ms,
      data: Buffer.concat([Buffer.from([0x91]), Buffer.from('Opus', 'latin1'), payload]),
      receivedAt: now,
    });
    return tags;
  }
}
