/**
 * A WebM byte stream (a browser's MediaRecorder) → the ingress's FLV tags (ADR 0009: every input becomes
 * FLV tags, Enhanced RTMP where legacy FLV lacks the codec). Pure: bytes in, tags out.
 *
 * - onMetaData first, naming the tracks and the picture size (the LiveStream waits for announced audio).
 * - H.264 (V_MPEG4/ISO/AVC): legacy AVC tags. With a CodecPrivate (avcC) the blocks are length-prefixed
 *   NAL units as Matroska specifies; Chromium's MediaRecorder writes none and puts Annex B access units
 *   (start codes, SPS/PPS in-band) in the blocks, so then the record is built from the in-band SPS/PPS
 *   (sent again when they change) and the NAL units are re-prefixed with 4-byte lengths.
 * - VP8, VP9, AV1: Enhanced RTMP ex-video ('vp08', 'vp09', 'av01'); a SequenceStart (a VP codec record,
 *   or AV1's CodecPrivate, which is its av1C) then CodedFrames.
 * - Opus: Enhanced RTMP ex-audio 'Opus', SequenceStart with the OpusHead from CodecPrivate.
 * Block times are presentation times; MediaRecorder's encoders use no B-frames, so they are taken as the
 * decode times with a composition offset of 0. Video frames wait for the first keyframe.
 */
import {
  FLV_TAG_AUDIO,
  FLV_TAG_SCRIPT,
  FLV_TAG_VIDEO,
  fourccCodecId,
  onMetaDataBody,
  type FlvTag,
} from '../flv/flv-tag.js';
import { avcDecoderConfig, opusHead } from '../whip/rtp-to-flv.js';
import { MkvReader, type MkvEvent, type MkvReaderLimits, type MkvTrackInfo } from './mkv-reader.js';

const NAL_SPS = 7;
const NAL_PPS = 8;
const NAL_AUD = 9;

/** onMetaData with the track codecs (Enhanced RTMP: a FourCC read as a number) and picture size. */
function metadata(video: MkvTrackInfo | undefined, audio: MkvTrackInfo | undefined): Buffer {
  const props: Record<string, number> = {};
  if (video) {
    props.videocodecid = video.codec === 'avc1' ? 7 : fourccCodecId(video.codec);
    if (video.width && video.height) Object.assign(props, { width: video.width, height: video.height });
  }
  if (audio) props.audiocodecid = fourccCodecId(audio.codec);
  return onMetaDataBody(props);
}

/** VPCodecConfigurationRecord (8-bit 4:2:0, BT.709, no init data): what Enhanced RTMP's SequenceStart carries. */
const VP_CONFIG = Buffer.from([0, 0, 0x82, 1, 1, 1, 0, 0]);

/** The NAL units of an Annex B access unit, or undefined when it does not start with a start code. */
export function annexBNalus(b: Buffer): Buffer[] | undefined {
  const starts = b.length >= 4 && b[0] === 0 && b[1] === 0 && (b[2] === 1 || (b[2] === 0 && b[3] === 1));
  if (!starts) return undefined;
  const nalus: Buffer[] = [];
  let begin = -1;
  for (let i = 0; i + 2 < b.length; i++) {
    if (b[i] === 0 && b[i + 1] === 0 && b[i + 2] === 1) {
      if (begin >= 0) {
        let end = i;
        while (end > begin && b[end - 1] === 0) end--; // trailing zeros belong to a 4-byte start code
        if (end > begin) nalus.push(b.subarray(begin, end));
      }
      begin = i + 3;
      i += 2;
    }
  }
  if (begin >= 0 && begin < b.length) nalus.push(b.subarray(begin));
  return nalus;
}

function lengthPrefixed(nalus: Buffer[]): Buffer {
  return Buffer.concat(
    nalus.flatMap((n) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(n.length);
      return [len, n];
    }),
  );
}

export class WebmTagWriter {
  private readonly reader: MkvReader;
  /** The CodecPrivate's record, when the track had one. */
  private avcConfig: Buffer | undefined;
  private sps: Buffer | undefined;
  private pps: Buffer | undefined;
  /** The record built from in-band SPS/PPS (no CodecPrivate), last sent. */
  private inBandConfig: Buffer | undefined;
  private sawKeyframe = false;

