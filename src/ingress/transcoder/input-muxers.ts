/**
 * The two containers the transcoder writes to ffmpeg's stdin from the publisher's FLV tags:
 * - legacy FLV (H.264 + AAC/MP3, every tag passed through as it came), which ffmpeg has always read;
 * - Matroska, when a track uses a codec ffmpeg 5.1's FLV demuxer cannot read (Enhanced RTMP HEVC, AV1,
 *   VP9, Opus): the tracks are declared from the stored sequence headers at the start tag (Matroska wants
 *   them before the first frame), then each frame becomes a SimpleBlock; a changed AVC/HEVC sequence
 *   header goes in-band before the next keyframe. ffmpeg 5.1 reads all of these
 *   codecs from Matroska on a pipe (`-f matroska -i pipe:0`).
 * FlvInput (flv-input.ts) decides when to start and what to drop; a muxer only turns tags into bytes.
 */
import type { Logger } from '../../common/logging/index.js';
import { FLV_TAG_AUDIO, FLV_TAG_VIDEO, isMetadataTag, type FlvTag } from '../flv/flv-tag.js';
import { flvHeader, serializeTag } from '../flv/flv-writer.js';
import { tryMediaPacket, type MediaPacket } from '../flv/media-packet.js';
import { mkvFrame, mkvHeader, type MkvTrack } from '../mkv/mkv-writer.js';
import type { SourceTracks } from './ladder.js';
import { probeSource } from './source-probe.js';

/** What the muxers need of the stored configuration (StreamConfig). */
export interface StoredConfig {
  metadata: FlvTag | undefined;
  video: FlvTag | undefined;
  audio: FlvTag | undefined;
  /** The first audio frame seen, for codecs without a sequence header (MP3). */
  audioSample: FlvTag | undefined;
  all(): FlvTag[];
}

export interface InputMuxer {
  /** Bytes to write as soon as ffmpeg runs. */
  open(): Buffer | undefined;
  /** Bytes that precede the start tag: headers and the stored configuration. */
  start(config: StoredConfig, startTag: FlvTag): Buffer[];
  /** A configuration tag arriving mid-stream. */
  config(tag: FlvTag, config: StoredConfig): Buffer | undefined;
  media(tag: FlvTag): Buffer | undefined;
}

export class FlvMuxer implements InputMuxer {
  constructor(private readonly source: SourceTracks) {}

  open(): Buffer {
    return flvHeader({ audio: this.source.hasAudio, video: this.source.hasVideo });
  }

  start(config: StoredConfig, startTag: FlvTag): Buffer[] {
    return config.all().map((c) => serializeTag({ ...c, timestamp: startTag.timestamp }));
  }

  config(tag: FlvTag, config: StoredConfig): Buffer {
    return serializeTag(isMetadataTag(tag) ? config.metadata! : tag);
  }

  media(tag: FlvTag): Buffer {
    return serializeTag(tag);
  }
}

const VIDEO_CODEC_IDS: Record<string, string> = {
  avc1: 'V_MPEG4/ISO/AVC',
  hvc1: 'V_MPEGH/ISO/HEVC',
  av01: 'V_AV1',
  vp09: 'V_VP9',
  vp08: 'V_VP8',
};
const AUDIO_CODEC_IDS: Record<string, string> = { Opus: 'A_OPUS', mp4a: 'A_AAC', '.mp3': 'A_MPEG/L3' };
const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
/** An OpusHead for stereo 48 kHz, 312 samples pre-skip (libopus's), when the publisher sent none. */
const DEFAULT_OPUS_HEAD = Buffer.from([
  ...Buffer.from('OpusHead', 'latin1'), 1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0,
]); // prettier-ignore

/**
 * The parameter-set NAL units (SPS/PPS, and VPS for HEVC) of an AVC or HEVC configuration record, each
 * prefixed with its length as the record says frames are: what to put in-band before a keyframe when the
 * configuration changes mid-stream (Matroska declares CodecPrivate once; the decoders take in-band sets).
 */
export function inBandParameterSets(codec: string, record: Buffer): Buffer | undefined {
  try {
    const nals: Buffer[] = [];
    let lengthSize: number;
    let pos: number;
    const take = (): void => {
      const len = record.readUInt16BE(pos);
      if (pos + 2 + len > record.length) throw new RangeError('parameter set truncated');
      nals.push(record.subarray(pos + 2, pos + 2 + len));
      pos += 2 + len;
    };
    if (codec === 'avc1') {
      lengthSize = (record[4]! & 3) + 1;
      pos = 6;
      for (let n = record[5]! & 0x1f; n > 0; n--) take();
      for (let n = record[pos++]!; n > 0; n--) take();
    } else if (codec === 'hvc1') {
      lengthSize = (record[21]! & 3) + 1;
      pos = 23;
      for (let arrays = record[22]!; arrays > 0; arrays--) {
        const count = record.readUInt16BE(pos + 1);
        pos += 3;
        for (let n = count; n > 0; n--) take();
      }
    } else {
      return undefined;
    }
    if (nals.length === 0) return undefined;
    return Buffer.concat(
      nals.flatMap((nal) => {
        const len = Buffer.alloc(lengthSize);
        len.writeUIntBE(nal.length, 0, lengthSize);
        return [len, nal];
      }),
    );
  } catch {
    return undefined;
  }
}

