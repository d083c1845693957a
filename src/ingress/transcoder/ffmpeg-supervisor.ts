/**
 * Supervises ONE ffmpeg process, the way mediasoup's Worker supervises its C++ worker:
 * - `FfmpegProcess.start()` resolves once the process has spawned and survived a short startup window;
 *   it rejects with TRANSCODER_START_FAILED if the binary cannot be spawned (ENOENT, EACCES) or exits
 *   inside the window (bad arguments), quoting ffmpeg's last stderr lines.
 * - After that, an exit that `close()` did not ask for is reported once as a typed 'died' event
 *   (TRANSCODER_DIED, with exit code/signal). "Failed to start" and "died later" stay distinct.
 * - stderr goes to the logger with the pid: error lines at warn, everything else at debug; the periodic
 *   stats line is parsed for `speed=` and not logged. Repeated lines are rate-limited (a publisher sending
 *   broken H.264 makes ffmpeg warn ~100 times a second), with a count of what was suppressed.
 * - `close()` is idempotent: end stdin, SIGTERM, SIGKILL after `killTimeoutMs`; it resolves once the
 *   process has exited, so no ffmpeg outlives its owner. If our own process dies, ffmpeg sees EOF on
 *   stdin and exits by itself.
 *
 * stdio: fd 0 = FLV in, fd 1 ignored, fd 2 = logs/stats, fds 3.. = one output pipe per rendition.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { ProcessError, errorMessage } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';
import { createLogRateLimiter, repeatKey, type LogRateLimiter } from '../../common/logging/rate-limit.js';
import { SafeEmitter } from '../../common/events/safe-emitter.js';

export interface FfmpegStartOptions {
  args: string[];
  /** Default "ffmpeg" (looked up on PATH). */
  ffmpegPath?: string;
  /** Number of output pipes; they are fds 3 .. 3 + outputPipes - 1 in the child. */
  outputPipes: number;
  logger: Logger;
  /** An exit within this many ms of spawning is a start failure. Argument errors exit in well under 100 ms. */
  startupWindowMs?: number;
  /** Time between SIGTERM and SIGKILL in close(). */
  killTimeoutMs?: number;
  /** Added to error messages, e.g. { stream }. */
  context?: Record<string, string | number | undefined>;
}

export type FfmpegProcessEvents = {
  died: [error: ProcessError];
};

const STDERR_TAIL_LINES = 8;
/** Tail lines are quoted in error messages: x264's option dump alone is ~900 characters. */
const TAIL_LINE_CHARS = 240;
const MAX_STDERR_LINE = 4096;
const ERROR_LINE = /\[(error|fatal|panic)\]/;
const STATS_LINE = /^(\[info\] )?(frame|size)=/;
const SPEED = /speed=\s*([\d.]+)x/;
/**
 * stderr lines logged per ffmpeg: at most LINES_PER_KEY of one kind (numbers and addresses ignored) and
 * LINES_TOTAL overall per LINE_WINDOW_MS. Enough to diagnose a run; the tail kept for error messages is
 * not limited.
 */
const LINE_WINDOW_MS = 10_000;
const LINES_PER_KEY = 5;
const LINES_TOTAL = 50;

export class FfmpegProcess extends SafeEmitter<FfmpegProcessEvents> {
  readonly pid: number;
  /** FLV goes in here. Errors (EPIPE after a crash) are logged, the 'died' event reports the crash. */
  readonly stdin: Writable;
  /** One readable per output pipe, in plan order. */
  readonly outputs: Readable[];

  private readonly child: ChildProcess;
  private readonly killTimeoutMs: number;
  private readonly context: Record<string, string | number | undefined>;
  private readonly tail: string[] = [];
  private partialLine = '';
  private lastSpeed: number | undefined;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exitPromise: Promise<void>;
  private closePromise: Promise<void> | undefined;
  private startupDone = false;
  private readonly perLine: LogRateLimiter;
  private readonly allLines: LogRateLimiter;

