// Globals the pages use that are not in the DOM types.

// dash.js's UMD build (/static/dash.all.min.js, loaded only for the LL-DASH mode) defines this global.
// eslint-disable-next-line no-var
declare var dashjs: typeof import('dashjs') | undefined;
// hls.js's UMD build (/static/hls.min.js, loaded only for the LL-HLS mode) defines this global.
// eslint-disable-next-line no-var
declare var Hls: typeof import('hls.js').default | undefined;
// uPlot's IIFE build (/static/uPlot.iife.min.js, loaded only by the dashboard's analytics) defines this global.
// eslint-disable-next-line no-var
declare var uPlot: typeof import('uplot') | undefined;
// Safari 17+ and iOS 17.1+: a MediaSource with a `streaming` flag and 'startstreaming'/'endstreaming' events
// (not in TypeScript's DOM types yet). Chromium has none.
// eslint-disable-next-line no-var
declare var ManagedMediaSource: typeof MediaSource | undefined;

/** What the watch page exposes for tests and benchmarks (player.js sets it at start-up). */
interface TiercastPageApi {
  /** The transport playing now (it changes when one fails and the next is tried): WebSocket, LL-DASH, HLS. */
  readonly transport: 'ws' | 'dash' | 'hls' | 'none';
  /** Which player plays HLS: hls.js over MSE or the browser's built-in one; null on another transport. */
  readonly hlsPlayer: 'hls.js' | 'native' | null;
  /** What decodes the WebSocket transport's media: WebCodecs onto a canvas (the default) or MSE (?player=mse). */
  readonly player: 'webcodecs' | 'mse';
  /** The media time (s) of the picture on screen, whichever player draws it; null before the first one. */
  position(): number | null;
  /** Whether the viewer paused the picture (space, k, the <video>'s own pause for MSE and HTTP players). */
  readonly paused: boolean;
  /** The WebCodecs player's counters (frames decoded/drawn/dropped, audio samples, jitter), else null. */
  webcodecs(): Record<string, number | string | boolean | null> | null;
  /** The transports given up on, in order, and why. */
  readonly fallbacks: ReadonlyArray<{ transport: string; reason: string }>;
  latency(): number | null;
  quality(): string | null;
  renditions(): string[];
  setQuality(idOrAuto: string): void;
  readonly stalls: number;
  /** How often the player (WebSocket, hls.js, dash.js) moved to another edge: its edge died, was cut off, was full. */
  edgeMoves(): number;
  /** The base URL of the edge the media comes from now (this page's edge until a move). */
  edge(): string;
  /** WebSocket player: chunks dropped as repeats (an edge's opening burst after a move or reconnect). */
  repeatsDropped(): number;
  /** The video element's buffered ranges, [start, end] in seconds: a hole is a missing chunk. */
  bufferedRanges(): Array<[number, number]>;
  /**
   * Rewind while live: 'live' at the live end, 'dvr' while the recording plays; how far behind live (s, null
   * at the live end), whether a seek is still on its way, and how much can be rewound (s); null until the
   * stream has started playing.
   */
  dvr(): {
    mode: 'live' | 'dvr';
    broadcast: string | null;
    behind: number | null;
    /** A seek asked for and not yet shown. */
    seeking: boolean;
    windowS: number;
  } | null;
  /** Peer-assisted delivery: whether it is on for this page, its counters and open links; null without it. */
  p2p(): {
    on: boolean;
    id: string;
    stats: Record<string, number>;
    links: { up: number; down: number };
    /** The edge's plan for this page: its supplier per stripe (null: the edge) and its receivers. */
    plan: { suppliers: Array<string | null>; receivers: Array<{ peer: string; stripe: number }> };
    /** Chunks from peers: how long after the edge's digest they were here, p50 · p95 · max (ms) of the last 512. */
    lagMs: { p50: number; p95: number; max: number } | null;
    /** Recent delivery events, oldest first: [wall-clock ms, what, detail]. */
    events: Array<[number, string, string]>;
  } | null;
}

/** What the /broadcast page exposes for tests and benchmarks (broadcast.js). */
interface TiercastBroadcastApi {
  /** The status dot: 'offline', 'connecting', 'live' or 'error'. */
  readonly state: string;
  readonly reconnects: number;
  /** Closes the ingest socket as a lost connection would (the page reconnects by itself). */
  dropConnection(): void;
}

interface Window {
  tiercast: TiercastPageApi;
  tiercastBroadcast: TiercastBroadcastApi;
}

// Chromium's insertable streams for a capture track (the /broadcast page reads camera, screen and microphone
// frames with it for WebCodecs); not in TypeScript's DOM types. The page checks it exists before use.
// eslint-disable-next-line no-var
declare var MediaStreamTrackProcessor:
  | {
      new (init: { track: MediaStreamTrack; maxBufferSize?: number }): {
        readonly readable: ReadableStream<VideoFrame | AudioData>;
      };
    }
  | undefined;

// The AudioWorkletGlobalScope of broadcast-audio-worklet.js (not in TypeScript's DOM types; only that file
// uses them).
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
/** The AudioWorkletGlobalScope's sample rate (playout-audio-worklet.js). */
declare const sampleRate: number;
declare function registerProcessor(name: string, processor: new () => AudioWorkletProcessor): void;
