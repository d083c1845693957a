/**
 * One restream output at the ingress (issue 16, ADR 0021): the stream pushed to a third-party RTMP(S) server
 * (YouTube, Twitch, Kick, any nginx-rtmp) by an `ffmpeg -c copy` of its own, fed from the stream's relay like
 * any other subscriber: the chosen video rendition's CMAF init and chunks on one pipe, the audio's on another,
 * from a keyframe. Nothing is encoded again.
 *
 * An output never touches the live path. Its pipes are bounded (a target slower than the stream is cut and
 * started again, not buffered without end); ffmpeg failing (target down, key refused) is reported as
 * `failed: reason` and retried with backoff (1 s doubling to 30 s, reset once it has been live for 30 s); a
 * new init (the transcoder restarted) restarts it at the next keyframe. The target URL holds the key: it
 * appears in no log line and no reported reason (`redact`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { isIP } from 'node:net';
import type { Writable } from 'node:stream';
import type { Logger } from '../../common/logging/index.js';
import { ChunkFlags, SOURCE_RENDITION_ID, hasFlag, type StreamInfo } from '../../common/media.js';
import type { CachedChunk, CachedInit } from '../../common/relay/rendition-cache.js';
import type { StreamSubscriber } from '../../common/relay/stream-relay.js';
import { checkTarget } from '../../common/net/target-url.js';

export type OutputStateName = 'connecting' | 'live' | 'failed' | 'stopped';

export interface OutputState {
  id: string;
  state: OutputStateName;
  /** Why it failed, in ffmpeg's words (the key and URL redacted). */
  reason?: string;
}

export interface OutputSpec {
  id: string;
  /** rtmp(s)://host[:port]/app: the key goes after it. */
  url: string;
  key: string;
  /** `source` (the publisher's own video when passed through, else the top rendition) or a rendition id. */
  rendition: string;
  /** The hub lets this output push to loopback and private addresses (`restream.allowPrivateTargets`). */
  allowPrivate?: boolean;
}

export interface RestreamOutputOptions {
  stream: string;
  spec: OutputSpec;
  logger: Logger;
  onState(s: OutputState): void;
  ffmpegPath?: string;
  /** Bytes queued toward ffmpeg past which the output is cut and restarted (default 16 MiB). */
  maxQueuedBytes?: number;
  /** First retry delay (ms); doubles to 30 s. */
  retryInitialMs?: number;
}

const RETRY_MAX_MS = 30_000;
const STABLE_MS = 30_000;

/** The target URL as ffmpeg gets it: the app URL, then the key as the stream name. */
export function targetUrl(spec: Pick<OutputSpec, 'url' | 'key'>): string {
  return `${spec.url.replace(/\/+$/, '')}/${spec.key}`;
}

/**
 * Where ffmpeg connects: for rtmp://, the address just checked (so a name that now points elsewhere is not
 * followed), with the original URL as tcUrl (servers route by it); rtmps:// keeps the name (its certificate).
 */
export function ffmpegTarget(spec: Pick<OutputSpec, 'url' | 'key'>, addresses?: readonly string[]): string[] {
  const url = new URL(spec.url);
  const address = addresses?.[0];
  if (url.protocol !== 'rtmp:' || !address) return [targetUrl(spec)];
  const pinned = new URL(spec.url);
  pinned.hostname = isIP(address) === 6 ? `[${address}]` : address;
  return ['-rtmp_tcurl', spec.url.replace(/\/+$/, ''), targetUrl({ url: pinned.href, key: spec.key })];
}

/** Text with the output's key (and so its full URL) replaced: for logs and the dashboard. */
export function redact(text: string, spec: Pick<OutputSpec, 'key'>): string {
  return spec.key ? text.split(spec.key).join('***') : text;
}

/** Which video rendition an output sends: its own choice when the stream has it, else Source, else the top. */
export function pickVideo(info: StreamInfo, wanted: string): string | undefined {
  const videos = info.renditions.filter((r) => r.kind === 'video');
  const exact = videos.find((r) => r.id === wanted);
  if (exact) return exact.id;
  const source = videos.find((r) => r.id === SOURCE_RENDITION_ID);
  if (source) return source.id;
  return [...videos].sort((a, b) => b.bandwidth - a.bandwidth)[0]?.id;
}

export class RestreamOutput implements StreamSubscriber {
  private info: StreamInfo | undefined;
  private video: string | undefined;
  private audio: string | undefined;
  private readonly inits = new Map<string, Buffer>();
  private proc: ChildProcess | undefined;
  private pipes: { video: Writable; audio: Writable | undefined } | undefined;
  private state: OutputStateName | undefined;
  private waitingForKeyframe = true;
  private retryMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private liveSince = 0;
  private stopped = false;
  private lastError = '';
  private checking = false;
  /** The target as checked for the next start (its addresses, when only public ones are allowed). */
  private checked: { addresses?: string[] | undefined } | undefined;

  constructor(private readonly opts: RestreamOutputOptions) {
    this.retryMs = opts.retryInitialMs ?? 1000;
    this.report('connecting');
  }

  onInfo(info: StreamInfo): void {
    this.info = info;
    const video = pickVideo(info, this.opts.spec.rendition);
    const audio = info.renditions.find((r) => r.kind === 'audio')?.id;
    if (video !== this.video || audio !== this.audio) {
      this.video = video;
      this.audio = audio;
      this.restart('the renditions changed');
    }
  }

  onInit(rendition: string, init: CachedInit): void {
    const before = this.inits.get(rendition);
    this.inits.set(rendition, init.data);
    // A new init of a rendition we send (the transcoder restarted): ffmpeg starts over with it.
    if (before && !before.equals(init.data) && (rendition === this.video || rendition === this.audio))
      this.restart('the transcoder restarted');
  }

