import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { errorCode } from '../../src/common/errors/index.js';
import {
  isEndOfSequence,
  isMetadataTag,
  isSequenceHeader,
  isVideoKeyframe,
} from '../../src/ingress/flv/flv-tag.js';
import { flvHeader, serializeTag } from '../../src/ingress/flv/flv-writer.js';
import { parseFlv } from '../fixtures/transcoder/flv-reader.js';

const fixture = readFileSync(new URL('../fixtures/transcoder/source-head.flv', import.meta.url));

test('flvHeader: signature, version, audio/video flags, data offset 9, PreviousTagSize0', () => {
  assert.deepEqual(flvHeader({ audio: true, video: true }), Buffer.from('464c5601050000000900000000', 'hex'));
  assert.deepEqual(
    flvHeader({ audio: false, video: true }),
    Buffer.from('464c5601010000000900000000', 'hex'),
  );
  assert.deepEqual(
    flvHeader({ audio: true, video: false }),
    Buffer.from('464c5601040000000900000000', 'hex'),
  );
});

test('serializeTag: 11-byte header, body, PreviousTagSize; 32-bit timestamp split 24 + 8', () => {
  const data = Buffer.from('1701000000abcdef', 'hex');
  const out = serializeTag({ type: 9, timestamp: 0x12345678, data });
  assert.deepEqual(
    out,
    Buffer.concat([
      Buffer.from('09' + '000008' + '345678' + '12' + '000000', 'hex'),
      data,
      Buffer.from('00000013', 'hex'), // 11 + 8
    ]),
  );
  const audio = serializeTag({ type: 8, timestamp: 40, data: Buffer.from('af01ff', 'hex') });
  assert.equal(audio.toString('hex'), '08' + '000003' + '000028' + '00' + '000000' + 'af01ff' + '0000000e');
});

test('serializeTag: timestamps wrap at 32 bits, an empty body is valid', () => {
  const out = serializeTag({ type: 8, timestamp: 2 ** 32 + 5, data: Buffer.alloc(0) });
  assert.equal(out.toString('hex'), '08' + '000000' + '000005' + '00' + '000000' + '0000000b');
});

test('serializeTag: a body over the 24-bit size field is refused with a code', () => {
  assert.throws(
    () => serializeTag({ type: 9, timestamp: 0, data: Buffer.alloc(0x1000000) }),
    (err) => errorCode(err) === 'RTMP_MESSAGE_TOO_LARGE',
  );
});

test('header + re-serialized tags of a real ffmpeg FLV are byte-identical to the file', () => {
  const tags = parseFlv(fixture);
  assert.ok(tags.length > 20);
  const rebuilt = Buffer.concat([
    flvHeader({ audio: true, video: true }),
    ...tags.map((t) => serializeTag(t)),
  ]);
  assert.equal(rebuilt.length, fixture.length);
  assert.ok(rebuilt.equals(fixture));
});

test('tag classification on the real FLV: metadata, sequence headers, keyframes', () => {
  const tags = parseFlv(fixture);
  assert.ok(isMetadataTag(tags[0]!));
  const videoConfig = tags.filter((t) => t.type === 9 && isSequenceHeader(t));
  const audioConfig = tags.filter((t) => t.type === 8 && isSequenceHeader(t));
  assert.equal(videoConfig.length, 1);
  assert.equal(audioConfig.length, 1);
  const frames = tags.filter((t) => t.type === 9 && !isSequenceHeader(t));
  // -g 30 at 30 fps and ~0.5 s: exactly the first frame is a keyframe.
  assert.ok(isVideoKeyframe(frames[0]!));
  assert.equal(frames.filter((t) => isVideoKeyframe(t)).length, 1);
  assert.equal(isVideoKeyframe(tags.find((t) => t.type === 8)!), false);
  assert.equal(isMetadataTag(frames[0]!), false);
  assert.ok(isEndOfSequence({ type: 9, data: Buffer.from('170200000000', 'hex') }));
  assert.equal(isEndOfSequence(frames[0]!), false);
});