  private constructor(child: ChildProcess, opts: FfmpegStartOptions) {
    super(opts.logger.child({ pid: child.pid }));
    const what = 'repeated ffmpeg lines';
    this.perLine = createLogRateLimiter(this.logger, { maxPerWindow: LINES_PER_KEY, windowMs: LINE_WINDOW_MS, maxKeys: 100, what });
    this.allLines = createLogRateLimiter(this.logger, { maxPerWindow: LINES_TOTAL, windowMs: LINE_WINDOW_MS, what: 'ffmpeg lines' });
    this.child = child;
    this.pid = child.pid!;
    this.killTimeoutMs = opts.killTimeoutMs ?? 2000;
    this.context = { ...opts.context, pid: this.pid };
    this.stdin = child.stdin!;
    this.outputs = [];
    for (let i = 0; i < opts.outputPipes; i++) this.outputs.push(child.stdio[3 + i] as Readable);
    this.stdin.on('error', (err) => this.logger.debug({ err }, 'ffmpeg stdin error'));
    for (const [i, out] of this.outputs.entries())
      out.on('error', (err) => this.logger.debug({ err, output: i }, 'ffmpeg output pipe error'));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => this.onStderr(text));
    const stderrClosed = new Promise<void>((resolve) => child.stderr!.once('close', resolve));
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        let done = false;
        const finish = (): void => {
          if (done) return;
          done = true;
          clearTimeout(grace);
          this.exitInfo = { code, signal };
          this.onStderr('\n'); // flush a last partial line
          resolve();
          this.onExit(code, signal);
        };
        // stderr may still hold ffmpeg's last words (why it exited): give it a moment to drain.
        const grace = setTimeout(finish, 200);
        void stderrClosed.then(finish);
      });
    });
  }

  /** Spawns ffmpeg; resolves when it is running, rejects with TRANSCODER_START_FAILED otherwise. */
  static async start(opts: FfmpegStartOptions): Promise<FfmpegProcess> {
    const path = opts.ffmpegPath ?? 'ffmpeg';
    const context = { ...opts.context, ffmpeg: path };
    const stdio: ('pipe' | 'ignore')[] = ['pipe', 'ignore', 'pipe'];
    for (let i = 0; i < opts.outputPipes; i++) stdio.push('pipe');
    let child: ChildProcess;
    try {
      child = spawn(path, opts.args, { stdio, windowsHide: true });
    } catch (err) {
      throw new ProcessError(
        'TRANSCODER_START_FAILED',
        `cannot spawn ffmpeg: ${errorMessage(err)}`,
        context,
        { cause: err },
      );
    }
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        child.off('spawn', onSpawn);
        reject(
          new ProcessError('TRANSCODER_START_FAILED', `cannot spawn ffmpeg: ${err.message}`, context, {
            cause: err,
          }),
        );
      };
      const onSpawn = (): void => {
        child.off('error', onError);
        resolve();
      };
      child.once('error', onError);
      child.once('spawn', onSpawn);
    });
    const proc = new FfmpegProcess(child, opts);
    child.on('error', (err) => proc.logger.warn({ err }, 'ffmpeg process error'));
    proc.logger.debug({ args: opts.args.join(' ') }, 'ffmpeg spawned');
    const windowMs = opts.startupWindowMs ?? 250;
    const exitedEarly = await Promise.race([
      proc.exitPromise.then(() => true),
      new Promise<false>((resolve) => {
        const t = setTimeout(() => resolve(false), windowMs);
        void proc.exitPromise.then(() => clearTimeout(t));
      }),
    ]);
    proc.startupDone = true;
    if (exitedEarly) {
      await proc.close();
      const { code, signal } = proc.exitInfo!;
      throw new ProcessError(
        'TRANSCODER_START_FAILED',
        `ffmpeg exited during startup (code ${String(code)}, signal ${String(signal)}): ${proc.lastLines()}`,
        { ...context, pid: proc.pid },
      );
    }
    return proc;
  }

  /** Encoding speed relative to real time from the last stats line (1.0 = keeping up), if any yet. */
  get speed(): number | undefined {
    return this.lastSpeed;
  }

  get exited(): boolean {
    return this.exitInfo !== undefined;
  }

  /** ffmpeg's last stderr lines, newest last, for error messages. */
  lastLines(): string {
    return this.tail.length > 0 ? this.tail.join(' | ') : '(no output)';
  }

  /**
   * SIGKILL now, for a process that cannot be asked (stopped, wedged: SIGTERM would wait in its queue).
   * Follow with close() to wait for the exit; an exit without close() is reported as 'died'.
   */
  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  /** Idempotent. Resolves once the process has exited; 'died' is not emitted for this exit. */
  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doClose(): Promise<void> {
    this.removeAllListeners();
    if (!this.exited) {
      this.stdin.end();
      this.child.kill('SIGTERM');
      const killTimer = setTimeout(() => {
        if (!this.exited) {
          this.logger.warn({ timeoutMs: this.killTimeoutMs }, 'ffmpeg ignored SIGTERM, sending SIGKILL');
          this.child.kill('SIGKILL');
        }
      }, this.killTimeoutMs);
      await this.exitPromise;
      clearTimeout(killTimer);
    }
    for (const out of this.outputs) out.destroy();
    this.child.stderr?.destroy();
    this.stdin.destroy();
    this.perLine.close();
    this.allLines.close();
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.closePromise || !this.startupDone) return; // asked for, or reported by start()
    const err = new ProcessError(
      'TRANSCODER_DIED',
      `ffmpeg exited unexpectedly (code ${String(code)}, signal ${String(signal)}): ${this.lastLines()}`,
      { ...this.context, code: code ?? undefined, signal: signal ?? undefined },
    );
    this.logger.warn({ code, signal }, 'ffmpeg died');
    this.safeEmit('died', err);
  }

  private onStderr(text: string): void {
    // Stats lines end in \r, log lines in \n.
    const parts = (this.partialLine + text).split(/\r\n|\r|\n/);
    this.partialLine = parts.pop()!.slice(-MAX_STDERR_LINE);
    for (const raw of parts) {
      const line = raw.trimEnd().slice(0, MAX_STDERR_LINE);
      if (line === '') continue;
      if (STATS_LINE.test(line)) {
        const m = SPEED.exec(line);
        if (m) this.lastSpeed = Number(m[1]);
        this.logger.trace({ line }, 'ffmpeg stats');
        continue;
      }
      this.tail.push(line.length > TAIL_LINE_CHARS ? `${line.slice(0, TAIL_LINE_CHARS)}…` : line);
      if (this.tail.length > STDERR_TAIL_LINES) this.tail.shift();
      if (!this.perLine.allow(repeatKey(line)) || !this.allLines.allow('all')) continue;
      if (ERROR_LINE.test(line)) this.logger.warn({ line }, 'ffmpeg');
      else this.logger.debug({ line }, 'ffmpeg');
    }
  }
}
