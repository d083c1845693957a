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
 * emit 'fatal' and close the transcoder.
 *
 * Closing: `close()` is idempotent; it cancels a pending restart, closes the ffmpeg process (stdin EOF,
 * SIGTERM, SIGKILL) and waits for it to exit, then drops every listener. 'fatal' closes it too.
 */
import { ProcessError, TiercastError, errorMessage } from '../../common/errors/index.js';
import { createLogger, type Logger } from '../../common/logging/index.js';
import type { MediaChunk, RenditionInfo } from '../../common/media.js';
import { BoxSplitter } from './fmp4-boxes.js';
import { CmafSegmenter, type SegmenterOutput } from './cmaf-segmenter.js';
import { FfmpegProcess } from './ffmpeg-supervisor.js';
import { FlvInput, StreamConfig } from './flv-input.js';
import type { FlvTag } from './flv-writer.js';
import { buildFfmpegPlan, type FfmpegPlan, type SourceTracks, type TranscodeOptions } from './ladder.js';
import { probeSource, type SourceInfo } from './source-probe.js';
import { SafeEmitter } from './safe-emitter.js';
import type { InitInfo } from './init-info.js';

export interface RestartPolicy {
  /** Consecutive failed runs tolerated before giving up with 'fatal'. */
  maxRestarts: number;
  /** First retry delay; doubles per consecutive failure, capped at MAX_BACKOFF_MS. */
  backoffMs: number;
}

export interface TranscoderStartOptions {
  stream: string;
  options: TranscodeOptions;
  logger: Logger;
  /** Default "ffmpeg" on PATH. */
  ffmpegPath?: string;
  restart: RestartPolicy;
  /** Which tracks the publisher sends (see probeSource); default both. */
  source?: SourceTracks;
  /**
   * Bytes queued for ffmpeg's stdin above which video is dropped until the next keyframe (audio above
   * twice this). Bounds memory when ffmpeg cannot keep up; 4 MiB is ~7 s of a 4.5 Mbit/s source.
   */
  maxStdinBufferBytes?: number;
  startupWindowMs?: number;
  killTimeoutMs?: number;
  /**
   * Continue the timeline of an earlier publish of the same stream (the publisher reconnected): same
   * availabilityStartTime, segment numbers after `nextSegment`, epoch after `epoch`. Players then cross the
   * gap as a discontinuity instead of reloading a new timeline.
   */
  continueTimeline?: { availabilityStartTime: number; endSeconds: number; nextSegment: number; epoch: number };
}

export type TranscoderEvents = {
  /** A rendition's init segment, before its first chunk (again after a restart only if the bytes changed). */
  init: [rendition: RenditionInfo, init: Buffer];
  chunk: [chunk: MediaChunk];
  /** A new ffmpeg run is up after a crash; chunks from it belong to this epoch. */
  restart: [epoch: number];
  /** Gave up restarting; the transcoder closes itself. */
  fatal: [error: TiercastError];
};

export const STABLE_RUN_MS = 30_000;
export const MAX_BACKOFF_MS = 30_000;
const DEFAULT_MAX_STDIN_BUFFER = 4 * 1024 * 1024;

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
  minSegment: number;
  chunks: number;
  ended: boolean;
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
    if (run && !run.ended) run.input.write(tag, kind, this.config);
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
    this.logger.debug(
      { epoch: run.epoch, timeOffset: run.timeOffset, baseTs: tag.timestamp },
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
      minSegment: this.nextSegment,
      chunks: 0,
      ended: false,
    };
    proc.on('died', (err) => this.endRun(run, err));
    for (const [i, out] of proc.outputs.entries()) {
      out.on('data', (data: Buffer) => this.onOutput(run, i, data));
    }
    return run;
  }

  private onOutput(run: Run, index: number, data: Buffer): void {
    if (run.ended) return;
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
      timeOffset: run.timeOffset,
      minSegment: run.minSegment,
      discontinuity: run.epoch > 0,
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
      const { info } = pending;
      const frameRate =
        info.kind === 'video' && out.moof.duration > 0
          ? Math.round(((out.moof.sampleCount * info.timescale) / out.moof.duration) * 1000) / 1000
          : undefined;
      const rendition: RenditionInfo = {
        id: output.rendition,
        kind: info.kind,
        codecs: info.codecs,
        bandwidth: output.bandwidth,
        timescale: info.timescale,
        ...(info.width !== undefined && { width: info.width }),
        ...(info.height !== undefined && { height: info.height }),
        ...(frameRate !== undefined && { frameRate }),
        ...(info.sampleRate !== undefined && { sampleRate: info.sampleRate }),
        ...(info.channels !== undefined && { channels: info.channels }),
      };
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

  /** The run is over (died, or its output is unusable): account for its timeline and schedule a restart. */
  private endRun(run: Run, err: TiercastError): void {
    if (run.ended || this.closed || run !== this.run) return;
    run.ended = true;
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
    if (this.consecutiveFailures > this.opts.restart.maxRestarts) {
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