  onChunk(c: CachedChunk): void {
    if (this.stopped || this.retryTimer) return;
    const r = c.meta.rendition;
    if (r !== this.video && r !== this.audio) return;
    if (!this.proc) {
      if (r !== this.video || !hasFlag(c.meta, ChunkFlags.KEYFRAME)) return;
      // Each start is preceded by a fresh check of where the name points now (it may point inward since the
      // hub checked it); the start then waits for the next keyframe.
      if (!this.checked) return void this.check();
      if (!this.start(this.checked)) return;
    }
    if (this.waitingForKeyframe) {
      if (r !== this.video || !hasFlag(c.meta, ChunkFlags.KEYFRAME)) return;
      this.waitingForKeyframe = false;
    }
    const pipe = r === this.video ? this.pipes?.video : this.pipes?.audio;
    if (!pipe || pipe.destroyed) return;
    if (pipe.writableLength > (this.opts.maxQueuedBytes ?? 16 * 1024 * 1024)) {
      this.fail('the target takes the stream slower than it is made');
      return;
    }
    pipe.write(c.meta.payload);
  }

  onEnd(): void {
    this.stop();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.kill();
    this.report('stopped');
  }

  private check(): void {
    if (this.checking) return;
    this.checking = true;
    const { spec } = this.opts;
    void checkTarget(spec.url, {
      allowPrivate: spec.allowPrivate === true,
      schemes: ['rtmp:', 'rtmps:'],
    }).then((r) => {
      this.checking = false;
      if (this.stopped) return;
      if (r.ok) this.checked = { addresses: r.addresses };
      else this.fail(`the target is refused: ${r.reason}`);
    });
  }

  private start(checked: { addresses?: string[] | undefined }): boolean {
    const { spec, logger, stream } = this.opts;
    const video = this.video && this.inits.get(this.video);
    if (!video) return false;
    const audio = this.audio ? this.inits.get(this.audio) : undefined;
    if (this.audio && !audio) return false;
    const inputs = ['-f', 'mov', '-i', 'pipe:3', ...(audio ? ['-f', 'mov', '-i', 'pipe:4'] : [])];
    const args = [
      '-hide_banner',
      '-loglevel',
      'error',
      '-nostats',
      '-progress',
      'pipe:1',
      '-analyzeduration',
      '1000000',
      ...inputs,
      '-map',
      '0:v:0',
      ...(audio ? ['-map', '1:a:0'] : []),
      '-c',
      'copy',
      '-f',
      'flv',
      '-rtmp_live',
      'live',
      ...ffmpegTarget(spec, checked.addresses),
    ];
    this.checked = undefined;
    const proc = spawn(this.opts.ffmpegPath ?? 'ffmpeg', args, {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', ...(audio ? (['pipe'] as const) : [])],
    });
    this.proc = proc;
    this.lastError = '';
    const videoPipe = proc.stdio[3] as Writable;
    const audioPipe = audio ? (proc.stdio[4] as Writable) : undefined;
    for (const p of [videoPipe, audioPipe]) p?.on('error', () => undefined);
    videoPipe.write(video);
    audioPipe?.write(audio!);
    this.pipes = { video: videoPipe, audio: audioPipe };
    this.waitingForKeyframe = true;
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (d: string) => {
      if (this.proc === proc && this.state !== 'live' && d.includes('progress=continue')) {
        this.liveSince = Date.now();
        this.report('live');
        logger.info({ stream, output: spec.id }, 'restream output live');
      }
    });
    // Whole lines only: a key split across two reads would escape the redaction.
    let partial = '';
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (d: string) => {
      const lines = (partial + d).split('\n');
      partial = (lines.pop() ?? '').slice(-4096);
      const line = lines
        .map((l) => l.trim())
        .filter(Boolean)
        .pop();
      if (line) this.lastError = redact(line, spec).slice(0, 200);
    });
    proc.on('error', (err) => {
      this.lastError = redact(err.message, spec);
    });
    proc.on('close', (code, signal) => {
      if (this.proc !== proc) return;
      this.proc = undefined;
      this.pipes = undefined;
      if (this.stopped) return;
      this.fail(this.lastError || `ffmpeg ended (${signal ?? `exit ${code}`})`);
    });
    return true;
  }

  private fail(reason: string): void {
    if (this.stopped) return;
    const { logger, stream, spec } = this.opts;
    this.kill();
    if (this.liveSince && Date.now() - this.liveSince >= STABLE_MS)
      this.retryMs = this.opts.retryInitialMs ?? 1000;
    this.liveSince = 0;
    logger.warn(
      { stream, output: spec.id, code: 'RESTREAM_FAILED', reason, retryInMs: this.retryMs },
      'restream output failed; retrying (the live stream is not affected)',
    );
    this.report('failed', reason);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.stopped) this.report('connecting');
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
  }

  private restart(why: string): void {
    if (!this.proc) return;
    this.opts.logger.info(
      { stream: this.opts.stream, output: this.opts.spec.id, why },
      'restream output restarts',
    );
    this.kill();
    this.report('connecting');
  }

  private kill(): void {
    const p = this.proc;
    this.proc = undefined;
    this.pipes = undefined;
    if (p && p.exitCode === null && p.signalCode === null) {
      for (const s of p.stdio) (s as Writable | null)?.destroy?.();
      p.kill('SIGKILL');
    }
  }

  private report(state: OutputStateName, reason?: string): void {
    if (this.state === state && state !== 'failed') return;
    this.state = state;
    this.opts.onState({ id: this.opts.spec.id, state, ...(reason ? { reason } : {}) });
  }
}
