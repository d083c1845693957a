/**
 * Stills for the directory: every few seconds, for each live stream, the first chunk of the newest segment
 * of the smallest video rendition (a keyframe) is decoded by a short-lived ffmpeg into a 320-pixel JPEG.
 * The transcoder is not touched; a failure only skips that still.
 */
import { spawn } from 'node:child_process';
import type { Logger } from '../common/logging/index.js';
import type { StreamRelay } from '../common/relay/stream-relay.js';
import { MAX_THUMBNAIL_BYTES } from '../common/protocol/node-api-limits.js';

export function thumbnailInput(relay: StreamRelay): Buffer | undefined {
  const video = relay.info?.renditions.filter((r) => r.kind === 'video').sort((a, b) => (a.height ?? 0) - (b.height ?? 0))[0];
  if (!video) return undefined;
  const cache = relay.renditions.get(video.id);
  const n = cache?.latestStartSegment();
  if (!cache?.init || n === undefined) return undefined;
  const first = cache.segment(n)?.chunks[0];
  return first ? Buffer.concat([cache.init.data, first.meta.payload]) : undefined;
}

/**
 * Fits the still in 320x320 (a publisher's odd aspect ratio must not make a huge JPEG), and refuses one
 * larger than the hub accepts: it would only be refused there.
 */
export function makeJpeg(ffmpegPath: string, mp4: Buffer, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const scale = 'scale=320:320:force_original_aspect_ratio=decrease:force_divisible_by=2';
    const p = spawn(ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-f', 'mp4', '-i', 'pipe:0', '-frames:v', '1', '-vf', scale, '-q:v', '5', '-f', 'image2', '-c:v', 'mjpeg', 'pipe:1'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let size = 0;
    let err = '';
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.on('data', (d: Buffer) => {
      size += d.length;
      if (size <= MAX_THUMBNAIL_BYTES) out.push(d);
      else if (p.exitCode === null) p.kill('SIGKILL');
    });
    p.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-1000)));
    p.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    p.on('exit', (code) => {
      clearTimeout(t);
      const jpeg = Buffer.concat(out);
      if (size > MAX_THUMBNAIL_BYTES) reject(new Error(`thumbnail over ${MAX_THUMBNAIL_BYTES} bytes`));
      else if (code === 0 && jpeg.length > 2 && jpeg[0] === 0xff && jpeg[1] === 0xd8) resolve(jpeg);
      else reject(new Error(`ffmpeg exited ${code}: ${err.trim().slice(0, 200)}`));
    });
    p.stdin.on('error', () => undefined);
    p.stdin.end(mp4);
  });
}

export class Thumbnailer {
  private readonly timer: NodeJS.Timeout;
  private busy = false;

  constructor(
    private readonly opts: {
      intervalMs: number;
      ffmpegPath: string;
      streams: () => StreamRelay[];
      deliver: (stream: string, jpeg: Buffer) => Promise<void>;
      logger: Logger;
    },
  ) {
    this.timer = setInterval(() => void this.tick(), opts.intervalMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (const relay of this.opts.streams()) {
        if (relay.state !== 'live') continue;
        const input = thumbnailInput(relay);
        if (!input) continue;
        try {
          await this.opts.deliver(relay.name, await makeJpeg(this.opts.ffmpegPath, input));
        } catch (err) {
          this.opts.logger.debug({ stream: relay.name, code: 'THUMBNAIL_FAILED', err: (err as Error).message }, 'thumbnail skipped');
        }
      }
    } finally {
      this.busy = false;
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
