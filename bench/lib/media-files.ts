/**
 * Media the bench makes for itself (cached under bench/out/cache): background frames for the clock
 * publisher and a pre-encoded source clip for the transcoding-cost run. Also the offline readers:
 * fMP4 sample counts and clock values decoded from received media with ffmpeg.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readClockGray } from './clock-code.js';

export const BENCH_OUT = join(import.meta.dirname, '..', 'out');
export const CACHE_DIR = join(BENCH_OUT, 'cache');

export function run(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; input?: Buffer; maxBuffer?: number } = {},
): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    const p = execFile(
      cmd,
      args,
      {
        encoding: 'buffer',
        maxBuffer: opts.maxBuffer ?? 1024 * 1024 * 1024,
        timeout: opts.timeoutMs ?? 120_000,
      },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout, stderr: stderr.toString() });
      },
    );
    if (opts.input) p.stdin?.end(opts.input);
  });
}

/** `frames` raw yuv420p frames of ffmpeg's testsrc2 (moving content, so encoders meet their bitrate). */
export async function backgroundFrames(width: number, height: number, frames: number): Promise<Buffer> {
  mkdirSync(CACHE_DIR, { recursive: true });
  const file = join(CACHE_DIR, `bg-${width}x${height}-${frames}.yuv`);
  if (!existsSync(file)) {
    const r = await run('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=${width}x${height}:rate=30`,
      '-frames:v',
      String(frames),
      '-pix_fmt',
      'yuv420p',
      '-f',
      'rawvideo',
      '-y',
      `${file}.tmp`,
    ]);
    if (r.code !== 0) throw new Error(`ffmpeg could not render background frames: ${r.stderr}`);
    renameSync(`${file}.tmp`, file);
  }
  return readFileSync(file);
}

/** A pre-encoded FLV clip (x264 + AAC) as an OBS-like publisher would send. */
export async function sourceClip(
  width: number,
  height: number,
  seconds: number,
  kbps: number,
): Promise<string> {
  mkdirSync(CACHE_DIR, { recursive: true });
  const file = join(CACHE_DIR, `clip-${width}x${height}-${seconds}s-${kbps}k.flv`);
  if (!existsSync(file)) {
    const r = await run('ffmpeg', [
      '-hide_banner', '-loglevel', 'error',
      '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=30`,
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', String(seconds),
      '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '30', '-pix_fmt', 'yuv420p',
      '-b:v', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${kbps}k`,
      '-c:a', 'aac', '-ar', '48000', '-b:a', '128k',
      '-f', 'flv', '-y', `${file}.tmp`,
    ], { timeoutMs: 600_000 }); // prettier-ignore
    if (r.code !== 0) throw new Error(`ffmpeg could not make the source clip: ${r.stderr}`);
    renameSync(`${file}.tmp`, file);
  }
  return file;
}

/** Walks top-level boxes; returns [type, start, size] triples. */
export function boxes(buf: Buffer, from = 0, to = buf.length): Array<[string, number, number]> {
  const out: Array<[string, number, number]> = [];
  let o = from;
  while (o + 8 <= to) {
    let size = buf.readUInt32BE(o);
    const type = buf.toString('latin1', o + 4, o + 8);
    if (size === 1 && o + 16 <= to) size = Number(buf.readBigUInt64BE(o + 8));
    if (size < 8 || o + size > to) break;
    out.push([type, o, size]);
    o += size;
  }
  return out;
}

/** Video samples in a CMAF chunk (moof → traf → trun sample_count, summed). */
export function sampleCount(chunk: Buffer): number {
  let n = 0;
  for (const [type, start, size] of boxes(chunk)) {
    if (type !== 'moof') continue;
    for (const [t2, s2, z2] of boxes(chunk, start + 8, start + size)) {
      if (t2 !== 'traf') continue;
      for (const [t3, s3] of boxes(chunk, s2 + 8, s2 + z2))
        if (t3 === 'trun') n += chunk.readUInt32BE(s3 + 12);
    }
  }
  return n;
}

export const PROBE_W = 192;
export const PROBE_H = 108;

/** Decodes a media file (or fMP4 bytes) and reads the clock of every frame, in presentation order. */
export async function decodeClocks(
  fileOrBytes: string | Buffer,
  nearMs: number,
  extraInput: string[] = [],
): Promise<Array<number | undefined>> {
  let path = typeof fileOrBytes === 'string' ? fileOrBytes : '';
  if (typeof fileOrBytes !== 'string') {
    mkdirSync(join(BENCH_OUT, 'tmp'), { recursive: true });
    path = join(BENCH_OUT, 'tmp', `decode-${process.pid}-${Math.random().toString(36).slice(2)}.mp4`);
    writeFileSync(path, fileOrBytes);
  }
  const r = await run(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      ...extraInput,
      '-i',
      path,
      '-map',
      '0:v:0',
      '-fps_mode',
      'passthrough',
      '-vf',
      `scale=${PROBE_W}:${PROBE_H},format=gray`,
      '-f',
      'rawvideo',
      'pipe:1',
    ],
    { timeoutMs: 300_000 },
  );
  const frame = PROBE_W * PROBE_H;
  const out: Array<number | undefined> = [];
  for (let o = 0; o + frame <= r.stdout.length; o += frame)
    out.push(readClockGray(r.stdout.subarray(o, o + frame), PROBE_W, PROBE_H, nearMs));
  return out;
}
