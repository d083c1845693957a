// The low-latency path: CMAF chunks pushed over a WebSocket straight into Media Source Extensions.
//
// One MediaSource with a video and an audio SourceBuffer lives as long as the stream's timeline
// (availabilityStartTime) does. A socket that drops is reopened with backoff while the buffer keeps
// playing; a transcoder restart arrives as a new "info" plus fresh init segments, appended as-is
// (the timeline keeps increasing, so at most a hole has to be skipped); a new timeline (the
// publisher started over) gets a new MediaSource.
//
// Latency is measured against the ingress: every appended chunk records when ingress received its
// first frame, and the frame at currentTime is interpolated inside its chunk. The server clock comes
// from ping/pong, so the figure holds even when this machine's clock is off.

import { decodeFrame } from './frames.js';
import { ClockSync, localNow } from './clock-sync.js';
import { AutoQuality } from './auto-quality.js';
import { LiveEdge, bufferedAhead } from './live-edge.js';
import { MediaSink } from './media-sink.js';
import { parseViewerMessage } from './viewer-messages.js';
import { asRecord } from './json.js';
import { PeerAssist, peerAssistAvailable } from './peer-assist.js';
import { PLAY_BLOCKED } from './transport-chain.js';
import { t } from './i18n.js';

/** @import { LIVE_EDGE_DEFAULTS } from './live-edge.js' */
/** @import { ChunkFrame } from './frames.js' */
/** @import { Rendition, StreamInfo } from './viewer-messages.js' */

export const WS_DEFAULTS = Object.freeze({
  /** Media kept behind the playhead. */
  keepBehindSeconds: 10,
  tickMs: 250,
  reconnectMinMs: 500,
  reconnectMaxMs: 10_000,
  pingEveryMs: 5_000,
  /**
   * No progress for this long with media buffered ahead of the playhead: nudge the playhead forward (a
   * little more each time, up to three times), as hls.js does; the element sometimes halts inside what it
   * holds (seen in Chromium with two cores busy: readyState 1, seconds buffered).
   */
  nudgeAfterMs: 1_000,
  /** No progress for this long while media keeps arriving means the pipeline is wedged: start over. */
  stuckMs: 5_000,
  /** Stalls this soon after (re)starting are the decoder warming up, not the link failing. */
  warmupMs: 2_000,
  /** With other edges known: an open socket silent this long (no media, no pong) counts as a dead edge. */
  silenceMs: 1_500,
});

/**
 * Closes after which the player moves to another edge: abnormal (1006: killed or unreachable), going
 * away (1001: the edge stops), edge full (4503), a server error (1011) and "edge silent" (4000, ours).
 */
const FAILOVER_CLOSE = new Set([1001, 1006, 1011, 4000, 4503]);

const OFFLINE_CODES = /NOT_FOUND|OFFLINE/;

/** @typedef {'connecting' | 'live' | 'buffering' | 'offline' | 'reconnecting' | 'error'} PlayerStatus */

