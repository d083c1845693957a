/**
 * `--demo`: publishes a test pattern with a tone through the real RTMP path (ffmpeg's RTMP client), so a
 * newcomer sees video without OBS. Restarted if it dies (not if it cannot start); close() stops it for good (SIGTERM, then SIGKILL).
 */
import { errorCode, errorMessage } from '../common/errors/index.js';
import type { Logger } from '../common/logging/index.js';
import { FfmpegProcess } from './transcoder/ffmpeg-supervisor.js';
import { sourceEncodeArgs } from './source-encode.js';

export interface DemoPublisherOptions {
  rtmpUrl: string;
  /** The publish name (stream key). Passed in argv to the local ffmpeg only, never logged. */
  key: string;
  ffmpegPath?: string;
  width?: number;
  height?: number;
  logger: Logger;
}

export function demoArgs(o: Pick<DemoPublisherOptions, 'rtmpUrl' | 'key' | 'width' | 'height'>): string[] {
  const size = `${o.width ?? 1280}x${o.height ?? 720}`;
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    '-re',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${size}:rate=30`,
    '-re',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:beep_factor=4:sample_rate=48000',
    ...sourceEncodeArgs({ videoBitrateKbps: 3000, audioBitrateKbps: 128 }),
    `${o.rtmpUrl.replace(/\/+$/, '')}/${o.key}`,
  ];
}

export class DemoPublisher {
  private proc: FfmpegProcess | undefined;
  private closed = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private starting: Promise<void> | undefined;

  constructor(private readonly opts: DemoPublisherOptions) {}

  start(): void {
    if (this.closed) return;
    this.starting = this.run();
  }

  private async run(): Promise<void> {
    const log = this.opts.logger;
    const key = this.opts.key;
    let proc: FfmpegProcess;
    try {
      proc = await FfmpegProcess.start({
        args: demoArgs(this.opts),
        ffmpegPath: this.opts.ffmpegPath,
        outputPipes: 0,
        logger: log,
        codes: { startFailed: 'PROCESS_START_FAILED', died: 'PROCESS_DIED' },
        stderrLevel: 'warn',
        // The key is in argv: keep it out of every log line and error message.
        redact: (text) => text.replaceAll(key, '[key]'),
      });
    } catch (err) {
      // Not retried: a missing ffmpeg or bad arguments would fail the same way every second.
      log.error({ code: errorCode(err), err: errorMessage(err) }, 'demo publisher failed to start');
      return;
    }
    if (this.closed) {
      await proc.close();
      return;
    }
    this.proc = proc;
    proc.on('died', () => {
      if (this.proc === proc) this.proc = undefined;
      if (this.closed) return;
      log.warn('demo publisher exited; restarting in 1 s');
      this.restartTimer = setTimeout(() => this.start(), 1000);
    });
    log.info({ pid: proc.pid }, 'demo publisher started');
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.starting;
    await this.proc?.close();
  }
}
