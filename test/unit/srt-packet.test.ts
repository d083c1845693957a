/**
 * The SRT handshake codec against byte fixtures captured from ffmpeg 5.1's libsrt 1.5.1 caller
 * (`ffmpeg … -f mpegts "srt://127.0.0.1:9555?streamid=abcdefghij"`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HS_CONCLUSION,
  HS_INDUCTION,
  REJECT,
  conclusionForListener,
  encodeStreamId,
  inductionRequestFrom,
  inductionResponse,
  isHsv5Conclusion,
  parseHandshake,
  rejection,
  streamIdOf,
  streamKeyFromStreamId,
  synCookie,
} from '../../src/ingress/srt/srt-packet.js';

const INDUCTION = Buffer.from(
  '8000000000000000000001250000000000000004000000026312a7e4000005dc00002000000000011de249ea000000000100007f000000000000000000000000',
  'hex',
);
const CONCLUSION = Buffer.from(
  '800000000000000000001bb90000000000000005000000056312a7e4000005dc00002000ffffffff1de249eadeadbeef0100007f0000000000000000000000000001000300010501000000bf0078000000050003646362616867666500006a69',
  'hex',
);

test("a caller's induction and conclusion decode; the Stream ID's reversed words read back", () => {
  const i = parseHandshake(INDUCTION)!;
  assert.equal(i.type, HS_INDUCTION);
  assert.equal(i.version, 4);
  assert.equal(i.socketId, 0x1de249ea);
  const c = parseHandshake(CONCLUSION)!;
  assert.equal(c.type, HS_CONCLUSION);
  assert.equal(c.cookie, 0xdeadbeef);
  assert.ok(isHsv5Conclusion(c));
  assert.deepEqual(
    c.extensions.map((e) => e.type),
    [1, 5],
  );
  assert.equal(streamIdOf(c), 'abcdefghij');
  assert.deepEqual(encodeStreamId('abcdefghij'), c.extensions[1]!.body);
});

test('anything else decodes to undefined, never throws', () => {
  assert.equal(parseHandshake(Buffer.from([1, 2, 3])), undefined);
  assert.equal(parseHandshake(Buffer.alloc(64)), undefined, 'a data packet');
  const cut = Buffer.from(CONCLUSION.subarray(0, CONCLUSION.length - 2));
  assert.equal(parseHandshake(cut), undefined, 'an extension longer than the datagram');
});

test('the key: the bare Stream ID, or r= of #!:: with m=publish (percent-encoded too)', () => {
  assert.equal(streamKeyFromStreamId('live_key_123'), 'live_key_123');
  assert.equal(streamKeyFromStreamId('#!::r=live_key_123,m=publish'), 'live_key_123');
  assert.equal(streamKeyFromStreamId('#!::m=publish,u=alice,r=live_key_123'), 'live_key_123');
  assert.equal(streamKeyFromStreamId('%23%21%3A%3Ar%3Dlive_key_123%2Cm%3Dpublish'), 'live_key_123');
  assert.equal(streamKeyFromStreamId('#!::r=live_key_123,m=request'), undefined, 'a player');
  assert.equal(streamKeyFromStreamId('#!::u=alice'), undefined, 'no resource');
});

test('our induction answer: HSv5, the SRT magic, our cookie, addressed to the caller', () => {
  const r = inductionResponse(INDUCTION, {
    cookie: 0x01020304,
    listenerId: 77,
    timestamp: 5,
    peerAddress: '10.0.0.2',
  });
  const h = parseHandshake(r)!;
  assert.equal(h.version, 5);
  assert.equal(r.readUInt16BE(16 + 6), 0x4a17);
  assert.equal(h.cookie, 0x01020304);
  assert.equal(h.destId, 0x1de249ea);
  assert.equal(h.socketId, 77);
  assert.deepEqual([...r.subarray(48, 52)], [2, 0, 0, 10], 'libsrt peer-IP word order');
});

test('replay to ffmpeg: an HSv4-style induction, then the conclusion with its cookie', () => {
  const i = parseHandshake(inductionRequestFrom(CONCLUSION, 9))!;
  assert.equal(i.type, HS_INDUCTION);
  assert.equal(i.version, 4);
  assert.equal(i.cookie, 0);
  assert.equal(i.socketId, 0x1de249ea);
  const c = conclusionForListener(CONCLUSION, { cookie: 0xabc, ourListenerId: 1, theirListenerId: 2 });
  const h = parseHandshake(c)!;
  assert.equal(h.cookie, 0xabc);
  assert.equal(h.destId, 0, 'ffmpeg addressed as the caller addressed us (0)');
  assert.equal(streamIdOf(h), 'abcdefghij', 'extensions untouched');
});

test('a rejection carries 1000 + reason and no extensions', () => {
  const r = rejection(CONCLUSION, REJECT.FORBIDDEN, 1);
  const h = parseHandshake(r)!;
  assert.equal(h.type, 2403);
  assert.equal(h.extensions.length, 0);
  assert.equal(h.destId, 0x1de249ea);
});

test('the SYN cookie depends on address, port and minute', () => {
  const k = Buffer.alloc(32, 1);
  const c = synCookie(k, '10.0.0.2', 5000, 100);
  assert.equal(synCookie(k, '10.0.0.2', 5000, 100), c);
  assert.notEqual(synCookie(k, '10.0.0.2', 5001, 100), c);
  assert.notEqual(synCookie(k, '10.0.0.3', 5000, 100), c);
  assert.notEqual(synCookie(k, '10.0.0.2', 5000, 101), c);
});
