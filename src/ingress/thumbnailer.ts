/**
 * Stills for the directory: every few seconds, for each live stream, the first chunk of the newest segment
 * of the smallest video rendition (a keyframe) is decoded by a short-lived ffmpeg into a 320-pixel JPEG.
 * The transcoder is not touched; a failure only skips that still.
 */
import { ProcessError } from '../common/errors/index.js';
import type { Logger } from '../common/logging/index.js';
import type { StreamRelay } from '../common/relay/stream-relay.js';
import { MAX_THUMBNAIL_BYTES } from '../common/protocol/node-api-limits.js';
import { FfmpegProcess } from './transcoder/ffmpeg-supervisor.js';

export function thumbnailInput(relay: StreamRelay): Buffer | undefined {
  const video = relay.info?.renditions
    .filter((r) => r.kind === 'video')
    .sort((a, b) => (a.height ?? 0) - (b.height ?? 0))[0];
  if (!video) return undefined;
  const cache = relay.renditions.get(video.id);
  const n = cache?.latestStartSegment();
  if (!cache?.init || n === undefined) return undefined;
  const first = cache.segment(n)?.chunks[0];
  return first ? Buffer.concat([cache.init.data, first.meta.payload]) : undefined;
}

/**
 * Fits the still in 320x320 (a publisher's odd aspect ratio must not make a huge JPEG), and refuses one
 * larger than the hub accepts: it would only be refused there. The ffmpeg is a supervised job: killed
 * after `timeoutMs`, its stderr logged at debug, failures THUMBNAIL_FAILED.
 */
export async function makeJpeg(
  ffmpegPath: string,
  mp4: Buffer,
  logger: Logger,
  timeoutMs = 5000,
): Promise<Buffer> {
  const scale = 'scale=320:320:force_original_aspect_ratio=decrease:force_divisible_by=2';
  // prettier-ignore
  const args = ['-hide_banner', '-loglevel', 'error', '-f', 'mp4', '-i', 'pipe:0', '-frames:v', '1', '-vf', scale, '-q:v', '5', '-f', 'image2', '-c:v', 'mjpeg', 'pipe:3'];
  const proc = await FfmpegProcess.start({
    args,
    ffmpegPath,
    outputPipes: 1,
    logger,
    job: true,
    startupWindowMs: 0,
    codes: { startFailed: 'THUMBNAIL_FAILED', died: 'THUMBNAIL_FAILED' },
  });
  const out: Buffer[] = [];
  let size = 0;
  const t = setTimeout(() => proc.kill(), timeoutMs);
  proc.outputs[0]!.on('data', (d: Buffer) => {
    size += d.length;
    if (size <= MAX_THUMBNAIL_BYTES) out.push(d);
    else proc.kill();
  });
  proc.stdin.end(mp4);
  const { code } = await proc.wait();
  clearTimeout(t);
  await proc.close();
  const jpeg = Buffer.concat(out);
  if (size > MAX_THUMBNAIL_BYTES)
    throw new ProcessError('THUMBNAIL_FAILED', `thumbnail over ${MAX_THUMBNAIL_BYTES} bytes`, {
      pid: proc.pid,
    });
  if (code === 0 && jpeg.length > 2 && jpeg[0] === 0xff && jpeg[1] === 0xd8) return jpeg;
  throw new ProcessError('THUMBNAIL_FAILED', `ffmpeg exited ${code}: ${proc.lastLines().slice(0, 200)}`, {
    pid: proc.pid,
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
          await this.opts.deliver(
            relay.name,
            await makeJpeg(this.opts.ffmpegPath, input, this.opts.logger.child({ stream: relay.name })),
          );
        } catch (err) {
          this.opts.logger.debug(
            { stream: relay.name, code: 'THUMBNAIL_FAILED', err: (err as Error).message },
            'thumbnail skipped',
          );
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
