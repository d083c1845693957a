/**
 * Restream outputs' pure parts (issue 16): keys sealed at rest open only with the same secret and for the same
 * output; the key never survives into a logged reason; which video rendition an output sends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createKeySealer } from '../../src/hub/restream/sealed-keys.js';
import { OutputStates, outputView } from '../../src/hub/restream/outputs-api.js';
import { ffmpegTarget, pickVideo, redact, targetUrl } from '../../src/ingress/restream/restream-output.js';
import type { StreamInfo } from '../../src/common/media.js';

test('a sealed key opens with the same secret for the same output, and for nothing else', () => {
  const a = createKeySealer('cluster-secret-aaaaaaaaaaaaaaaa');
  const b = createKeySealer('cluster-secret-bbbbbbbbbbbbbbbb');
  const sealed = a.seal('out_AAAAAAAAAAAA', 'live_123_secret');
  assert.match(sealed, /^v1\.[A-Za-z0-9_-]+$/);
  assert.ok(!sealed.includes('live_123_secret'));
  assert.notEqual(a.seal('out_AAAAAAAAAAAA', 'live_123_secret'), sealed, 'a fresh IV each time');
  assert.equal(a.open('out_AAAAAAAAAAAA', sealed), 'live_123_secret');
  assert.equal(b.open('out_AAAAAAAAAAAA', sealed), undefined, 'another secret');
  assert.equal(a.open('out_BBBBBBBBBBBB', sealed), undefined, 'copied onto another output');
  const raw = Buffer.from(sealed.slice(3), 'base64url');
  raw[raw.length - 1]! ^= 1;
  assert.equal(a.open('out_AAAAAAAAAAAA', `v1.${raw.toString('base64url')}`), undefined, 'tampered');
  assert.equal(a.open('out_AAAAAAAAAAAA', 'live_123_secret'), undefined, 'not a sealed value');
  assert.equal(a.open('out_AAAAAAAAAAAA', 'v1.AAAA'), undefined, 'too short');
});

test('the target URL ends with the key; a reason from ffmpeg loses the key wherever it appears', () => {
  const spec = { url: 'rtmp://live.example.com/app/', key: 'sk_live_9' };
  assert.equal(targetUrl(spec), 'rtmp://live.example.com/app/sk_live_9');
  assert.equal(
    redact(`[flv] Error opening output ${targetUrl(spec)}: Connection refused (sk_live_9)`, spec),
    '[flv] Error opening output rtmp://live.example.com/app/***: Connection refused (***)',
  );
});

test('an output sends its own rendition when the stream has it, else Source, else the top one', () => {
  const r = (id: string, kind: 'video' | 'audio', bandwidth: number) => ({
    id,
    kind,
    bandwidth,
    codecs: '',
    timescale: 90000,
  });
  const ladder = {
    renditions: [r('v240', 'video', 300_000), r('v720', 'video', 3_000_000), r('a0', 'audio', 128_000)],
  } as StreamInfo;
  const withSource = { renditions: [...ladder.renditions, r('src', 'video', 1_000_000)] } as StreamInfo;
  assert.equal(pickVideo(ladder, 'v240'), 'v240');
  assert.equal(pickVideo(ladder, 'source'), 'v720');
  assert.equal(pickVideo(withSource, 'source'), 'src');
  assert.equal(pickVideo(withSource, 'v1080'), 'src', 'a rendition the stream lacks');
  assert.equal(pickVideo({ renditions: [r('a0', 'audio', 1)] } as StreamInfo, 'source'), undefined);
});

test('ffmpeg connects to the address just checked for rtmp://, with the name kept as tcUrl; rtmps:// keeps the name', () => {
  const spec = { url: 'rtmp://live.example.com:1935/app', key: 'k1' };
  assert.deepEqual(ffmpegTarget(spec, ['203.0.113.7']), [
    '-rtmp_tcurl',
    'rtmp://live.example.com:1935/app',
    'rtmp://203.0.113.7:1935/app/k1',
  ]);
  assert.deepEqual(ffmpegTarget(spec, ['2001:db8::7']), [
    '-rtmp_tcurl',
    'rtmp://live.example.com:1935/app',
    'rtmp://[2001:db8::7]:1935/app/k1',
  ]);
  assert.deepEqual(
    ffmpegTarget(spec),
    ['rtmp://live.example.com:1935/app/k1'],
    'private targets allowed: no pin',
  );
  assert.deepEqual(ffmpegTarget({ url: 'rtmps://live.example.com/app', key: 'k1' }, ['203.0.113.7']), [
    'rtmps://live.example.com/app/k1',
  ]);
});

test('output states: a report older than the last is ignored; a channel no longer live shows stopped', () => {
  const states = new OutputStates();
  let live = true;
  const control = {
    sealer: createKeySealer('cluster-secret-aaaaaaaaaaaaaaaa'),
    states,
    allowPrivateTargets: false,
    isLive: () => live,
  };
  const o = {
    id: 'out_AAAAAAAAAAAA',
    name: 'yt',
    url: 'rtmp://x/app',
    keySealed: '',
    rendition: 'source',
    createdAt: 1,
  };
  assert.equal(outputView(o, control, 'alice').state, 'off');
  states.set('alice', 2, [{ id: o.id, state: 'failed', reason: 'Connection refused' }]);
  states.set('alice', 1, [{ id: o.id, state: 'live' }]); // arrived late
  assert.deepEqual(
    { state: outputView(o, control, 'alice').state, reason: outputView(o, control, 'alice').reason },
    { state: 'failed', reason: 'Connection refused' },
  );
  states.set('alice', 3, [{ id: o.id, state: 'live' }]);
  assert.equal(outputView(o, control, 'alice').state, 'live');
  live = false; // the stream ended, or its ingress died before saying so
  assert.equal(outputView(o, control, 'alice').state, 'stopped');
});
