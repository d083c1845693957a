/**
 * The browser ingest's wire format from both sides: what the /broadcast page encodes
 * (src/edge/public/ingest-frames.js) is what the ingress decodes (ingest-protocol.ts), byte for byte; the
 * decoder refuses what is not a tag; the page's rules pick the socket URL, reconnect only when it can help
 * and see a falling-behind uplink; the edge names the ingest from config or discovery.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as page from '../../src/edge/public/ingest-frames.js';
import * as rules from '../../src/edge/public/broadcast-rules.js';
import {
  decodeIngestTag,
  decodePageMessage,
  encodeIngestTag,
} from '../../src/ingress/browser-ingest/ingest-protocol.js';
import { browserIngestUrl } from '../../src/edge/broadcast-http.js';
import { isSequenceHeader, isVideoKeyframe } from '../../src/ingress/flv/flv-tag.js';

describe('browser ingest frames', () => {
  it('the page encodes an AVC keyframe the ingress reads as one, at its time', () => {
    const nalus = new Uint8Array([0, 0, 0, 2, 0x65, 0x88]);
    const bytes = page.encodeTag(9, 1234.4, page.avcFrame(true, nalus));
    assert.deepEqual([...bytes], [9, 0, 0, 0x04, 0xd2, 0x17, 1, 0, 0, 0, 0, 0, 0, 2, 0x65, 0x88]);
    const d = decodeIngestTag(Buffer.from(bytes));
    assert.ok(d.ok);
    assert.equal(d.value.type, 9);
    assert.equal(d.value.timestamp, 1234);
    assert.ok(isVideoKeyframe({ type: 9, data: d.value.body }));
    assert.deepEqual(
      Buffer.from(bytes),
      encodeIngestTag({ type: 9, timestamp: 1234, body: Buffer.from(page.avcFrame(true, nalus)) }),
    );
  });

  it('sequence headers: AVC config record and Opus SequenceStart with an RFC 7845 OpusHead', () => {
    const avc = page.avcSequenceHeader(new Uint8Array([1, 0x42, 0xe0, 0x1f]));
    assert.ok(isSequenceHeader({ type: 9, data: Buffer.from(avc) }));
    const head = page.opusHead(2, 48000);
    assert.equal(Buffer.from(head.subarray(0, 8)).toString('latin1'), 'OpusHead');
    assert.deepEqual([...head.subarray(8)], [1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0]);
    const start = page.opusSequenceStart(head);
    assert.deepEqual([...start.subarray(0, 5)], [0x90, 0x4f, 0x70, 0x75, 0x73]);
    assert.deepEqual([...page.opusFrame(new Uint8Array([7])).subarray(0, 1)], [0x91]);
    assert.ok(decodeIngestTag(Buffer.from(page.encodeTag(8, 0, start))).ok);
  });

  it('refuses what is not a tag', () => {
    const bad = (bytes: number[]) => decodeIngestTag(Buffer.from(bytes));
    assert.match(String((bad([1, 2, 3]) as { reason: string }).reason), /at least 6 bytes/);
    assert.match(String((bad([18, 0, 0, 0, 0, 2]) as { reason: string }).reason), /neither audio/);
    assert.match(String((bad([9, 0, 0, 0, 0, 0x17, 1]) as { reason: string }).reason), /AVC/);
    assert.match(
      String((bad([9, 0, 0, 0, 0, 0x07, 1, 0, 0, 0]) as { reason: string }).reason),
      /frame type 0/,
    );
    assert.match(String((bad([8, 0, 0, 0, 0, 0x90, 0x4f]) as { reason: string }).reason), /FourCC/);
  });

  it('text messages: the key, pings; a bad one is refused without repeating it', () => {
    assert.deepEqual(decodePageMessage('{"key":"k1"}'), {
      ok: true,
      value: { kind: 'hello', key: 'k1', format: 'tags', audio: false },
    });
    assert.deepEqual(decodePageMessage('{"key":"k1","audio":true}'), {
      ok: true,
      value: { kind: 'hello', key: 'k1', format: 'tags', audio: true },
    });
    assert.deepEqual(decodePageMessage('{"key":"k1","audio":"yes"}'), {
      ok: false,
      reason: 'audio must be true or false',
    });
    assert.deepEqual(decodePageMessage('{"type":"ping","t":5}'), { ok: true, value: { kind: 'ping', t: 5 } });
    const r = decodePageMessage('{"key":42,"secret":"live_abc"}');
    assert.ok(!r.ok && !r.reason.includes('live_abc'));
    assert.equal(decodePageMessage('live_abc').ok, false);
  });
});

describe('the page rules', () => {
  it('a loopback ingest is reached at the page host; wss under https', () => {
    const u = 'ws://127.0.0.1:8090/publish/ws';
    assert.equal(rules.socketUrlFor(u, { hostname: '127.0.0.1', protocol: 'http:' }), u);
    assert.equal(
      rules.socketUrlFor(u, { hostname: 'tv.example', protocol: 'http:' }),
      'ws://tv.example:8090/publish/ws',
    );
    assert.equal(
      rules.socketUrlFor('ws://in.example/publish/ws', { hostname: 'tv.example', protocol: 'https:' }),
      'wss://in.example/publish/ws',
    );
  });

  it('reconnects after a lost connection, not after a refusal', () => {
    assert.equal(rules.shouldReconnect(1006, false), true);
    assert.equal(rules.shouldReconnect(1001, false), true);
    assert.equal(rules.shouldReconnect(4001, false), false);
    assert.equal(rules.shouldReconnect(1006, true), false);
    assert.deepEqual([0, 1, 2, 3, 4, 9].map(rules.reconnectDelayMs), [500, 1000, 2000, 4000, 5000, 5000]);
  });

  it('the uplink is behind when unsent bytes keep growing above the floor, or pass the ceiling', () => {
    const K = 1024;
    assert.equal(rules.uplinkBehind([0, 0, 0]), false);
    assert.equal(rules.uplinkBehind([300 * K, 400 * K, 500 * K]), true);
    assert.equal(rules.uplinkBehind([500 * K, 400 * K, 300 * K]), false);
    assert.equal(rules.uplinkBehind([3000 * K]), true);
  });

  it('reads the ingress answers', () => {
    assert.deepEqual(rules.readAnswer('{"ok":true,"name":"cam","audio":false}'), {
      kind: 'accepted',
      name: 'cam',
      audio: false,
    });
    assert.deepEqual(rules.readAnswer('{"ok":false,"code":"BAD_STREAM_KEY","message":"no"}'), {
      kind: 'refused',
      code: 'BAD_STREAM_KEY',
      message: 'no',
    });
    assert.deepEqual(rules.readAnswer('nonsense'), { kind: 'other' });
  });
});

describe('the edge names the ingest', () => {
  const node = (region: string, wsUrl: string, publicUrl?: string) => ({ region, wsUrl, publicUrl });
  it('config first, then an ingress of its region, its public URL before its cluster address', () => {
    assert.equal(browserIngestUrl('wss://in.example/publish/ws', [], 'eu'), 'wss://in.example/publish/ws');
    assert.equal(browserIngestUrl(undefined, [], 'eu'), undefined);
    assert.equal(
      browserIngestUrl(undefined, [node('us', 'ws://us:8090'), node('eu', 'ws://eu:8090')], 'eu'),
      'ws://eu:8090/publish/ws',
    );
    assert.equal(
      browserIngestUrl(undefined, [node('eu', 'ws://eu:8090', 'https://in.example/')], 'eu'),
      'wss://in.example/publish/ws',
    );
  });
});