  constructor(limits: MkvReaderLimits) {
    this.reader = new MkvReader(limits);
  }

  /** Bytes held until an element is whole. */
  get buffered(): number {
    return this.reader.buffered;
  }

  /** The tags the new bytes complete. Throws the reader's TiercastErrors. */
  push(chunk: Buffer, now: number): FlvTag[] {
    const tags: FlvTag[] = [];
    for (const ev of this.reader.push(chunk)) this.event(ev, now, tags);
    return tags;
  }

  private event(ev: MkvEvent, now: number, tags: FlvTag[]): void {
    const tag = (type: 8 | 9 | 18, timestamp: number, data: Buffer) =>
      tags.push({ type, timestamp: Math.max(0, Math.round(timestamp)), data, receivedAt: now });
    if (ev.kind === 'tracks') {
      tag(FLV_TAG_SCRIPT, 0, metadata(ev.video, ev.audio));
      const a = ev.audio;
      if (a) {
        const head =
          a.codecPrivate && a.codecPrivate.length >= 19 ? a.codecPrivate : opusHead(a.channels ?? 2);
        tag(FLV_TAG_AUDIO, 0, Buffer.concat([Buffer.from([0x90]), Buffer.from('Opus', 'latin1'), head]));
      }
      const v = ev.video;
      if (
        v &&
        v.codec === 'avc1' &&
        v.codecPrivate &&
        v.codecPrivate[0] === 1 &&
        v.codecPrivate.length >= 7
      ) {
        this.avcConfig = v.codecPrivate;
        tag(FLV_TAG_VIDEO, 0, Buffer.concat([Buffer.from([0x17, 0, 0, 0, 0]), v.codecPrivate]));
      } else if (v && v.codec !== 'avc1') {
        const record = v.codec === 'av01' ? (v.codecPrivate ?? Buffer.alloc(0)) : VP_CONFIG;
        tag(FLV_TAG_VIDEO, 0, Buffer.concat([Buffer.from([0x90]), Buffer.from(v.codec, 'latin1'), record]));
      }
      return;
    }
    const { track, timeMs, keyframe, data } = ev;
    if (data.length === 0) return;
    if (track.type === 'audio') {
      tag(FLV_TAG_AUDIO, timeMs, Buffer.concat([Buffer.from([0x91]), Buffer.from('Opus', 'latin1'), data]));
      return;
    }
    if (!this.sawKeyframe && !keyframe) return;
    if (track.codec !== 'avc1') {
      this.sawKeyframe = true;
      const head = Buffer.from([keyframe ? 0x91 : 0xa1, ...Buffer.from(track.codec, 'latin1')]);
      tag(FLV_TAG_VIDEO, timeMs, Buffer.concat([head, data]));
      return;
    }
    let frame = data;
    const nalus = this.avcConfig === undefined ? annexBNalus(data) : undefined;
    if (nalus) {
      for (const n of nalus) {
        const t = n[0]! & 0x1f;
        if (t === NAL_SPS) this.sps = n;
        else if (t === NAL_PPS) this.pps = n;
      }
      if (!this.sps || !this.pps || this.sps.length < 4) return; // nothing decodable yet
      const config = avcDecoderConfig(this.sps, this.pps);
      if (!this.inBandConfig || !config.equals(this.inBandConfig)) {
        this.inBandConfig = config;
        tag(FLV_TAG_VIDEO, timeMs, Buffer.concat([Buffer.from([0x17, 0, 0, 0, 0]), config]));
      }
      const kept = nalus.filter((n) => ![NAL_SPS, NAL_PPS, NAL_AUD].includes(n[0]! & 0x1f));
      if (kept.length === 0) return;
      frame = lengthPrefixed(kept);
    } else if (this.avcConfig === undefined) {
      return; // neither a record nor Annex B: nothing to decode it with
    }
    this.sawKeyframe = true;
    tag(FLV_TAG_VIDEO, timeMs, Buffer.concat([Buffer.from([keyframe ? 0x17 : 0x27, 1, 0, 0, 0]), frame]));
  }
}