export class WsPlayer {
  /**
   * @param {{ video: HTMLVideoElement, url: string, stream: string,
   *   onStatus?: (status: PlayerStatus, detail?: string) => void,
   *   onRenditions?: (video: Rendition[]) => void,
   *   onQuality?: (id: string | null) => void,
   *   onFailure?: (reason: string) => void,
   *   onPeerState?: (state: 'on' | 'off', detail?: string) => void, peerAssist?: boolean,
   *   options?: Partial<typeof WS_DEFAULTS & typeof LIVE_EDGE_DEFAULTS> }} params
   */
  constructor({
    video,
    url,
    stream,
    onStatus,
    onRenditions,
    onQuality,
    onFailure,
    onPeerState,
    peerAssist = true,
    options = {},
  }) {
    this.video = video;
    this.url = url;
    this.stream = stream;
    this.opts = { ...WS_DEFAULTS, ...options };
    this.cb = { onStatus, onRenditions, onQuality, onFailure };
    this.clock = new ClockSync();
    this.auto = new AutoQuality();
    this.edge = new LiveEdge(options);
    /** @type {MediaSink | null} the MediaSource of the current timeline */
    this.sink = null;
    /** 'auto' or a video rendition id. */
    this.choice = 'auto';
    /** @type {string | null} the video rendition last asked for */
    this.selected = null;
    /** @type {StreamInfo | null} */
    this.info = null;
    /** @type {Map<string, Rendition>} */
    this.renditionsById = new Map();
    /** @type {WebSocket | null} */
    this.ws = null;
    this.reconnectAttempt = 0;
    /** @type {Set<ReturnType<typeof setTimeout>>} */
    this.timers = new Set();
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.tickTimer = this.pingTimer = undefined;
    this.closed = false;
    this.offline = false;
    /** @type {string | null} the status last reported, with its detail */
    this.status = null;
    /** @type {string | null} */
    this.shownQuality = null;
    // Playback state, set again by resetPlayback() for every new MediaSource.
    this.started = this.playedOnce = false;
    this.startedAt = 0;
    /** @type {{ time: number, at: number }} where the playhead was, and when */
    this.lastProgress = { time: -1, at: 0 };
    /** Nudges of the playhead since it last moved (watchdog). */
    this.nudges = 0;
    this.tickCount = 0;
    /** @type {(() => string[]) | undefined} other edges' media-socket URLs, best first */
    this.failover = undefined;
    /** @type {string | undefined} the edge failover moved to */
    this.activeUrl = undefined;
    this.edgesTried = 0;
    /** Moves to another edge so far (tests and the stats read it). */
    this.failovers = 0;
    this.lastMessageAt = 0;
    /** @type {Map<string, { segment: number, chunk: number }>} the last chunk received per rendition */
    this.lastChunk = new Map();
    /** Waiting events after playback first started (not counting the stream ending). */
    this.stalls = 0;
    /** Peer-assisted delivery (peer-assist.js), where the browser can and the viewer has not switched it off. */
    this.peers = peerAssistAvailable()
      ? new PeerAssist({
          send: (msg) => this.send(/** @type {{ type: string }} */ (msg)),
          deliver: (f) => this.deliver(f),
          kindOf: (id) => this.renditionsById.get(id)?.kind,
          frameMs: () => 1000 / (this.renditionsById.get(this.selected ?? '')?.frameRate || 30),
          aheadMs: (kind) => this.mediaAheadMs(kind),
          onState: onPeerState,
        })
      : null;
    if (this.peers) this.peers.wanted = peerAssist;
    this.resetPlayback();
    this.onWaiting = () => this.handleWaiting();
    this.onPlaying = () => (this.playedOnce = true);
    video.addEventListener('waiting', this.onWaiting);
    video.addEventListener('playing', this.onPlaying);
  }

  start() {
    this.connect();
    this.tickTimer = setInterval(() => this.tick(), this.opts.tickMs);
  }

  /** @param {string} idOrAuto */
  setQuality(idOrAuto) {
    this.choice = idOrAuto === 'auto' || !this.renditionsById.has(idOrAuto) ? 'auto' : idOrAuto;
    this.select(this.choice === 'auto' ? this.auto.setRenditions(this.videoRenditions()) : this.choice);
  }

  /** Seconds between ingress receiving the frame on screen and now, or null while unknown. */
  latency() {
    const serverNow = this.clock.serverNow();
    if (!this.started || this.offline || serverNow === null) return null;
    const shown = this.sink?.timeline.ingressTimeAt(this.video.currentTime) ?? null;
    return shown === null ? null : (serverNow - shown) / 1000;
  }

  /**
   * Milliseconds of media of one kind handed to the SourceBuffer beyond the playhead: how long the picture
   * (or sound) can go on without another chunk. Null before playback starts.
   * @param {'video' | 'audio'} kind
   */
  mediaAheadMs(kind) {
    const until = this.sink?.appendedUntil[kind];
    if (!this.started || until === undefined || !Number.isFinite(until)) return null;
    return (until - this.video.currentTime) * 1000;
  }

  /** The video rendition on screen (or the last appended, before playback reaches it). */
  quality() {
    const e = this.started ? this.sink?.timeline.at(this.video.currentTime) : null;
    return e ? e.rendition : (this.sink?.appended.video ?? this.selected);
  }

  renditions() {
    return this.videoRenditions().map((r) => r.id);
  }

  videoRenditions() {
    return [...this.renditionsById.values()].filter((r) => r.kind === 'video');
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.tickTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.video.removeEventListener('waiting', this.onWaiting);
    this.video.removeEventListener('playing', this.onPlaying);
    this.dropSocket(1000, 'viewer left');
    this.peers?.close();
    this.teardownMedia();
  }

  /** The viewer's P2P switch. @param {boolean} on */
  setPeerAssist(on) {
    this.peers?.setWanted(on);
  }

  // ---- socket ---------------------------------------------------------------------------------

