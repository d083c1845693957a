/**
 * One live stream's transcoder: FLV tags in, an ABR ladder of CMAF chunks out, through one supervised
 * ffmpeg (see ladder.ts for the command line, ffmpeg-supervisor.ts for the process).
 *
 * Restarts: when ffmpeg dies (or writes bytes we cannot parse) it is restarted with exponential backoff.
 * The new run re-sends the stored metadata and AVC/AAC sequence headers, then resumes at the next video
 * keyframe. Its outputs start again at 0; they are shifted onto the stream timeline by
 * `timeOffset = wall clock elapsed since media time 0, rounded up to a segment boundary` (and never before
 * the previous run's last chunk), so segment numbers keep increasing without duplicates. The first chunk
 * of each rendition after a restart carries DISCONTINUITY and `epoch` increments. More than
 * `restart.maxRestarts` consecutive failures (a run that produced chunks for STABLE_RUN_MS resets the count)
 * emit 'fatal' and close the transcoder; before any run has produced output, STARTUP_MAX_RESTARTS at most
 * (a source ffmpeg cannot turn into anything should not keep the publisher waiting for minutes).
 *
 * Watchdog: a run fed media that produces nothing for `stallTimeoutMs` (stopped or wedged without exiting)
 * is killed (SIGKILL) and ends like a crash (TRANSCODER_STALLED), so the normal restart path continues the
 * timeline.
 *
 * Closing: `close()` is idempotent; it cancels a pending restart, closes the ffmpeg process (stdin EOF,
 * SIGTERM, SIGKILL) and waits for it to exit, then drops every listener. 'fatal' closes it too.
 */
import { ProcessError, TiercastError, errorMessage } from '../../common/errors/index.js';
import { createLogger } from '../../common/logging/index.js';
import { SOURCE_RENDITION_ID, type RenditionInfo } from '../../common/media.js';
import { tryMediaPacket } from '../flv/media-packet.js';
import { BoxSplitter } from './fmp4-boxes.js';
import { CmafSegmenter, type SegmenterOutput } from './cmaf-segmenter.js';
import { FfmpegProcess } from './ffmpeg-supervisor.js';
import { FlvInput, StreamConfig } from './flv-input.js';
import type { FlvTag } from '../flv/flv-tag.js';
import { buildFfmpegPlan, type FfmpegPlan, type SourceTracks, type TranscodeOptions } from './ladder.js';
import { probeSource, type SourceInfo } from './source-probe.js';
import { SafeEmitter } from '../../common/events/safe-emitter.js';
import { renditionInfoOf, type InitInfo } from './init-info.js';
import { StallWatchdog } from './stall-watchdog.js';
import {
  DEFAULT_MAX_STDIN_BUFFER,
  DEFAULT_STALL_TIMEOUT_MS,
  MAX_BACKOFF_MS,
  STABLE_RUN_MS,
  STARTUP_MAX_RESTARTS,
  type TranscoderEvents,
  type TranscoderStartOptions,
} from './transcoder-options.js';

export type { RestartPolicy, TranscoderEvents, TranscoderStartOptions } from './transcoder-options.js';
export { MAX_BACKOFF_MS, STABLE_RUN_MS, STARTUP_MAX_RESTARTS } from './transcoder-options.js';

interface Run {
  epoch: number;
  proc: FfmpegProcess;
  plan: FfmpegPlan;
  input: FlvInput;
  startedAt: number;
  splitters: BoxSplitter[];
  segmenters: (CmafSegmenter | undefined)[];
  pendingInit: ({ data: Buffer; info: InitInfo } | undefined)[];
  /** Seconds added to this run's output times. */
  timeOffset: number;
  /**
   * Seconds added to every output but the copied Source: the first keyframe's composition offset. ffmpeg's
   * fragmented mp4 muxer starts each output at decode time 0 (no edit list); the Source's first frame
   * decodes at the keyframe's DTS and shows at DTS + offset (B-frames), an x264 rendition's (no B-frames)
   * decodes and shows at that PTS. Without this the Source showed every frame 67 ms (OBS's 2 B-frames at
   * 30 fps) later than the renditions it switches with. Audio moves with the renditions, so their A/V
   * relation is as without Source.
   */
  presentationShift: number;
  minSegment: number;
  chunks: number;
  ended: boolean;
  watchdog: StallWatchdog;
}

