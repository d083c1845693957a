import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { pino } from 'pino';
import { FlvInput, StreamConfig } from '../../src/ingress/transcoder/flv-input.js';
import { type FlvTag } from '../../src/ingress/flv/flv-tag.js';
import { flvHeader, serializeTag } from '../../src/ingress/flv/flv-writer.js';

const logger = pino({ level: 'silent' });

/** Records each buffer, and how many buffers reach the pipe together (one write, uncorked or not). */
class FakeStdin {
  writes: Buffer[] = [];
  batches: number[] = [];
  writable = true;
  writableLength = 0;
  private corks = 0;
  private pending = 0;
  write(chunk: Buffer): boolean {
    this.writes.push(chunk);
    if (this.corks > 0) this.pending++;
    else this.batches.push(1);
    return true;
  }
  cork(): void {
    this.corks++;
  }
  uncork(): void {
    if (this.corks === 0 || --this.corks > 0) return;
    if (this.pending > 0) this.batches.push(this.pending);
    this.pending = 0;
  }
}

const tag = (type: 8 | 9 | 18, timestamp: number, hex: string, receivedAt = 1000 + timestamp): FlvTag => ({
  type,
  timestamp,
  data: Buffer.from(hex, 'hex'),
  receivedAt,
});
const setDataFrame = Buffer.concat([
  Buffer.from('02000d', 'hex'),
  Buffer.from('@setDataFrame'),
  Buffer.from('02000a', 'hex'),
  Buffer.from('onMetaData'),
  Buffer.from('0800000000000009', 'hex'),
]);
const metadata: FlvTag = { type: 18, timestamp: 0, data: setDataFrame, receivedAt: 1000 };
const avcConfig = tag(9, 0, '1700000000014d401effe1');
const aacConfig = tag(8, 0, 'af001190');
const key = (ts: number): FlvTag => tag(9, ts, '1701000000aa');
const inter = (ts: number): FlvTag => tag(9, ts, '2701000000bb');
const audio = (ts: number): FlvTag => tag(8, ts, 'af01cc');

function setup(source = { hasAudio: true, hasVideo: true }, maxQueuedBytes = 1000) {
  const stdin = new FakeStdin();
  const config = new StreamConfig(source);
  const first: FlvTag[] = [];
  const input = new FlvInput({
    stdin,
    source,
    maxQueuedBytes,
    logger,
    onFirstFrame: (t) => first.push(t),
  });
  const write = (t: FlvTag): void => input.write(t, config.observe(t), config);
  return { stdin, input, write, first };
}

test('FLV header first; nothing before the first keyframe, then stored config with its timestamp, then the frame', () => {
  const { stdin, input, write, first } = setup();
  assert.deepEqual(stdin.writes, [flvHeader({ audio: true, video: true })]);
  for (const t of [metadata, avcConfig, aacConfig, audio(0), inter(33), audio(40)]) write(t);
  assert.equal(stdin.writes.length, 1, 'held back until a keyframe');
  write(key(1000));
  assert.deepEqual(stdin.writes.slice(1), [
    // @setDataFrame stripped so that ffmpeg reads the metadata
    serializeTag({ type: 18, timestamp: 1000, data: setDataFrame.subarray(16) }),
    serializeTag({ ...avcConfig, timestamp: 1000 }),
    serializeTag({ ...aacConfig, timestamp: 1000 }),
    serializeTag(key(1000)),
  ]);
  assert.deepEqual(first, [key(1000)]);
  assert.equal(input.baseTs, 1000);
  write(audio(1010));
  write(inter(1033));
  write(avcConfig); // mid-stream config goes straight through
  assert.deepEqual(stdin.writes.slice(5), [
    serializeTag(audio(1010)),
    serializeTag(inter(1033)),
    serializeTag(avcConfig),
  ]);
  assert.equal(first.length, 1);
  // receivedAt by media time relative to the first frame
  assert.equal(input.maps.video.lookup(40), 1000 + 1033);
  assert.equal(input.maps.video.lookup(0), 2000);
  assert.equal(input.maps.audio.lookup(10), 2010);
});

test('jammed stdin: video dropped until a keyframe fits; audio kept until twice the ceiling', () => {
  const { stdin, write } = setup(undefined, 1000);
  write(key(0));
  const n = stdin.writes.length;
  stdin.writableLength = 1500;
  write(inter(33));
  write(audio(40));
  write(key(66)); // still jammed: dropped too
  stdin.writableLength = 2500;
  write(audio(80));
  assert.deepEqual(stdin.writes.slice(n), [serializeTag(audio(40))]);
  stdin.writableLength = 500;
  write(inter(100)); // drained, but not a keyframe
  write(key(133));
  write(inter(166));
  assert.deepEqual(stdin.writes.slice(n + 1), [serializeTag(key(133)), serializeTag(inter(166))]);
});

test('audio-only source starts at the first audio frame; video tags are ignored', () => {
  const { stdin, write, first } = setup({ hasAudio: true, hasVideo: false });
  assert.deepEqual(stdin.writes, [flvHeader({ audio: true, video: false })]);
  write(aacConfig);
  write(key(0));
  write(audio(0));
  assert.deepEqual(stdin.writes.slice(1), [serializeTag(aacConfig), serializeTag(audio(0))]);
  assert.deepEqual(first, [audio(0)]);
});

test('video-only source: audio tags and their config never reach ffmpeg', () => {
  const { stdin, write } = setup({ hasAudio: false, hasVideo: true });
  write(aacConfig);
  write(avcConfig);
  write(audio(0));
  write(key(0));
  write(audio(10));
  assert.deepEqual(stdin.writes.slice(1), [serializeTag(avcConfig), serializeTag(key(0))]);
});

test('nothing is written once stdin is no longer writable', () => {
  const { stdin, write } = setup();
  stdin.writable = false;
  write(key(0));
  assert.equal(stdin.writes.length, 1);
});

test('Enhanced RTMP Metadata flagged as a keyframe is ignored: the real keyframe starts the run', () => {
  const source = { hasAudio: false, hasVideo: true, container: 'matroska' as const };
  const { stdin, write, first } = setup(source);
  const exConfig = tag(9, 0, '90' + Buffer.from('hvc1').toString('hex') + '01'.repeat(23));
  const exMetadata = tag(9, 0, '94' + Buffer.from('hvc1').toString('hex') + '0a0009');
  const exKey = tag(9, 40, '91' + Buffer.from('hvc1').toString('hex') + '000000aa');
  for (const t of [exConfig, exMetadata]) write(t);
  assert.equal(stdin.writes.length, 0, 'Matroska writes nothing before the start tag');
  write(exKey);
  assert.deepEqual(first, [exKey]);
  assert.equal(stdin.writes.length, 2, 'the Matroska header, then the keyframe');
  assert.ok(stdin.writes[1]!.subarray(-1).equals(Buffer.from([0xaa])));
});

test("the tags of one event-loop turn reach ffmpeg in one write; the next turn's in another", async () => {
  const { stdin, write } = setup();
  for (const t of [metadata, avcConfig, aacConfig, key(0), audio(10), inter(33)]) write(t);
  assert.deepEqual(stdin.batches, [1], 'only the header so far: the rest waits for the turn to end');
  await new Promise((r) => setImmediate(r));
  // metadata, AVC and AAC config with the keyframe, then the audio frame and the inter frame
  assert.deepEqual(stdin.batches, [1, 6]);
  write(audio(43));
  await new Promise((r) => setImmediate(r));
  write(inter(66));
  write(audio(66));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(stdin.batches, [1, 6, 1, 2]);
});
