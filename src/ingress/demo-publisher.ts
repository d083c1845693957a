/**
 * `--demo`: publishes a test pattern with a tone through the real RTMP path (ffmpeg's RTMP client), so a
 * newcomer sees video without OBS. Restarted if it dies; close() stops it for good (SIGTERM, then SIGKILL).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../common/logging/index.js';

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
    '-hide_banner', '-loglevel', 'error', '-nostdin',
    '-re', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30`,
    '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:beep_factor=4:sample_rate=48000',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '30', '-b:v', '3000k', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '128k', '-ar', '48000',
    '-f', 'flv', `${o.rtmpUrl.replace(/\/+$/, '')}/${o.key}`,
  ];
}

export class DemoPublisher {
  private proc: ChildProcess | undefined;
  private closed = false;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: DemoPublisherOptions) {}

  start(): void {
    if (this.closed) return;
    const log = this.opts.logger;
    const proc = spawn(this.opts.ffmpegPath ?? 'ffmpeg', demoArgs(this.opts), { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    proc.on('error', (err) => log.error({ err: err.message }, 'demo publisher failed to start'));
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (d: string) => {
      for (const line of d.split('\n').filter(Boolean)) log.warn({ pid: proc.pid }, `demo ffmpeg: ${line.replaceAll(this.opts.key, '[key]')}`);
    });
    proc.on('exit', (code, signal) => {
      if (this.proc === proc) this.proc = undefined;
      if (this.closed) return;
      log.warn({ code, signal }, 'demo publisher exited; restarting in 1 s');
      this.restartTimer = setTimeout(() => this.start(), 1000);
    });
    log.info({ pid: proc.pid }, 'demo publisher started');
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => proc.kill('SIGKILL'), 2000);
      proc.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      proc.kill('SIGTERM');
    });
  }
}
