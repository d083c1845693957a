/**
 * The clock publisher, a process of its own so that the bench's other work cannot delay its frames:
 * paints the wall-clock time into each frame (clock-code.ts) at the moment it hands the frame to
 * ffmpeg's x264 (stdin, raw yuv420p), and publishes over RTMP to every URL given (ffmpeg's tee muxer:
 * one encode, the same bytes to tiercast and to the peer).
 *
 * The sound carries the clock too (av-probe.ts hears it): silence, and a 1 kHz tone burst whose first
 * sample stands for each whole second of wall-clock time. Each frame handed over comes with the audio of
 * its own frame interval (s16le mono on fd 3), made from the wall-clock time painted into that frame, so
 * both inputs count time in the same units from the same start (frames at 1/fps, samples at 1/48000): a
 * frame the encoder was not ready for is dropped together with its audio, and the burst of second S sits
 * at the same media time as the frame painted at S (to within the timer's lateness around it: the
 * largest is burstSkewMs, and skewedBursts those off by more than 5 ms, each printed as "skewed <second
 * in epoch ms>").
 *
 * argv: JSON { width, height, fps, kbps, preset, urls: string[] }. Prints "ready" once running, a
 * JSON line of counters every 5 s, and a "skewed" line for each burst out of step with its frame.
 */
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { paintClock } from './clock-code.js';
import { ClockTone } from './av-probe.js';
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
const AUDIO_RATE = 48000;
// Samples per frame interval: whole at 30 fps (1600); otherwise the remainder is carried over.
const samplesPerFrame = AUDIO_RATE / o.fps;
const tee = o.urls.map((u) => `[f=flv:flvflags=no_duration_filesize:onfail=ignore]${u}`).join('|');
const ff = spawn('ffmpeg', [
  '-hide_banner', '-loglevel', 'error', '-nostdin',
  '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${o.width}x${o.height}`, '-framerate', String(o.fps), '-i', 'pipe:0',
  // Opened after the video: a probe of one packet, which the audio of the first frames already holds
  // (audio comes only with the frames ffmpeg takes, and it takes none while it opens this input).
  '-thread_queue_size', '64', '-probesize', '32', '-analyzeduration', '0', '-f', 's16le', '-ar', String(AUDIO_RATE), '-ac', '1', '-i', 'pipe:3',
  '-map', '0:v', '-map', '1:a',
  '-c:v', 'libx264', '-preset', o.preset, '-tune', 'zerolatency', '-g', String(o.fps), '-keyint_min', String(o.fps), '-sc_threshold', '0',
  '-b:v', `${o.kbps}k`, '-maxrate', `${o.kbps}k`, '-bufsize', `${o.kbps}k`, '-pix_fmt', 'yuv420p', '-threads', '2',
  '-c:a', 'aac', '-ar', '48000', '-b:a', '128k',
  '-flags', '+global_header',
  '-f', 'tee', tee,
], { stdio: ['pipe', 'ignore', 'pipe', 'pipe'] }); // prettier-ignore
const videoIn = ff.stdio[0] as Writable;
const audioIn = ff.stdio[3] as Writable;
(ff.stdio[2] as Readable).on('data', (d: Buffer) =>
  process.stderr.write(`publisher ffmpeg: ${d.toString()}`),
);
ff.on('exit', (code, signal) => {
  process.stderr.write(`publisher ffmpeg exited (${code ?? signal})\n`);
  process.exit(1);
});
videoIn.on('error', () => undefined);
audioIn.on('error', () => undefined);

let n = 0;
let late = 0;
let maxQueuedFrames = 0;
let dropped = 0;
let bursts = 0;
let burstSkewMs = 0;
let skewedBursts = 0;
let samplesOut = 0;
let framesOut = 0;
// The painted time of the frame whose audio holds the last burst's onset (for burstSkewMs).
let burstFrameAt: number | undefined;
let burstSecondMs = 0;
const tone = new ClockTone(AUDIO_RATE, performance.timeOrigin + performance.now());
const interval = 1000 / o.fps;
const t0 = performance.now();
const tick = () => {
  // A camera drops a frame its encoder has not taken yet: a frame waiting in our queue would carry a
  // hand-off time earlier than the real one (this happens while ffmpeg connects its outputs).
  if (videoIn.writableLength >= frameBytes) {
    dropped++;
  } else {
    const frame = Buffer.from(bg.subarray((n % BG_FRAMES) * frameBytes, ((n % BG_FRAMES) + 1) * frameBytes));
    // The hand-off moment: painted, then written at once.
    const at = performance.timeOrigin + performance.now();
    paintClock(frame, o.width, o.height, at);
    videoIn.write(frame);
    // The frame after a burst's frame: how far its painted time is from where its audio put it.
    if (burstFrameAt !== undefined) {
      const skew = Math.abs(at - burstFrameAt - 1000 / o.fps);
      burstSkewMs = Math.max(burstSkewMs, skew);
      if (skew > 5) {
        skewedBursts++;
        // The bench leaves this second out of the A/V offsets: its sound and picture were not in step.
        process.stdout.write(`skewed ${burstSecondMs}\n`);
      }
      burstFrameAt = undefined;
    }
    framesOut++;
    const samples = Math.round(framesOut * samplesPerFrame) - samplesOut;
    const { pcm, onsetSecondMs } = tone.next(at, samples);
    audioIn.write(pcm);
    samplesOut += samples;
    if (onsetSecondMs !== undefined) {
      bursts++;
      burstFrameAt = at;
      burstSecondMs = onsetSecondMs;
    }
    maxQueuedFrames = Math.max(maxQueuedFrames, Math.floor(videoIn.writableLength / frameBytes));
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
  () =>
    process.stdout.write(
      `${JSON.stringify({ frames: n, late, dropped, maxQueuedFrames, bursts, burstSkewMs: Math.round(burstSkewMs * 10) / 10, skewedBursts })}\n`,
    ),
  5000,
).unref();
const quit = () => {
  ff.removeAllListeners('exit');
  videoIn.end();
  audioIn.end();
  ff.kill('SIGTERM');
  setTimeout(() => process.exit(0), 300);
};
process.on('SIGTERM', quit);
process.on('SIGINT', quit);