export class Transcoder extends SafeEmitter<TranscoderEvents> {
  private readonly stream: string;
  private readonly options: TranscodeOptions;
  private readonly opts: TranscoderStartOptions;
  private readonly source: SourceTracks;
  private readonly maxStdin: number;
  private run: Run | undefined;
  private epochValue = 0;
  private consecutiveFailures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  /** A restart in progress (spawning ffmpeg); close() waits for it so no process is left behind. */
  private restarting: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private ast: number | undefined;
  /** Whether any run has produced output: until then failures are counted against STARTUP_MAX_RESTARTS. */
  private produced = false;
  private timelineEnd = 0;
  private nextSegment = 0;
  private readonly config: StreamConfig;
  private readonly renditionInfo = new Map<string, RenditionInfo>();
  private readonly lastInit = new Map<string, Buffer>();
  /** Processes of ended runs still being stopped; close() waits for them too. */
  private readonly stopping = new Set<Promise<void>>();

  private constructor(opts: TranscoderStartOptions) {
    super(createLogger('transcoder', { stream: opts.stream }, opts.logger));
    this.opts = opts;
    this.stream = opts.stream;
    this.options = opts.options;
    this.source = opts.source ?? { hasAudio: true, hasVideo: true };
    this.maxStdin = opts.maxStdinBufferBytes ?? DEFAULT_MAX_STDIN_BUFFER;
    this.config = new StreamConfig(this.source);
    const c = opts.continueTimeline;
    if (c) {
      this.ast = c.availabilityStartTime;
      this.timelineEnd = c.endSeconds;
      this.nextSegment = c.nextSegment;
      this.epochValue = c.epoch + 1;
    }
  }

  /** Starts ffmpeg; rejects with ConfigError on bad options or TRANSCODER_START_FAILED. */
  static async start(opts: TranscoderStartOptions): Promise<Transcoder> {
    const t = new Transcoder(opts);
    buildFfmpegPlan(t.options, t.source); // validate before spawning anything
    t.run = await t.spawnRun(t.epochValue);
    t.logger.info(
      { pid: t.run.proc.pid, renditions: t.run.plan.outputs.map((o) => o.rendition) },
      'transcoder started',
    );
    return t;
  }

  /** Height and tracks from the first tags (onMetaData, sequence headers): feed the result to start(). */
  static probeSource(tags: readonly FlvTag[]): SourceInfo {
    return probeSource(tags);
  }

  get closed(): boolean {
    return this.closePromise !== undefined;
  }

  /** Wall-clock ms at media time 0: when ingress received the stream's first audio/video frame. */
  get availabilityStartTime(): number | undefined {
    return this.ast;
  }

  get epoch(): number {
    return this.epochValue;
  }

  get restarts(): number {
    return this.epochValue;
  }

  get speed(): number | undefined {
    return this.run?.proc.speed;
  }

  /** pid of the current ffmpeg, if one is running. */
  get pid(): number | undefined {
    return this.run?.proc.pid;
  }

  /** Renditions whose init segment is known, video (tallest first) then audio. */
  renditions(): RenditionInfo[] {
    const order = this.run?.plan.outputs.map((o) => o.rendition) ?? [...this.renditionInfo.keys()];
    return order.flatMap((id) => {
      const info = this.renditionInfo.get(id);
      return info ? [{ ...info }] : [];
    });
  }

  /** Feeds one tag from the publisher. Never throws; tags arriving while ffmpeg restarts are dropped. */
  write(tag: FlvTag): void {
    if (this.closed) return;
    const kind = this.config.observe(tag);
    const run = this.run;
    if (!run || run.ended) return;
    run.input.write(tag, kind, this.config);
    if (kind === 'media' && run.input.started) run.watchdog.fed();
  }

  /** Idempotent; resolves when ffmpeg has exited. */
  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doClose(): Promise<void> {
    clearTimeout(this.restartTimer);
    const run = this.run;
    this.run = undefined;
    if (run) {
      run.ended = true;
      run.watchdog.close();
      this.stopping.add(run.proc.close());
    }
    await this.restarting; // a process spawned meanwhile is closed by restart() itself
    await Promise.all(this.stopping);
    this.removeAllListeners();
    this.logger.info({ epoch: this.epochValue }, 'transcoder closed');
  }

