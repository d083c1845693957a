/**
 * WHIP media without a network: H.264 RTP (single NAL, STAP-A, FU-A, reordered, lost) back into access
 * units; access units and Opus packets into the ingress's FLV tags (AVC sequence header from in-band
 * SPS/PPS, length-prefixed NAL units, timestamps from 0; Enhanced RTMP Opus with an OpusHead); the offer
 * check's choice of H.264 format.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { H264Depacketizer, type RtpIn } from '../../src/ingress/whip/h264-rtp.js';
import { WhipTagWriter } from '../../src/ingress/whip/rtp-to-flv.js';
import { checkOffer } from '../../src/ingress/whip/sdp-offer.js';
import type { FlvTag } from '../../src/ingress/flv/flv-tag.js';
import { probeSource } from '../../src/ingress/transcoder/source-probe.js';

/** Reads the two tag forms WHIP writes: legacy AVC and Enhanced RTMP ex-audio (byte layouts per spec). */
function mediaPacket(tag: FlvTag): { codec: string; kind: string; keyframe: boolean; payload: Buffer } {
  const b0 = tag.data[0]!;
  if (tag.type === 9) {
    assert.equal(b0 & 0x0f, 7, 'legacy AVC');
    assert.equal(tag.data.readUIntBE(2, 3), 0, 'composition time 0');
    return {
      codec: 'avc1',
      kind: tag.data[1] === 0 ? 'config' : 'frame',
      keyframe: b0 >> 4 === 1,
      payload: tag.data.subarray(5),
    };
  }
  assert.equal(b0 >> 4, 9, 'ex-audio header');
  return {
    codec: tag.data.toString('latin1', 1, 5),
    kind: (b0 & 0x0f) === 0 ? 'config' : 'frame',
    keyframe: true,
    payload: tag.data.subarray(5),
  };
}

const SPS = Buffer.from([0x67, 0x42, 0xe0, 0x1f, 0xaa, 0xbb]);
const PPS = Buffer.from([0x68, 0xce, 0x3c, 0x80]);
const IDR = Buffer.concat([Buffer.from([0x65]), Buffer.alloc(3000, 7)]);
const P = Buffer.concat([Buffer.from([0x41]), Buffer.alloc(500, 9)]);

/** Packetizes one picture: SPS+PPS in a STAP-A, NAL units over 1200 bytes as FU-A. */
function packetize(nalus: Buffer[], seq: number, ts: number): RtpIn[] {
  const payloads: Buffer[] = [];
  const small = nalus.filter((n) => n.length <= 1200);
  if (small.length > 1) {
    const parts: Buffer[] = [Buffer.from([24])];
    for (const n of small) parts.push(Buffer.from([n.length >> 8, n.length & 0xff]), n);
    payloads.push(Buffer.concat(parts));
  } else payloads.push(...small);
  for (const n of nalus.filter((x) => x.length > 1200)) {
    const body = n.subarray(1);
    for (let pos = 0; pos < body.length; pos += 1000) {
      const start = pos === 0 ? 0x80 : 0;
      const end = pos + 1000 >= body.length ? 0x40 : 0;
      payloads.push(
        Buffer.concat([
          Buffer.from([(n[0]! & 0xe0) | 28, start | end | (n[0]! & 0x1f)]),
          Buffer.from(body.subarray(pos, pos + 1000)),
        ]),
      );
    }
  }
  return payloads.map((payload, i) => ({
    sequenceNumber: (seq + i) & 0xffff,
    timestamp: ts >>> 0,
    marker: i === payloads.length - 1,
    payload,
  }));
}

test('STAP-A and FU-A reassemble into access units, across a sequence number wrap and reordering', () => {
  const d = new H264Depacketizer();
  const key = packetize([SPS, PPS, IDR], 65533, 1000); // 1 STAP-A + 3 FU-A: wraps 65535 → 0
  const p = packetize([P], 1, 4000);
  const order = [key[0]!, key[2]!, key[1]!, key[3]!, p[0]!]; // one pair swapped
  const units = order.flatMap((pkt) => d.push(pkt, 0).units);
  assert.equal(units.length, 2);
  assert.deepEqual(units[0]!.nalus, [SPS, PPS, IDR]);
  assert.equal(units[0]!.keyframe, true);
  assert.deepEqual(units[1]!.nalus, [P]);
  assert.equal(units[1]!.keyframe, false);
});