const VIDEO_TRACK = 1;
const AUDIO_TRACK = 2;

function audioTrack(packet: MediaPacket | undefined, sample: FlvTag | undefined): MkvTrack {
  const codec =
    packet?.codec ?? tryMediaPacket(sample ?? { type: 8, data: Buffer.alloc(0) })?.codec ?? 'Opus';
  const cfg = packet?.kind === 'config' ? packet.payload : undefined;
  const track: MkvTrack = { number: AUDIO_TRACK, type: 'audio', codecId: AUDIO_CODEC_IDS[codec] ?? 'A_OPUS' };
  if (codec === 'mp4a' && cfg && cfg.length >= 2) {
    track.codecPrivate = cfg;
    track.sampleRate = AAC_RATES[((cfg[0]! & 0x07) << 1) | (cfg[1]! >> 7)] ?? 44100;
    track.channels = (cfg[1]! >> 3) & 0x0f || 2;
  } else if (codec === '.mp3') {
    const b0 = sample?.data[0] ?? 0x2f;
    track.sampleRate = [5512, 11025, 22050, 44100][(b0 >> 2) & 3];
    track.channels = (b0 & 1) + 1;
  } else {
    const head = cfg && cfg.length >= 19 ? cfg : DEFAULT_OPUS_HEAD;
    track.codecPrivate = head;
    track.sampleRate = 48000;
    track.channels = head[9] || 2;
    track.codecDelayNs = Math.round((head.readUInt16LE(10) / 48000) * 1e9);
  }
  return track;
}

export class MkvMuxer implements InputMuxer {
  private videoConfig: Buffer | undefined;
  private audioConfig: Buffer | undefined;
  /** Parameter sets of a changed AVC/HEVC configuration, put in-band before the next keyframe. */
  private pendingParameterSets: Buffer | undefined;
  private warned = false;

  constructor(
    private readonly source: SourceTracks,
    private readonly logger: Logger,
  ) {}

  open(): undefined {
    return undefined;
  }

  start(config: StoredConfig, startTag: FlvTag): Buffer[] {
    const tracks: MkvTrack[] = [];
    if (this.source.hasVideo) {
      const packet = tryMediaPacket(config.video ?? startTag);
      const dims = probeSource(config.all());
      const cfg = packet?.kind === 'config' ? packet.payload : undefined;
      this.videoConfig = cfg;
      tracks.push({
        number: VIDEO_TRACK,
        type: 'video',
        codecId: VIDEO_CODEC_IDS[packet?.codec ?? 'avc1'] ?? 'V_MPEG4/ISO/AVC',
        // Matroska's VP8/VP9 CodecPrivate is not the VPCodecConfigurationRecord; ffmpeg needs none.
        ...(cfg && packet?.codec !== 'vp09' && packet?.codec !== 'vp08' ? { codecPrivate: cfg } : {}),
        width: dims.width,
        height: dims.height,
      });
    }
    if (this.source.hasAudio) {
      const packet = config.audio ? tryMediaPacket(config.audio) : undefined;
      this.audioConfig = packet?.payload;
      tracks.push(audioTrack(packet, config.audioSample));
    }
    return [mkvHeader(tracks)];
  }

  config(tag: FlvTag): undefined {
    // Matroska declares CodecPrivate once: a changed AVC/HEVC configuration (a new resolution) goes
    // in-band before the next keyframe; other codecs keep the first until ffmpeg next restarts.
    const packet = tryMediaPacket(tag);
    const before = tag.type === FLV_TAG_VIDEO ? this.videoConfig : this.audioConfig;
    if (!packet || !before || before.equals(packet.payload)) return undefined;
    const inBand = packet.track === 'video' ? inBandParameterSets(packet.codec, packet.payload) : undefined;
    if (inBand) {
      this.videoConfig = packet.payload;
      this.pendingParameterSets = inBand;
      this.logger.info('video sequence header changed mid-stream; sending its parameter sets in-band');
    } else if (!this.warned) {
      this.warned = true;
      this.logger.warn({ track: packet.track }, 'sequence header changed mid-stream; ffmpeg keeps the first');
    }
    return undefined;
  }

  media(tag: FlvTag): Buffer | undefined {
    const packet = tryMediaPacket(tag);
    if (!packet || packet.kind !== 'frame' || packet.payload.length === 0) return undefined;
    const track = tag.type === FLV_TAG_AUDIO ? AUDIO_TRACK : VIDEO_TRACK;
    let payload = packet.payload;
    if (track === VIDEO_TRACK && packet.keyframe && this.pendingParameterSets) {
      payload = Buffer.concat([this.pendingParameterSets, payload]);
      this.pendingParameterSets = undefined;
    }
    return mkvFrame(track, tag.timestamp, packet.cts, packet.keyframe, payload);
  }
}