  connect() {
    if (this.closed) return;
    this.setStatus(this.reconnectAttempt === 0 && !this.started ? 'connecting' : 'reconnecting');
    const ws = new WebSocket(this.resumeUrl(this.edgeUrl()));
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.lastMessageAt = localNow();
    ws.onopen = () => {
      this.clock.reset();
      this.ping();
      this.peers?.start();
      // A few quick samples so the latency read-out is right from the first frame.
      this.later(() => this.ping(), 300);
      this.later(() => this.ping(), 1000);
      // With other edges to go to, pings also prove this one alive when no media flows (silenceMs).
      const every = this.failover ? Math.min(this.opts.pingEveryMs, 1000) : this.opts.pingEveryMs;
      this.pingTimer = setInterval(() => this.ping(), every);
    };
    // binaryType 'arraybuffer': every binary message is an ArrayBuffer.
    ws.onmessage = (/** @type {MessageEvent<string | ArrayBuffer>} */ ev) => {
      this.lastMessageAt = localNow();
      try {
        if (typeof ev.data === 'string') this.onText(ev.data);
        else this.onBinary(ev.data);
      } catch (err) {
        // One bad message must not end playback; the edge validated it, so this is a bug to report.
        console.warn('tiercast: dropped a message', err);
      }
    };
    ws.onclose = (ev) => {
      clearInterval(this.pingTimer);
      if (this.ws !== ws || this.closed) return;
      this.ws = null;
      this.peers?.reset();
      if (!this.offline) this.setStatus('reconnecting');
      // This edge died, was cut off or is full: go straight to the next one (the stream is the same
      // there; the new edge's first burst repeats what we have, and the sink drops the repeats).
      if (this.failover && !this.offline && FAILOVER_CLOSE.has(ev.code) && this.moveToNextEdge()) {
        this.later(() => this.connect(), 0);
        return;
      }
      const base = Math.min(this.opts.reconnectMaxMs, this.opts.reconnectMinMs * 2 ** this.reconnectAttempt);
      this.reconnectAttempt++;
      // Jitter, so that viewers of a restarted edge do not all come back in the same millisecond.
      this.later(() => this.connect(), base * (0.75 + Math.random() * 0.5));
    };
  }

  /**
   * Other edges to move to when this one fails, best first (from the edge's /api/edges list). Without it
   * the player reconnects to its own edge with backoff.
   * @param {() => string[]} urls the media-socket URLs of the other edges
   */
  setFailover(urls) {
    this.failover = urls;
  }

  /**
   * The socket URL with where this player left off (the last chunk per rendition, and the video rendition
   * it was on), so that an edge it moves or reconnects to continues from the next chunk: nothing missing.
   * @param {string} base
   */
  resumeUrl(base) {
    if (!this.sink || this.lastChunk.size === 0) return base;
    const url = new URL(base);
    const video = this.sink.appended.video;
    const kept = [...this.lastChunk].filter(
      ([id]) => id === video || this.renditionsById.get(id)?.kind === 'audio',
    );
    if (video) url.searchParams.set('video', video);
    if (kept.length)
      url.searchParams.set('resume', kept.map(([id, p]) => `${id}:${p.segment}.${p.chunk}`).join(','));
    return url.href;
  }

  /** The media-socket URL in use: the page's own edge, or the one failover moved to. */
  edgeUrl() {
    return this.activeUrl ?? this.url;
  }

  /**
   * Picks the next edge after the current one in [own edge, ...others]; false once every edge was tried
   * since media last flowed (then the usual backoff applies).
   */
  moveToNextEdge() {
    const list = [this.url, ...(this.failover?.() ?? []).filter((u) => u !== this.url)];
    if (list.length < 2 || this.edgesTried >= list.length - 1) return false;
    const at = list.indexOf(this.edgeUrl());
    this.activeUrl = list[(at + 1) % list.length];
    this.edgesTried++;
    this.failovers++;
    return true;
  }

  /** @param {number} code @param {string} reason */
  dropSocket(code, reason) {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    ws.onclose = null;
    clearInterval(this.pingTimer);
    this.peers?.reset();
    ws.close(code, reason);
  }

  /** @param {{ type: string } & Record<string, unknown>} msg */
  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  ping() {
    this.send({ type: 'ping', t: localNow() });
  }

  /** @param {string | null} id */
  select(id) {
    if (!id) return;
    this.selected = id;
    this.send({ type: 'select', video: id });
  }

