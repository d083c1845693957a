/**
 * Parent selection (pure): which node a relay pulls from.
 *
 * Eligible: a lower tier than ours, below its capacity, not excluded (a parent that just refused us or failed).
 * Preference: our own region first (network locality), and within a region the closest lower tier (so edges
 * hang under the deepest intermediates and the ingress is only used when nothing sits between). Among the
 * equals of the preferred group: the power of two random choices (two distinct random candidates, the less
 * utilised wins), which spreads children without every relay stampeding to the same least-loaded parent.
 */
import type { NodeInfo } from './types.js';

export interface ChooseParentOptions {
  /** Node ids (or URLs) to skip: parents that just refused or failed. */
  exclude?: ReadonlySet<string>;
  /** Uniform in [0, 1); injected for deterministic tests. */
  random?: () => number;
}

export function isEligibleParent(
  c: NodeInfo,
  self: { tier: number },
  exclude?: ReadonlySet<string>,
): boolean {
  return (
    c.tier < self.tier &&
    c.load < c.capacity &&
    !(exclude?.has(c.id) ?? false) &&
    !(exclude?.has(c.wsUrl) ?? false)
  );
}

export function chooseParent(
  candidates: readonly NodeInfo[],
  self: { region: string; tier: number },
  opts: ChooseParentOptions = {},
): NodeInfo | undefined {
  const eligible = candidates.filter((c) => isEligibleParent(c, self, opts.exclude));
  if (eligible.length === 0) return undefined;
  const local = eligible.filter((c) => c.region === self.region);
  const pool = local.length > 0 ? local : eligible;
  const closestTier = Math.max(...pool.map((c) => c.tier));
  const group = pool.filter((c) => c.tier === closestTier);
  return twoChoices(group, opts.random ?? Math.random);
}

function twoChoices(group: readonly NodeInfo[], random: () => number): NodeInfo | undefined {
  if (group.length <= 1) return group[0];
  const i = pick(random, group.length);
  // The second pick is drawn from the others so that the two are distinct.
  let j = pick(random, group.length - 1);
  if (j >= i) j += 1;
  const a = group[i]!;
  const b = group[j]!;
  return lessLoaded(a, b);
}

function pick(random: () => number, n: number): number {
  const r = random();
  const k = Math.floor((Number.isFinite(r) ? Math.min(Math.max(r, 0), 0.999_999_999) : 0) * n);
  return Math.min(k, n - 1);
}

function lessLoaded(a: NodeInfo, b: NodeInfo): NodeInfo {
  const ua = a.load / a.capacity;
  const ub = b.load / b.capacity;
  if (ua !== ub) return ua < ub ? a : b;
  return b.load < a.load ? b : a;
}