test('a lost packet that never comes drops pictures up to the next IDR and asks for one', () => {
  const d = new H264Depacketizer({ maxWaitMs: 100, maxWaiting: 1024 });
  const key = packetize([SPS, PPS, IDR], 10, 0);
  for (const pkt of key) assert.equal(d.push(pkt, 0).units.length, 1 - (pkt.marker ? 0 : 1));
  const p1 = packetize([P], 14, 3000);
  const p2 = packetize([P], 16, 6000); // seq 15 is lost
  assert.equal(d.push(p1[0]!, 10).units.length, 1);
  assert.equal(d.push(p2[0]!, 20).units.length, 0, 'waits for the gap');
  const r = d.tick(200);
  assert.equal(r.lost, true);
  assert.equal(r.units.length, 0, 'the P picture after the gap is not decodable');
  assert.equal(d.waitingForKeyframe, true);
  const next = packetize([SPS, PPS, IDR], 17, 9000);
  const units = next.flatMap((pkt) => d.push(pkt, 210).units);
  assert.equal(units.length, 1);
  assert.equal(units[0]!.keyframe, true);
  assert.equal(d.waitingForKeyframe, false);
});

test('access units become AVC tags from 0 ms; Opus becomes Enhanced RTMP tags with an OpusHead', () => {
  const w = new WhipTagWriter({ channels: 2 });
  assert.deepEqual(w.opus(5000, Buffer.from([1, 2, 3]), 1000), [], 'no audio before the first keyframe');
  assert.deepEqual(w.video({ timestamp: 100, nalus: [P], keyframe: false }, 1000), []);
  const [meta, ...first] = w.video({ timestamp: 0xffffff00, nalus: [SPS, PPS, IDR], keyframe: true }, 1000);
  assert.equal(meta!.type, 18);
  const probed = probeSource([meta!]);
  assert.ok(probed.hasAudio && probed.hasVideo, 'onMetaData announces both tracks');
  assert.equal(first.length, 2);
  const config = mediaPacket(first[0]!);
  assert.equal(config.kind, 'config');
  assert.equal(config.codec, 'avc1');
  assert.deepEqual([...config.payload.subarray(0, 4)], [1, 0x42, 0xe0, 0x1f]);
  const frame = mediaPacket(first[1]!);
  assert.equal(frame.keyframe, true);
  assert.equal(first[1]!.timestamp, 0);
  assert.equal(frame.payload.readUInt32BE(0), IDR.length, 'length-prefixed, SPS/PPS left to the header');
  assert.equal(frame.payload.length, 4 + IDR.length);
  // 90 kHz across the 32-bit wrap: 0xffffff00 + 9000 ticks = 100 ms.
  const next = w.video({ timestamp: (0xffffff00 + 9000) >>> 0, nalus: [P], keyframe: false }, 1100);
  assert.equal(next.length, 1);
  assert.equal(next[0]!.timestamp, 100);
  assert.equal(mediaPacket(next[0]!).keyframe, false);

  const audio = w.opus(48000, Buffer.from([1, 2, 3]), 1040);
  assert.equal(audio.length, 2);
  const head = mediaPacket(audio[0]!);
  assert.equal(head.codec, 'Opus');
  assert.equal(head.kind, 'config');
  assert.equal(head.payload.toString('latin1', 0, 8), 'OpusHead');
  assert.equal(head.payload[9], 2);
  assert.equal(head.payload.readUInt32LE(12), 48000);
  assert.equal(audio[1]!.timestamp, 40, 'audio joins at its arrival after the keyframe');
  const later = w.opus(48000 + 960, Buffer.from([4]), 1060);
  assert.equal(later[0]!.timestamp, 60);
  assert.deepEqual(mediaPacket(later[0]!).payload, Buffer.from([4]));
});

test('the offer check prefers 42e01f, then 640c1f, among packetization-mode 1 formats', () => {
  const sdp = [
    'v=0',
    'o=- 1 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=ice-ufrag:x',
    'a=fingerprint:sha-256 00',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    'a=rtpmap:111 opus/48000/2',
    'a=fmtp:111 minptime=10;useinbandfec=1',
    'm=video 9 UDP/TLS/RTP/SAVPF 102 104 106 108',
    'a=rtpmap:102 H264/90000',
    'a=fmtp:102 packetization-mode=0;profile-level-id=42e01f',
    'a=rtpmap:104 H264/90000',
    'a=fmtp:104 packetization-mode=1;profile-level-id=4d001f',
    'a=rtpmap:106 H264/90000',
    'a=fmtp:106 packetization-mode=1;profile-level-id=640c1f',
    'a=rtpmap:108 VP8/90000',
    '',
  ].join('\r\n');
  const s = checkOffer(sdp);
  assert.equal(s.h264.payloadType, 106);
  assert.equal(s.tracks, 2);
  assert.deepEqual(s.opus, { payloadType: 111, channels: 1 });
});
