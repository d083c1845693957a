/**
 * ffmpeg as a SupervisedProcess (src/common/process/supervised-process.ts: startup window, "failed to
 * start" vs "died later", stderr to the logger with the pid and rate-limited, close() SIGTERM then
 * SIGKILL). What ffmpeg adds: its stderr lines carry a level (`-loglevel level+…`), so error lines are
 * logged at warn and everything else at debug; the periodic stats line is parsed for `speed=` and not
 * logged. The transcoder's failures are TRANSCODER_START_FAILED and TRANSCODER_DIED; the capture input,
 * the thumbnailer and the demo publisher pass their own codes.
 *
 * stdio: fd 0 = input, fd 1 ignored, fd 2 = logs/stats, fds 3.. = one output pipe per rendition
 * (`pipe:3` …).
 */
import {
  SupervisedProcess,
  type LineClass,
  type SupervisedProcessOptions,
} from '../../common/process/supervised-process.js';

/**
 * SupervisedProcess's options with ffmpeg's defaults: codes TRANSCODER_START_FAILED and TRANSCODER_DIED,
 * lines without an error tag at debug.
 */
export type FfmpegStartOptions = Omit<SupervisedProcessOptions, 'command' | 'name' | 'outputPipes'> & {
  /** Default "ffmpeg" (looked up on PATH). */
  ffmpegPath?: string;
  /** Number of output pipes; they are fds 3 .. 3 + outputPipes - 1 in the child (`pipe:3` …). */
  outputPipes: number;
};

const ERROR_LINE = /\[(error|fatal|panic)\]/;
const STATS_LINE = /^(\[info\] )?(frame|size)=/;
const SPEED = /speed=\s*([\d.]+)x/;

export class FfmpegProcess extends SupervisedProcess {
  private lastSpeed: number | undefined;

  /** Spawns ffmpeg; resolves when it is running, rejects with TRANSCODER_START_FAILED (or `codes`) otherwise. */
  static start(opts: FfmpegStartOptions): Promise<FfmpegProcess> {
    const o: SupervisedProcessOptions = {
      ...opts,
      command: opts.ffmpegPath ?? 'ffmpeg',
      name: 'ffmpeg',
      codes: opts.codes ?? { startFailed: 'TRANSCODER_START_FAILED', died: 'TRANSCODER_DIED' },
      stderrLevel: opts.stderrLevel ?? 'debug',
    };
    return SupervisedProcess.launch(o, (child) => new FfmpegProcess(child, o));
  }

  /** Encoding speed relative to real time from the last stats line (1.0 = keeping up), if any yet. */
  get speed(): number | undefined {
    return this.lastSpeed;
  }

  protected override classifyLine(line: string): LineClass {
    if (STATS_LINE.test(line)) {
      const m = SPEED.exec(line);
      if (m) this.lastSpeed = Number(m[1]);
      return 'stats';
    }
    return ERROR_LINE.test(line) ? 'warn' : super.classifyLine(line);
  }
}