  /** @param {string} text */
  onText(text) {
    const msg = parseViewerMessage(text);
    switch (msg?.type) {
      case 'peer':
        this.peers?.onMessage(msg.msg);
        break;
      case 'info':
        this.onInfo(msg.info);
        break;
      case 'pong':
        this.clock.addSample(msg.t, msg.server);
        break;
      case 'end':
        this.offline = true;
        this.setStatus('offline', msg.reason);
        break;
      case 'error':
        // "No such stream right now" is waited out like a stream that ended.
        if (OFFLINE_CODES.test(String(msg.code))) {
          this.offline = true;
          this.setStatus('offline', msg.message);
        } else {
          this.setStatus('error', msg.message);
        }
        break;
      case 'skipped': {
        // The edge names the rendition whose chunk hit the ceiling, audio included; a skip naming
        // another video rendition is stale (from before a switch). A manual choice is respected.
        const named = this.renditionsById.get(msg.rendition ?? '');
        if (this.choice === 'auto')
          this.select(this.auto.onSkipped(named?.kind === 'video' ? named.id : undefined));
        break;
      }
      default:
        break; // newer servers may say more; ignoring it keeps old pages working
    }
  }

  /** @param {StreamInfo} info */
  onInfo(info) {
    const prev = this.info;
    this.info = info;
    this.reconnectAttempt = 0;
    this.edgesTried = 0;
    this.offline = false;
    this.renditionsById = new Map(info.renditions.map((r) => [r.id, r]));
    this.edge.setChunkDuration(info.chunkDurationMs);
    const sink = this.sink;
    if (
      !prev ||
      !sink ||
      prev.availabilityStartTime !== info.availabilityStartTime ||
      kindsOf(prev) !== kindsOf(info)
    ) {
      this.resetMedia();
    } else {
      sink.setRenditions(this.renditionsById);
      if (prev.epoch !== info.epoch) sink.clearInits();
    }
    this.cb.onRenditions?.(this.videoRenditions());
    this.setQuality(this.choice);
    this.setStatus(this.started && !this.video.paused ? 'live' : 'buffering');
  }

  /** @param {ArrayBuffer} buf */
  onBinary(buf) {
    const f = decodeFrame(buf);
    if (f.type === 'heartbeat' || f.stream !== this.stream) return;
    if (f.type === 'chunk' && this.peers) this.peers.fromEdge(buf, f);
    else if (f.type === 'chunk') this.deliver(f);
    else this.sink?.push(f);
  }

  /** A chunk in order, from the edge or a peer. @param {ChunkFrame} f */
  deliver(f) {
    if (this.sink) this.lastChunk.set(f.rendition, { segment: f.segment, chunk: f.chunk });
    this.sink?.push(f);
  }

  // ---- media ----------------------------------------------------------------------------------

  resetPlayback() {
    this.started = false;
    this.startedAt = 0;
    this.playedOnce = false;
    this.lastProgress = { time: -1, at: localNow() };
    this.nudges = 0;
    this.edge.reset();
  }

  teardownMedia() {
    this.lastChunk.clear();
    this.sink?.close();
    this.sink = null;
    this.resetPlayback();
  }

  /** A new MediaSource for a new timeline; the server follows "info" with the init segments. */
  resetMedia() {
    this.teardownMedia();
    this.sink = new MediaSink(this.video, this.renditionsById, (kind) => this.codecRendition(kind), {
      onUpdated: () => this.maybeStart(),
      onUnsupported: (codecs) => {
        this.setStatus('error', t('player.cannotPlayCodecs', { codecs }));
        // The page may have another transport that can.
        this.cb.onFailure?.(`cannot play ${codecs} through MSE`);
      },
    });
  }

  /** SourceBuffers are created with the codec of the rendition about to be selected. @param {'video' | 'audio'} kind */
  codecRendition(kind) {
    const sel = this.renditionsById.get(this.selected ?? '');
    if (sel && sel.kind === kind) return sel;
    return [...this.renditionsById.values()].find((r) => r.kind === kind) ?? null;
  }

  maybeStart() {
    // The edge may open with a burst of the current segment: place the playhead once it is all in.
    if (this.started || !this.sink || this.sink.busy) return;
    const b = this.video.buffered;
    if (b.length === 0) return;
    const start = b.start(b.length - 1);
    const end = b.end(b.length - 1);
    // Start where latency equals the target if the clock is known, else just behind the newest frame.
    let pos = Math.max(start, end - 0.1);
    const ideal = this.idealPosition();
    if (ideal !== null) pos = Math.min(Math.max(start, ideal), end - 0.02);
    this.started = true;
    this.startedAt = localNow();
    this.video.currentTime = pos;
    this.lastProgress = { time: pos, at: localNow() };
    this.video.play().then(
      () => this.setStatus('live'),
      (err) =>
        this.setStatus('error', asRecord(err)?.name === 'NotAllowedError' ? PLAY_BLOCKED : String(err)),
    );
  }

