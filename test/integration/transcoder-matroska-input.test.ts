/**
 * The Matroska transcoder input, read by the real ffprobe: publisher tags (H.264 legacy or Enhanced RTMP,
 * HEVC, Opus) go through StreamConfig + FlvInput (the transcoder's own path, a fake stdin) and the bytes
 * it writes must be a stream ffmpeg 5.1 reads with the right codecs, size and frame count.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { FlvInput, StreamConfig } from '../../src/ingress/transcoder/flv-input.js';
import type { SourceTracks } from '../../src/ingress/transcoder/ladder.js';
import type { FlvTag } from '../../src/ingress/flv/flv-tag.js';
import { encodeMp4, tagsFromMp4, type EncodeOptions, type TagOptions } from '../helpers/media-tags.js';

const run = promisify(execFile);

/** What the transcoder would write to ffmpeg's stdin for these tags. */
async function matroskaOf(enc: EncodeOptions, tagOpts: TagOptions = {}): Promise<Buffer> {
  return matroskaOfTags(tagsFromMp4(await encodeMp4(enc), tagOpts), !!enc.video, !!enc.audio);
}

function matroskaOfTags(tags: FlvTag[], hasVideo: boolean, hasAudio: boolean): Buffer {
  const source: SourceTracks = { hasVideo, hasAudio, container: 'matroska' };
  const written: Buffer[] = [];
  const stdin = {
    writable: true,
    writableLength: 0,
    write: (b: Buffer): boolean => written.push(b) > 0,
    cork: () => undefined,
    uncork: () => undefined,
  };
  const config = new StreamConfig(source);
  const input = new FlvInput({
    stdin,
    source,
    maxQueuedBytes: 1 << 30,
    logger: pino({ level: 'silent' }),
    onFirstFrame: () => undefined,
  });
  for (const tag of tags) input.write(tag, config.observe(tag), config);
  return Buffer.concat(written);
}

interface Probed {
  streams: { codec_name: string; codec_type: string; width?: number; height?: number; nb_read_frames?: string; channels?: number; sample_rate?: string }[]; // prettier-ignore
}

async function probe(mkv: Buffer): Promise<Probed> {
  const dir = await mkdtemp(join(tmpdir(), 'tiercast-mkv-'));
  try {
    const file = join(dir, 'in.mkv');
    await writeFile(file, mkv);
    const { stdout } = await run('ffprobe', [
      '-v', 'error', '-count_frames', '-show_entries',
      'stream=codec_name,codec_type,width,height,nb_read_frames,channels,sample_rate', '-of', 'json', file,
    ]); // prettier-ignore
    return JSON.parse(stdout) as Probed;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** ffmpeg decoding the bytes from a pipe, as the transcoder runs it: frames decoded and errors. */
async function decodeFromPipe(mkv: Buffer): Promise<{ frames: number; stderr: string }> {
  const child = execFile('ffmpeg', ['-hide_banner', '-v', 'error', '-f', 'matroska', '-i', 'pipe:0', '-map', '0:v:0', '-f', 'null', '-', '-progress', 'pipe:1']); // prettier-ignore
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin!.end(mkv);
  await new Promise((r) => child.once('close', r));
  const frames = [...stdout.matchAll(/^frame=(\d+)/gm)].pop()?.[1];
  return { frames: Number(frames ?? 0), stderr };
}

void describe('Matroska transcoder input (real ffprobe / ffmpeg)', () => {
  void it('H.264 (legacy FLV form) + Opus (Enhanced RTMP): both tracks, 320x240, every frame', async () => {
    const mkv = await matroskaOf({ video: 'libx264', audio: 'libopus', seconds: 2 });
    const { streams } = await probe(mkv);
    const v = streams.find((s) => s.codec_type === 'video');
    const a = streams.find((s) => s.codec_type === 'audio');
    assert.equal(v?.codec_name, 'h264');
    assert.equal(v?.width, 320);
    assert.equal(v?.height, 240);
    assert.equal(Number(v?.nb_read_frames), 60);
    assert.equal(a?.codec_name, 'opus');
    assert.equal(a?.channels, 1);
    assert.equal(a?.sample_rate, '48000');
    // 2 s of 20 ms packets (the encoder may pad the last one).
    assert.ok(Math.abs(Number(a?.nb_read_frames) - 100) <= 2, `opus packets: ${a?.nb_read_frames}`);
    const decoded = await decodeFromPipe(mkv);
    assert.equal(decoded.frames, 60, decoded.stderr);
    assert.equal(decoded.stderr, '');
  });

  void it('HEVC + AAC as OBS 30 sends them (ex-video hvc1, legacy AAC) and with ex-audio mp4a', async () => {
    for (const enhancedAac of [false, true]) {
      const mkv = await matroskaOf({ video: 'libx265', audio: 'aac', seconds: 1 }, { enhancedAac });
      const { streams } = await probe(mkv);
      const a = streams.find((s) => s.codec_type === 'audio');
      assert.deepEqual([streams[0]?.codec_name, a?.codec_name, a?.sample_rate, a?.channels], ['hevc', 'aac', '48000', 1]); // prettier-ignore
      assert.ok(Math.abs(Number(a?.nb_read_frames) - 47) <= 2, `aac frames: ${a?.nb_read_frames}`);
      const decoded = await decodeFromPipe(mkv);
      assert.equal(decoded.frames, 30, decoded.stderr);
    }
  });

  void it('H.264 in the Enhanced RTMP form (avc1, with composition times): every frame decodes', async () => {
    const mkv = await matroskaOf({ video: 'libx264', seconds: 1 }, { enhancedAvc: true });
    const decoded = await decodeFromPipe(mkv);
    assert.equal(decoded.frames, 30, decoded.stderr);
    assert.equal(decoded.stderr, '');
  });

  void it('HEVC (hvc1, B-frames) decodes from a pipe with every frame', async () => {
    const mkv = await matroskaOf({ video: 'libx265', seconds: 1 });
    const { streams } = await probe(mkv);
    assert.equal(streams[0]?.codec_name, 'hevc');
    assert.equal(streams[0]?.width, 320);
    const decoded = await decodeFromPipe(mkv);
    assert.equal(decoded.frames, 30, decoded.stderr);
    assert.equal(decoded.stderr, '');
  });

  void it('a HEVC sequence header that changes mid-stream (new size) goes in-band: the new size decodes', async () => {
    const small = tagsFromMp4(await encodeMp4({ video: 'libx265', seconds: 1, width: 320, height: 240 }));
    const large = tagsFromMp4(await encodeMp4({ video: 'libx265', seconds: 1, width: 640, height: 360 }));
    const shift = small.at(-1)!.timestamp + 33;
    const tags = [...small, ...large.filter((t) => t.type !== 18).map((t) => ({ ...t, timestamp: t.timestamp + shift }))]; // prettier-ignore
    const mkv = matroskaOfTags(tags, true, false);
    const decoded = await decodeFromPipe(mkv);
    assert.equal(decoded.frames, 60, decoded.stderr);
    const dir = await mkdtemp(join(tmpdir(), 'tiercast-mkv-'));
    try {
      await writeFile(join(dir, 'in.mkv'), mkv);
      const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'frame=width', '-of', 'csv=p=0', join(dir, 'in.mkv')]); // prettier-ignore
      const widths = stdout
        .trim()
        .split('\n')
        .map((l) => parseInt(l, 10))
        .filter((w) => w > 0);
      assert.deepEqual([widths.length, widths[0], widths.at(-1)], [60, 320, 640]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