  /** The run's first frame fixes where its time 0 sits on the stream timeline. */
  private anchorRun(run: Run, tag: FlvTag): void {
    if (this.ast === undefined) {
      this.ast = tag.receivedAt;
    } else {
      // Continue the timeline: never earlier than wall clock (so availability times stay honest) nor
      // than what the previous run already emitted.
      const seg = this.options.segmentDurationMs / 1000;
      const elapsed = Math.max((tag.receivedAt - this.ast) / 1000, this.timelineEnd);
      run.timeOffset = Math.ceil(elapsed / seg - 1e-9) * seg;
    }
    if (this.options.passthrough === true) {
      const cts = tryMediaPacket(tag)?.cts ?? 0;
      run.presentationShift = cts > 0 && cts < 1000 ? cts / 1000 : 0;
    }
    this.logger.debug(
      { epoch: run.epoch, timeOffset: run.timeOffset, baseTs: tag.timestamp, shift: run.presentationShift },
      'run timeline anchored',
    );
  }

  private async spawnRun(epoch: number): Promise<Run> {
    const plan = buildFfmpegPlan(this.options, this.source);
    const proc = await FfmpegProcess.start({
      args: plan.args,
      ffmpegPath: this.opts.ffmpegPath,
      outputPipes: plan.outputs.length,
      logger: this.logger,
      startupWindowMs: this.opts.startupWindowMs,
      killTimeoutMs: this.opts.killTimeoutMs,
      context: { stream: this.stream, epoch },
    });
    const input = new FlvInput({
      stdin: proc.stdin,
      source: this.source,
      maxQueuedBytes: this.maxStdin,
      logger: this.logger,
      onFirstFrame: (tag) => this.anchorRun(run, tag), // called on a later write(), once `run` exists
    });
    const run: Run = {
      epoch,
      proc,
      plan,
      input,
      startedAt: Date.now(),
      splitters: plan.outputs.map(
        (o) => new BoxSplitter({ context: { stream: this.stream, rendition: o.rendition } }),
      ),
      segmenters: plan.outputs.map(() => undefined),
      pendingInit: plan.outputs.map(() => undefined),
      timeOffset: 0,
      presentationShift: 0,
      minSegment: this.nextSegment,
      chunks: 0,
      ended: false,
      watchdog: new StallWatchdog({
        timeoutMs: this.opts.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
        onStall: (silentMs) => this.onStall(run, silentMs),
      }),
    };
    proc.on('died', (err) => this.endRun(run, err));
    for (const [i, out] of proc.outputs.entries()) {
      out.on('data', (data: Buffer) => this.onOutput(run, i, data));
    }
    return run;
  }

  private onOutput(run: Run, index: number, data: Buffer): void {
    if (run.ended) return;
    run.watchdog.produced();
    this.produced = true;
    try {
      for (const box of run.splitters[index]!.push(data)) {
        const segmenter = (run.segmenters[index] ??= this.createSegmenter(run, index));
        for (const out of segmenter.push(box)) this.onSegmenterOutput(run, index, out);
      }
    } catch (err) {
      const e =
        err instanceof TiercastError
          ? err
          : new TiercastError('MP4_PARSE_ERROR', errorMessage(err), { stream: this.stream });
      this.logger.error(
        { err: e, rendition: run.plan.outputs[index]?.rendition },
        'unusable ffmpeg output, restarting ffmpeg',
      );
      this.endRun(run, e);
    }
  }

  private createSegmenter(run: Run, index: number): CmafSegmenter {
    const output = run.plan.outputs[index]!;
    const { maps } = run.input;
    const map = output.kind === 'video' ? maps.video : maps.audio;
    const fallback = output.kind === 'video' ? maps.audio : maps.video;
    return new CmafSegmenter({
      stream: this.stream,
      rendition: output.rendition,
      segmentDurationMs: this.options.segmentDurationMs,
      timeOffset: run.timeOffset + (output.rendition === SOURCE_RENDITION_ID ? 0 : run.presentationShift),
      minSegment: run.minSegment,
      discontinuity: run.epoch > 0,
      sourceKeyframes: this.options.passthrough === true,
      ingressTimeOf: (t) => map.lookup(t * 1000) ?? fallback.lookup(t * 1000) ?? Date.now(),
    });
  }