  /** Media time at which latency would equal the target, if the clock is known. */
  idealPosition() {
    const serverNow = this.clock.serverNow();
    const last = this.sink?.timeline.last();
    if (serverNow === null || !last) return null;
    return last.start + (serverNow - last.ingressTime) / 1000 - this.edge.targetLatency();
  }

  // ---- the control loop -----------------------------------------------------------------------

  tick() {
    if (this.closed) return;
    this.tickCount++;
    if (!this.started) {
      this.maybeStart();
      return;
    }
    const v = this.video;
    this.edge.control(v, this.latency());
    this.checkSilence();
    if (this.tickCount % 8 === 0) this.sink?.trim(this.opts.keepBehindSeconds);
    this.watchdog();
    if (this.choice === 'auto' && !v.paused && v.readyState >= 3) this.select(this.auto.tick());
    const q = this.quality();
    if (q !== this.shownQuality) {
      this.shownQuality = q;
      this.cb.onQuality?.(q);
    }
    if (!this.offline && !v.paused && v.readyState >= 3 && this.ws) this.setStatus('live');
  }

  /** An edge cut off without a close (no FIN reaches us) is silent: drop it and move on. */
  checkSilence() {
    const ws = this.ws;
    if (!this.failover || !ws || this.offline) return;
    // A connection attempt to an unreachable host hangs: give it twice as long as an open socket.
    const limit = ws.readyState === WebSocket.OPEN ? this.opts.silenceMs : 2 * this.opts.silenceMs;
    if (localNow() - this.lastMessageAt < limit) return;
    console.warn('tiercast: edge silent, moving to another edge');
    this.dropSocket(4000, 'edge silent');
    if (!this.moveToNextEdge()) this.reconnectAttempt++;
    this.connect();
  }

  watchdog() {
    const v = this.video;
    const now = localNow();
    if (v.currentTime !== this.lastProgress.time || v.paused || this.offline) {
      this.lastProgress = { time: v.currentTime, at: now };
      this.nudges = 0;
      return;
    }
    const still = now - this.lastProgress.at;
    if (
      this.nudges < 3 &&
      !v.seeking &&
      still > this.opts.nudgeAfterMs * (this.nudges + 1) &&
      bufferedAhead(v) > 0.3
    ) {
      this.nudges++;
      console.warn('tiercast: playback halted inside the buffer, nudging the playhead', this.stuckContext());
      v.currentTime += 0.1 * this.nudges;
      // The nudge moved the playhead, playback did not: the halt goes on counting from where it began.
      this.lastProgress.time = v.currentTime;
      return;
    }
    const receiving = now - (this.sink?.lastDataAt ?? 0) < 2000;
    if (receiving && still > this.opts.stuckMs) {
      console.warn(
        'tiercast: playback stuck while media arrives, restarting the player',
        this.stuckContext(),
      );
      this.restart();
    }
  }

  /** What the console says when playback is stuck: where the playhead is, what is buffered, what P2P awaits. */
  stuckContext() {
    const v = this.video;
    const b = v.buffered;
    const ranges = [];
    for (let i = 0; i < b.length; i++) ranges.push(`${b.start(i).toFixed(2)}-${b.end(i).toFixed(2)}`);
    return JSON.stringify({
      at: Number(v.currentTime.toFixed(2)),
      buffered: ranges,
      readyState: v.readyState,
      sink: this.sink?.debugState?.() ?? null,
      p2p: this.peers?.waitingState() ?? null,
    });
  }

  /** Starts over with a fresh socket; the next "info" builds a new MediaSource and the server resends inits. */
  restart() {
    this.teardownMedia();
    this.info = null;
    this.dropSocket(4000, 'player restart');
    this.connect();
  }

  handleWaiting() {
    // Running out of media because the stream ended is not a stall.
    if (!this.playedOnce || this.video.seeking || this.offline) return;
    this.stalls++;
    this.edge.onStall();
    if (this.choice === 'auto' && localNow() - this.startedAt > this.opts.warmupMs)
      this.select(this.auto.onStall());
  }

  /** @param {PlayerStatus} status @param {string} [detail] */
  setStatus(status, detail) {
    const key = `${status}:${detail ?? ''}`;
    if (key === this.status) return;
    this.status = key;
    this.cb.onStatus?.(status, detail);
  }

  /** @param {() => void} fn @param {number} ms */
  later(fn, ms) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }
}

/** @param {StreamInfo | null} info */
function kindsOf(info) {
  return info ? [...new Set(info.renditions.map((r) => r.kind))].sort().join(',') : '';
}
