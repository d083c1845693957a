/**
 * The clock publisher, a process of its own so that the bench's other work cannot delay its frames:
 * paints the wall-clock time into each frame (clock-code.ts) at the moment it hands the frame to
 * ffmpeg's x264 (stdin, raw yuv420p), with a sine tone, and publishes over RTMP to every URL given
 * (ffmpeg's tee muxer: one encode, the same bytes to tiercast and to the peer).
 *
 * argv: JSON { width, height, fps, kbps, preset, urls: string[] }. Prints "ready" once running and a
 * JSON line of counters every 5 s.
 */
import { spawn } from 'node:child_process';
import { paintClock } from './clock-code.js';
import { backgroundFrames } from './media-files.js';

interface Options {
  width: number;
  height: number;
  fps: number;
  kbps: number;
  preset: string;
  urls: string[];
}

const o = JSON.parse(process.argv[2] ?? '{}') as Options;
const frameBytes = (o.width * o.height * 3) / 2;
const BG_FRAMES = 60;
const bg = await backgroundFrames(o.width, o.height, BG_FRAMES);
const tee = o.urls.map((u) => `[f=flv:flvflags=no_duration_filesize:onfail=ignore]${u}`).join('|');
const ff = spawn('ffmpeg', [
  '-hide_banner', '-loglevel', 'error', '-nostdin',
  '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${o.width}x${o.height}`, '-framerate', String(o.fps), '-i', 'pipe:0',
  '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
  '-map', '0:v', '-map', '1:a',
  '-c:v', 'libx264', '-preset', o.preset, '-tune', 'zerolatency', '-g', String(o.fps), '-keyint_min', String(o.fps), '-sc_threshold', '0',
  '-b:v', `${o.kbps}k`, '-maxrate', `${o.kbps}k`, '-bufsize', `${o.kbps}k`, '-pix_fmt', 'yuv420p', '-threads', '2',
  '-c:a', 'aac', '-ar', '48000', '-b:a', '128k',
  '-flags', '+global_header',
  '-f', 'tee', tee,
], { stdio: ['pipe', 'ignore', 'pipe'] }); // prettier-ignore
ff.stderr.on('data', (d: Buffer) => process.stderr.write(`publisher ffmpeg: ${d.toString()}`));
ff.on('exit', (code, signal) => {
  process.stderr.write(`publisher ffmpeg exited (${code ?? signal})\n`);
  process.exit(1);
});
ff.stdin.on('error', () => undefined);

let n = 0;
let late = 0;
let maxQueuedFrames = 0;
let dropped = 0;
const interval = 1000 / o.fps;
const t0 = performance.now();
const tick = () => {
  // A camera drops a frame its encoder has not taken yet: a frame waiting in our queue would carry a
  // hand-off time earlier than the real one (this happens while ffmpeg connects its outputs).
  if (ff.stdin.writableLength >= frameBytes) {
    dropped++;
  } else {
    const frame = Buffer.from(bg.subarray((n % BG_FRAMES) * frameBytes, ((n % BG_FRAMES) + 1) * frameBytes));
    // The hand-off moment: painted, then written at once.
    paintClock(frame, o.width, o.height, performance.timeOrigin + performance.now());
    ff.stdin.write(frame);
    maxQueuedFrames = Math.max(maxQueuedFrames, Math.floor(ff.stdin.writableLength / frameBytes));
  }
  n++;
  const next = t0 + n * interval;
  const wait = next - performance.now();
  if (wait < -interval) late++;
  setTimeout(tick, Math.max(0, wait));
};
tick();
process.stdout.write('ready\n');
setInterval(
  () => process.stdout.write(`${JSON.stringify({ frames: n, late, dropped, maxQueuedFrames })}\n`),
  5000,
).unref();
const quit = () => {
  ff.removeAllListeners('exit');
  ff.stdin.end();
  ff.kill('SIGTERM');
  setTimeout(() => process.exit(0), 300);
};
process.on('SIGTERM', quit);
process.on('SIGINT', quit);
