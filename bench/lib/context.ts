/** What every measurement gets from the orchestrator. */
export interface BenchContext {
  quick: boolean;
  /** A duration or count: the full run's, or the quick run's. */
  pick<T>(full: T, quick: T): T;
  log(message: string): void;
}

/** The publisher used by every measurement that needs a live source other than the clock publisher. */
export const CLIP = { width: 1280, height: 720, seconds: 30, kbps: 2500 };
