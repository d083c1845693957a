// Globals the pages use that are not in the DOM types.

// dash.js's UMD build (/static/dash.all.min.js, loaded only for the LL-DASH mode) defines this global.
// eslint-disable-next-line no-var
declare var dashjs: typeof import('dashjs') | undefined;

/** What the watch page exposes for tests and benchmarks (player.js sets it at start-up). */
interface TiercastPageApi {
  transport: 'ws' | 'dash' | 'hls' | 'none';
  latency(): number | null;
  quality(): string | null;
  renditions(): string[];
  setQuality(idOrAuto: string): void;
  readonly stalls: number;
}

interface Window {
  tiercast: TiercastPageApi;
}
