import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { FlvTag } from '../../src/ingress/flv/flv-tag.js';
import {
  normalizeMetadata,
  parseScriptData,
  parseSpsDimensions,
  probeSource,
  spsFromAvcSequenceHeader,
} from '../../src/ingress/transcoder/source-probe.js';
import { parseFlv } from '../fixtures/transcoder/flv-reader.js';

const tags = parseFlv(readFileSync(new URL('../fixtures/transcoder/source-head.flv', import.meta.url)));

function amfString(s: string): Buffer {
  const b = Buffer.alloc(3 + s.length);
  b[0] = 0x02;
  b.writeUInt16BE(s.length, 1);
  b.write(s, 3, 'latin1');
  return b;
}

function amfNumber(n: number): Buffer {
  const b = Buffer.alloc(9);
  b[0] = 0x00;
  b.writeDoubleBE(n, 1);
  return b;
}

function amfEcma(props: Record<string, Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from([0x08, 0, 0, 0, Object.keys(props).length])];
  for (const [k, v] of Object.entries(props)) parts.push(amfString(k).subarray(1), v);
  parts.push(Buffer.from([0, 0, 9]));
  return Buffer.concat(parts);
}

test('probeSource on a real ffmpeg FLV: audio + video, size from the SPS', () => {
  const info = probeSource(tags);
  assert.equal(info.hasAudio, true);
  assert.equal(info.hasVideo, true);
  assert.equal(info.width, 320);
  assert.equal(info.height, 180);
  assert.equal(info.frameRate, 30);
});

test('SPS parsing: 320x180 is coded as 20x12 macroblocks with 12 rows cropped', () => {
  const seq = tags.find((t) => t.type === 9 && t.data[1] === 0)!;
  const sps = spsFromAvcSequenceHeader(seq.data)!;
  assert.equal(sps[0]! & 0x1f, 7); // NAL type SPS
  assert.deepEqual(parseSpsDimensions(sps), { width: 320, height: 180 });
  assert.equal(parseSpsDimensions(Buffer.from([0x67])), undefined);
  assert.equal(spsFromAvcSequenceHeader(Buffer.from('1701000000', 'hex')), undefined);
});

test('metadata only (no sequence header yet): size and tracks from onMetaData, @setDataFrame stripped', () => {
  const body = Buffer.concat([
    amfString('@setDataFrame'),
    amfString('onMetaData'),
    amfEcma({
      width: amfNumber(1920),
      height: amfNumber(1080),
      framerate: amfNumber(60),
      videocodecid: amfNumber(7),
    }),
  ]);
  const normalized = normalizeMetadata(body);
  assert.equal(normalized.length, body.length - 16);
  assert.deepEqual(parseScriptData(normalized)?.[0], 'onMetaData');
  const tag: FlvTag = { type: 18, timestamp: 0, data: body, receivedAt: 0 };
  assert.deepEqual(probeSource([tag]), {
    hasAudio: false,
    hasVideo: true,
    width: 1920,
    height: 1080,
    frameRate: 60,
  });
  assert.equal(normalizeMetadata(normalized), normalized);
});

test('garbage script data does not throw', () => {
  const tag: FlvTag = { type: 18, timestamp: 0, data: Buffer.from([0x02, 0xff, 0xff, 1]), receivedAt: 0 };
  assert.deepEqual(probeSource([tag]), { hasAudio: false, hasVideo: false });
});
