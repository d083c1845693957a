// What the watch page exposes for tests and benchmarks (src/edge/public/player.js).
interface Window {
  tiercast: {
    transport: 'ws' | 'dash';
    latency(): number | null;
    quality(): string | null;
    renditions(): string[];
    setQuality(idOrAuto: string): void;
    readonly stalls: number;
  };
}