  private onSegmenterOutput(run: Run, index: number, out: SegmenterOutput): void {
    const output = run.plan.outputs[index]!;
    if (out.type === 'warning') {
      this.logger.warn({ rendition: output.rendition }, out.message);
      return;
    }
    if (out.type === 'init') {
      run.pendingInit[index] = out;
      return;
    }
    const pending = run.pendingInit[index];
    if (pending) {
      // Published with the first chunk so the frame rate can be read from a real fragment.
      run.pendingInit[index] = undefined;
      const rendition = renditionInfoOf(output, pending.info, out.moof);
      const previous = this.lastInit.get(output.rendition);
      this.renditionInfo.set(output.rendition, rendition);
      if (!previous || !previous.equals(pending.data)) {
        this.lastInit.set(output.rendition, pending.data);
        this.safeEmit('init', rendition, pending.data);
      }
    }
    run.chunks++;
    this.safeEmit('chunk', out.chunk);
  }

  private onStall(run: Run, silentMs: number): void {
    if (run.ended || this.closed || run !== this.run) return;
    const err = new ProcessError(
      'TRANSCODER_STALLED',
      `ffmpeg produced nothing for ${silentMs} ms while fed; killing it`,
      {
        stream: this.stream,
        pid: run.proc.pid,
      },
    );
    this.logger.warn({ code: err.code, pid: run.proc.pid, silentMs }, 'ffmpeg stalled; restarting it');
    run.proc.kill();
    this.endRun(run, err);
  }

  /** The run is over (died, stalled, or its output is unusable): account for its timeline and schedule a restart. */
  private endRun(run: Run, err: TiercastError): void {
    if (run.ended || this.closed || run !== this.run) return;
    run.ended = true;
    run.watchdog.close();
    this.run = undefined;
    for (const s of run.segmenters) {
      if (!s) continue;
      this.timelineEnd = Math.max(this.timelineEnd, s.endTime);
      if (s.lastSegment !== undefined) this.nextSegment = Math.max(this.nextSegment, s.lastSegment + 1);
    }
    const stopped = run.proc.close();
    this.stopping.add(stopped);
    void stopped.then(() => this.stopping.delete(stopped));
    const stable = run.chunks > 0 && Date.now() - run.startedAt >= STABLE_RUN_MS;
    this.consecutiveFailures = stable ? 1 : this.consecutiveFailures + 1;
    this.logger.warn({ err, epoch: run.epoch, failures: this.consecutiveFailures }, 'ffmpeg run ended');
    this.scheduleRestart(err);
  }

  private scheduleRestart(lastError: TiercastError): void {
    if (this.closed) return;
    const max = this.produced
      ? this.opts.restart.maxRestarts
      : Math.min(this.opts.restart.maxRestarts, STARTUP_MAX_RESTARTS);
    if (this.consecutiveFailures > max) {
      const fatal = new ProcessError(
        'TRANSCODER_DIED',
        `ffmpeg failed ${this.consecutiveFailures} times in a row, giving up: ${lastError.message}`,
        { stream: this.stream },
        { cause: lastError },
      );
      this.logger.error({ err: fatal }, 'transcoder failed');
      this.safeEmit('fatal', fatal);
      void this.close();
      return;
    }
    const delay = Math.min(this.opts.restart.backoffMs * 2 ** (this.consecutiveFailures - 1), MAX_BACKOFF_MS);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.restarting = this.restart().finally(() => (this.restarting = undefined));
    }, delay);
  }

  /** Never rejects. */
  private async restart(): Promise<void> {
    if (this.closed) return;
    const epoch = this.epochValue + 1;
    let run: Run;
    try {
      run = await this.spawnRun(epoch);
    } catch (err) {
      const e =
        err instanceof TiercastError
          ? err
          : new ProcessError('TRANSCODER_START_FAILED', errorMessage(err), { stream: this.stream });
      this.consecutiveFailures++;
      this.logger.warn({ err: e, failures: this.consecutiveFailures }, 'ffmpeg restart failed');
      this.scheduleRestart(e);
      return;
    }
    if (this.closed) {
      await run.proc.close();
      return;
    }
    this.run = run;
    this.epochValue = epoch;
    this.logger.info({ epoch, pid: run.proc.pid, timelineEnd: this.timelineEnd }, 'ffmpeg restarted');
    this.safeEmit('restart', epoch);
  }
}
