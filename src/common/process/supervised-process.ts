/**
 * Every child process tiercast runs (ffmpeg as transcoder, capture input, thumbnailer, demo publisher) is a
 * SupervisedProcess, supervised the way mediasoup's Worker supervises its C++ worker:
 * - `SupervisedProcess.spawn()` resolves once the process has spawned and survived a short startup window;
 *   it rejects with the `startFailed` code if the binary cannot be spawned (ENOENT, EACCES) or exits inside
 *   the window (bad arguments), quoting the process's last stderr lines.
 * - After that, an exit that `close()` did not ask for is reported once as a typed 'died' event (the `died`
 *   code, with exit code/signal). "Failed to start" and "died later" stay distinct. A `job` (a process that
 *   ends by itself, e.g. one thumbnail) is not "dying" when it exits: `wait()` gives its exit.
 * - stderr goes to the logger with the pid, line by line, at the level `classifyLine` picks. Repeated lines
 *   are rate-limited (a publisher sending broken H.264 makes ffmpeg warn ~100 times a second), with a count
 *   of what was suppressed; the tail kept for error messages is not limited.
 * - `close()` is idempotent: end stdin, SIGTERM, SIGKILL after `killTimeoutMs`; it resolves once the
 *   process has exited, so no child outlives its owner. If our own process dies, a child reading stdin
 *   sees EOF and exits by itself.
 *
 * stdio: fd 0 = stdin (pipe), fd 1 ignored, fd 2 = logs, fds 3.. = one output pipe each (`outputs`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { basename } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { ProcessError, errorMessage, type ErrorCode } from '../errors/index.js';
import { SafeEmitter } from '../events/safe-emitter.js';
import type { Logger } from '../logging/index.js';
import { createLogRateLimiter, repeatKey, type LogRateLimiter } from '../logging/rate-limit.js';

export interface SupervisedProcessOptions {
  command: string;
  args: string[];
  logger: Logger;
  /** Names the process in log lines and error messages; default the command's base name. */
  name?: string;
  /** Number of output pipes; they are fds 3 .. 3 + outputPipes - 1 in the child. Default 0. */
  outputPipes?: number;
  /** An exit within this many ms of spawning is a start failure; 0: started once spawned. Default 250. */
  startupWindowMs?: number;
  /** Time between SIGTERM and SIGKILL in close(). Default 2000. */
  killTimeoutMs?: number;
  /** Added to error messages, e.g. { stream }. */
  context?: Record<string, string | number | undefined>;
  /** Codes of the two failures; default PROCESS_START_FAILED and PROCESS_DIED. */
  codes?: { startFailed: ErrorCode; died: ErrorCode };
  /** The process ends by itself; its exit is its result (`wait()`), not a 'died' event. */
  job?: boolean;
  /** Level for stderr lines that `classifyLine` does not decide; default warn. */
  stderrLevel?: 'warn' | 'debug';
  /** Applied to args, stderr lines and error messages: a secret in argv (a stream key) is never logged. */
  redact?: (text: string) => string;
}

export type SupervisedProcessEvents = {
  died: [error: ProcessError];
};

/** How one stderr line is logged; 'stats' lines are logged at trace and kept out of the error tail. */
export type LineClass = 'warn' | 'debug' | 'stats';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const STDERR_TAIL_LINES = 8;
/** Tail lines are quoted in error messages: x264's option dump alone is ~900 characters. */
const TAIL_LINE_CHARS = 240;
const MAX_STDERR_LINE = 4096;
/**
 * stderr lines logged per process: at most LINES_PER_KEY of one kind (numbers and addresses ignored) and
 * LINES_TOTAL overall per LINE_WINDOW_MS. Enough to diagnose a run.
 */
const LINE_WINDOW_MS = 10_000;
const LINES_PER_KEY = 5;
const LINES_TOTAL = 50;

