/**
 * FLV tag bodies, legacy and Enhanced RTMP, as the ingress reads them (byte fixtures): codec by FourCC,
 * packet kind, keyframe, composition time; which codecs are refused and which headers are malformed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { malformedTag, unsupportedCodec } from '../../src/ingress/flv/codecs.js';
import { isEndOfSequence, isSequenceHeader } from '../../src/ingress/flv/flv-tag.js';
import { isLegacyCodec, mediaPacket } from '../../src/ingress/flv/media-packet.js';
import { mkvFrame, mkvHeader, vint } from '../../src/ingress/mkv/mkv-writer.js';

const v = (...parts: (readonly number[] | string)[]): { type: 9; data: Buffer } => ({
  type: 9,
  data: Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p)))),
});
const a = (...parts: (readonly number[] | string)[]): { type: 8; data: Buffer } => ({
  ...v(...parts),
  type: 8,
});
const OPUS_HEAD = ['OpusHead', [1, 2, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0]] as const;

void describe('Enhanced RTMP tag bodies', () => {
  void it('HEVC CodedFrames: FourCC, keyframe, signed 24-bit composition time, payload', () => {
    const p = mediaPacket(v([0x91], 'hvc1', [0xff, 0xff, 0xfe], [9, 9]))!;
    assert.deepEqual(
      { ...p, payload: [...p.payload] },
      {
        track: 'video',
        codec: 'hvc1',
        enhanced: true,
        kind: 'frame',
        keyframe: true,
        cts: -2,
        payload: [9, 9],
      },
    );
  });

  void it('AV1 CodedFrames carry no composition time; CodedFramesX neither; inter frames are not keys', () => {
    const av1 = mediaPacket(v([0xa1], 'av01', [1, 2, 3]))!;
    assert.deepEqual([av1.kind, av1.keyframe, av1.cts, [...av1.payload]], ['frame', false, 0, [1, 2, 3]]);
    const x = mediaPacket(v([0x93], 'hvc1', [7]))!;
    assert.deepEqual([x.kind, x.cts, [...x.payload]], ['frame', 0, [7]]);
  });

  void it('SequenceStart, SequenceEnd, Metadata, a ModEx prefix, multitrack', () => {
    assert.equal(mediaPacket(v([0x90], 'av01', [0x81, 0, 0, 0]))!.kind, 'config');
    assert.ok(isSequenceHeader(v([0x90], 'av01', [0x81, 0, 0, 0])));
    assert.equal(mediaPacket(v([0x92], 'hvc1'))!.kind, 'end');
    assert.ok(isEndOfSequence(v([0x92], 'hvc1')));
    assert.equal(mediaPacket(v([0x94], 'hvc1', [2]))!.kind, 'ignore');
    // ModEx: size-1 = 2 (3 bytes of data), then ModExType|PacketType = CodedFramesX.
    const m = mediaPacket(v([0x97, 2, 0, 0, 0, 0x03], 'vp09', [5]))!;
    assert.deepEqual([m.codec, m.kind, [...m.payload]], ['vp09', 'frame', [5]]);
    assert.equal(mediaPacket(v([0x96, 0], 'hvc1'))!.kind, 'multitrack');
    assert.match(unsupportedCodec(v([0x96, 0], 'hvc1'))!, /multitrack/);
  });

  void it('Opus and AAC ex-audio; legacy AAC and AVC keep their FourCC names', () => {
    const opus = mediaPacket(a([0x90], 'Opus', ...OPUS_HEAD))!;
    assert.deepEqual(
      [opus.track, opus.codec, opus.kind, opus.payload.length],
      ['audio', 'Opus', 'config', 19],
    );
    assert.ok(isSequenceHeader(a([0x90], 'Opus', ...OPUS_HEAD)));
    assert.equal(mediaPacket(a([0x91], 'Opus', [1]))!.kind, 'frame');
    const aac = mediaPacket(a([0xaf, 1, 5]))!;
    assert.deepEqual([aac.codec, aac.enhanced, isLegacyCodec(aac)], ['mp4a', false, true]);
    const avc = mediaPacket(v([0x17, 1, 0, 0, 0x21], [0, 0, 0, 1]))!;
    assert.deepEqual([avc.codec, avc.cts, isLegacyCodec(avc)], ['avc1', 0x21, true]);
    assert.equal(isLegacyCodec(mediaPacket(v([0x91], 'avc1', [0, 0, 0]))!), false);
  });

  void it('supported FourCCs pass; unknown ones and legacy VP6 are named for the streamer', () => {
    for (const cc of ['hvc1', 'av01', 'vp09', 'avc1'])
      assert.equal(unsupportedCodec(v([0x93], cc)), undefined);
    assert.equal(unsupportedCodec(a([0x91], 'Opus', [1])), undefined);
    assert.equal(unsupportedCodec(v([0x93], 'xxxx')), "video (Enhanced RTMP 'xxxx')");
    assert.equal(unsupportedCodec(a([0x91], 'fLaC')), "FLAC (Enhanced RTMP 'fLaC')");
    assert.equal(unsupportedCodec(v([0x14, 0])), 'On2 VP6');
  });

  void it('truncated headers and sequence headers are malformed, whole ones are not', () => {
    assert.match(malformedTag(v([0x90], 'hv'))!, /FourCC truncated/);
    assert.match(malformedTag(v([0x91], 'hvc1', [0]))!, /CodedFrames truncated/);
    assert.match(
      malformedTag(v([0x90], 'hvc1', [1, 2, 3]))!,
      /truncated or malformed HEVC sequence header .*3 bytes/,
    );
    assert.equal(malformedTag(v([0x90], 'hvc1', Array<number>(23).fill(1))), undefined);
    assert.match(malformedTag(a([0x90], 'Opus', 'OpusHeaX', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]))!, /Opus/);
    assert.equal(malformedTag(a([0x90], 'Opus', ...OPUS_HEAD)), undefined);
  });
});

void describe('Matroska writer', () => {
  void it('EBML sizes use the shortest vint and avoid the all-ones (unknown) value', () => {
    assert.deepEqual([...vint(0)], [0x80]);
    assert.deepEqual([...vint(126)], [0xfe]);
    assert.deepEqual([...vint(127)], [0x40, 0x7f]);
    assert.deepEqual([...vint(300)], [0x41, 0x2c]);
  });

  void it('a header opens an unknown-size Segment; a frame is a Cluster with one SimpleBlock', () => {
    const h = mkvHeader([{ number: 1, type: 'video', codecId: 'V_AV1', width: 2, height: 2 }]);
    assert.equal(h.readUInt32BE(0), 0x1a45dfa3);
    assert.ok(
      h.includes(Buffer.from([0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])),
    );
    assert.ok(h.includes(Buffer.from('V_AV1')));
    const f = mkvFrame(1, 1000, -40, true, Buffer.from([0xaa]));
    // Cluster, size 11: Timestamp (e7 82 03e8), SimpleBlock (a3 85 81 ffd8 80 aa).
    assert.deepEqual(
      [...f],
      [0x1f, 0x43, 0xb6, 0x75, 0x8b, 0xe7, 0x82, 0x03, 0xe8, 0xa3, 0x85, 0x81, 0xff, 0xd8, 0x80, 0xaa],
    );
  });
});