export class SupervisedProcess extends SafeEmitter<SupervisedProcessEvents> {
  readonly pid: number;
  /** Input goes in here. Errors (EPIPE after a crash) are logged at debug; 'died' reports the crash. */
  readonly stdin: Writable;
  /** One readable per output pipe, in order. */
  readonly outputs: Readable[];
  readonly name: string;

  private readonly child: ChildProcess;
  private readonly opts: SupervisedProcessOptions;
  private readonly codes: { startFailed: ErrorCode; died: ErrorCode };
  private readonly killTimeoutMs: number;
  private readonly context: Record<string, string | number | undefined>;
  private readonly tail: string[] = [];
  private partialLine = '';
  private exitInfo: ProcessExit | undefined;
  private readonly exitPromise: Promise<ProcessExit>;
  private closePromise: Promise<void> | undefined;
  private startupDone = false;
  private readonly perLine: LogRateLimiter;
  private readonly allLines: LogRateLimiter;

  /** Use `spawn()` (or a subclass's factory): the constructor only wires up a child that has spawned. */
  protected constructor(child: ChildProcess, opts: SupervisedProcessOptions) {
    super(opts.logger.child({ pid: child.pid }));
    this.opts = opts;
    this.name = processName(opts);
    this.codes = opts.codes ?? { startFailed: 'PROCESS_START_FAILED', died: 'PROCESS_DIED' };
    const what = `repeated ${this.name} lines`;
    this.perLine = createLogRateLimiter(this.logger, {
      maxPerWindow: LINES_PER_KEY,
      windowMs: LINE_WINDOW_MS,
      maxKeys: 100,
      what,
    });
    this.allLines = createLogRateLimiter(this.logger, {
      maxPerWindow: LINES_TOTAL,
      windowMs: LINE_WINDOW_MS,
      what: `${this.name} lines`,
    });
    this.child = child;
    this.pid = child.pid!;
    this.killTimeoutMs = opts.killTimeoutMs ?? 2000;
    this.context = { ...opts.context, pid: this.pid };
    this.stdin = child.stdin!;
    this.outputs = [];
    for (let i = 0; i < (opts.outputPipes ?? 0); i++) this.outputs.push(child.stdio[3 + i] as Readable);
    this.stdin.on('error', (err) => this.logger.debug({ err }, `${this.name} stdin error`));
    for (const [i, out] of this.outputs.entries())
      out.on('error', (err) => this.logger.debug({ err, output: i }, `${this.name} output pipe error`));
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
          resolve(this.exitInfo);
          this.onExit(code, signal);
        };
        // stderr may still hold the process's last words (why it exited): give it a moment to drain.
        const grace = setTimeout(finish, 200);
        void stderrClosed.then(finish);
      });
    });
  }

  /** Spawns the process; resolves when it is running, rejects with the `startFailed` code otherwise. */
  static spawn(opts: SupervisedProcessOptions): Promise<SupervisedProcess> {
    return SupervisedProcess.launch(opts, (child) => new SupervisedProcess(child, opts));
  }

  /** The factory behind spawn(), for subclasses that add to what a process is (FfmpegProcess). */
  protected static async launch<T extends SupervisedProcess>(
    opts: SupervisedProcessOptions,
    wrap: (child: ChildProcess) => T,
  ): Promise<T> {
    const name = processName(opts);
    const redact = opts.redact ?? ((s: string) => s);
    const startFailed = opts.codes?.startFailed ?? 'PROCESS_START_FAILED';
    const context = { ...opts.context, [name]: opts.command };
    const stdio: ('pipe' | 'ignore')[] = ['pipe', 'ignore', 'pipe'];
    for (let i = 0; i < (opts.outputPipes ?? 0); i++) stdio.push('pipe');
    const cannotSpawn = (err: unknown): ProcessError =>
      new ProcessError(startFailed, redact(`cannot spawn ${name}: ${errorMessage(err)}`), context, {
        cause: err,
      });
    let child: ChildProcess;
    try {
      child = spawn(opts.command, opts.args, { stdio, windowsHide: true });
    } catch (err) {
      throw cannotSpawn(err);
    }
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        child.off('spawn', onSpawn);
        reject(cannotSpawn(err));
      };
      const onSpawn = (): void => {
        child.off('error', onError);
        resolve();
      };
      child.once('error', onError);
      child.once('spawn', onSpawn);
    });
    const proc = wrap(child);
    child.on('error', (err) => proc.logger.warn({ err }, `${name} process error`));
    proc.logger.debug({ args: redact(opts.args.join(' ')) }, `${name} spawned`);
    const windowMs = opts.startupWindowMs ?? 250;
    const exitedEarly =
      windowMs > 0 &&
      (await Promise.race([
        proc.exitPromise.then(() => true),
        new Promise<false>((resolve) => {
          const t = setTimeout(() => resolve(false), windowMs);
          void proc.exitPromise.then(() => clearTimeout(t));
        }),
      ]));
    proc.startupDone = true;
    if (exitedEarly) {
      await proc.close();
      const { code, signal } = proc.exitInfo!;
      throw new ProcessError(
        startFailed,
        `${name} exited during startup (code ${String(code)}, signal ${String(signal)}): ${proc.lastLines()}`,
        { ...context, pid: proc.pid },
      );
    }
    return proc;
  }

  get exited(): boolean {
    return this.exitInfo !== undefined;
  }

  /** Resolves with the exit once the process has exited (and its stderr drained). */
  wait(): Promise<ProcessExit> {
    return this.exitPromise;
  }

  /** The process's last stderr lines, newest last, for error messages. */
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

  /** How a stderr line is logged; subclasses read what they need from it (ffmpeg's speed). */
  protected classifyLine(_line: string): LineClass {
    return this.opts.stderrLevel ?? 'warn';
  }

  private async doClose(): Promise<void> {
    this.removeAllListeners();
    if (!this.exited) {
      this.stdin.end();
      this.child.kill('SIGTERM');
      const killTimer = setTimeout(() => {
        if (!this.exited) {
          this.logger.warn(
            { timeoutMs: this.killTimeoutMs },
            `${this.name} ignored SIGTERM, sending SIGKILL`,
          );
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
    // Asked for, reported by spawn(), or the end of a job.
    if (this.closePromise || !this.startupDone || this.opts.job) return;
    const err = new ProcessError(
      this.codes.died,
      `${this.name} exited unexpectedly (code ${String(code)}, signal ${String(signal)}): ${this.lastLines()}`,
      { ...this.context, code: code ?? undefined, signal: signal ?? undefined },
    );
    this.logger.warn({ code, signal }, `${this.name} died`);
    this.safeEmit('died', err);
  }

  private onStderr(text: string): void {
    // Progress lines end in \r, log lines in \n.
    const parts = (this.partialLine + text).split(/\r\n|\r|\n/);
    this.partialLine = parts.pop()!.slice(-MAX_STDERR_LINE);
    for (const raw of parts) {
      let line = raw.trimEnd().slice(0, MAX_STDERR_LINE);
      if (line === '') continue;
      if (this.opts.redact) line = this.opts.redact(line);
      const level = this.classifyLine(line);
      if (level === 'stats') {
        this.logger.trace({ line }, `${this.name} stats`);
        continue;
      }
      this.tail.push(line.length > TAIL_LINE_CHARS ? `${line.slice(0, TAIL_LINE_CHARS)}…` : line);
      if (this.tail.length > STDERR_TAIL_LINES) this.tail.shift();
      if (!this.perLine.allow(repeatKey(line)) || !this.allLines.allow('all')) continue;
      this.logger[level]({ line }, this.name);
    }
  }
}

function processName(opts: SupervisedProcessOptions): string {
  return opts.name ?? basename(opts.command);
}
