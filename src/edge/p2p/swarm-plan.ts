/**
 * Domain: who supplies whom in one swarm (the viewers of one stream, video rendition and region on one
 * edge). Pure, so the shape is tested without sockets.
 *
 * The stream is cut into STRIPES interleaved stripes (stripeOf: consecutive chunks of a rendition alternate).
 * Each stripe travels down its own tree of viewers; the edge feeds only each tree's root. Every viewer has a
 * home stripe and is an inner node (a supplier) only in the tree of its home stripe, so each viewer receives
 * every stripe from one supplier (two suppliers in all: the seed's "gets the stream from two other clients")
 * and uploads at most `fanout` copies of one stripe (`fanout` / STRIPES of the stream: with two stripes and a
 * fan-out of two, as much as it downloads). The edge uploads one copy of the stream per swarm, whatever its
 * size: the offload ceiling is 1 − 1/N. Lagging viewers go last in every tree, where they are leaves.
 */

/** Stripes the stream is cut into. The browser has the same constant and function (public/p2p-swarm.js). */
export const STRIPES = 2;

/** The stripe a chunk belongs to: consecutive chunks of a rendition alternate, whatever a segment's length. */
export function stripeOf(segment: number, chunk: number): number {
  return (segment + chunk) % STRIPES;
}

export interface PlanMember {
  id: string;
  /** The stripe this viewer supplies (0 … STRIPES − 1). */
  home: number;
  /** Reported behind (missed deadlines): a leaf wherever possible. */
  lagging: boolean;
}

export interface MemberPlan {
  /** Per stripe, the viewer that supplies it, or null: the edge does. */
  suppliers: Array<string | null>;
  /** The viewers this one supplies, each with the stripe. */
  receivers: Array<{ peer: string; stripe: number }>;
}

/**
 * The trees of a swarm. `members` in join order (earlier joiners keep their places when others come and go, so
 * a change moves few links). Tree s lists the home-s members first, then the others, lagging ones last; it is
 * a complete `fanout`-ary tree over that list (the parent of position i is ⌊(i − 1) / fanout⌋).
 *
 * `previous` (a member's supplier of a stripe in the plan before, if it had one) keeps links: the leaves of a
 * tree supply nobody in it, so any member on a leaf position can take any other leaf position without
 * breaking a rule (fan-out, acyclic, inner nodes from the home group, lagging members as leaves). Leaves whose
 * supplier still has a leaf slot keep it; the rest fill the slots left. Without it a newcomer of a home group
 * shifted every member behind it in the list, and half of them changed supplier: links re-formed at every
 * join and leave, each a WebRTC handshake and a stripe from the edge meanwhile.
 */
export function planSwarm(
  members: readonly PlanMember[],
  fanout: number,
  previous?: (id: string, stripe: number) => string | null | undefined,
): Map<string, MemberPlan> {
  const plans = new Map<string, MemberPlan>();
  for (const m of members)
    plans.set(m.id, { suppliers: Array.from({ length: STRIPES }, () => null), receivers: [] });
  for (let s = 0; s < STRIPES; s++) {
    const order = treeOrder(members, s);
    if (previous) keepLeafLinks(order, fanout, (id) => previous(id, s));
    for (let i = 1; i < order.length; i++) {
      const parent = order[Math.floor((i - 1) / fanout)]!;
      const child = order[i]!;
      plans.get(child.id)!.suppliers[s] = parent.id;
      plans.get(parent.id)!.receivers.push({ peer: child.id, stripe: s });
    }
  }
  return plans;
}

/**
 * Reorders the leaf positions of a tree's list (in place) so that a leaf keeps its previous supplier where
 * that supplier has a leaf slot: first every leaf whose supplier has one, in list order, then the rest.
 */
function keepLeafLinks(
  order: PlanMember[],
  fanout: number,
  previous: (id: string) => string | null | undefined,
): void {
  const firstLeaf = Math.max(1, Math.ceil((order.length - 1) / fanout));
  const parentOf = (i: number) => order[Math.floor((i - 1) / fanout)]!.id;
  /** Free leaf positions per supplier id. */
  const slots = new Map<string, number[]>();
  for (let i = firstLeaf; i < order.length; i++) {
    const list = slots.get(parentOf(i));
    if (list) list.push(i);
    else slots.set(parentOf(i), [i]);
  }
  const leaves = order.slice(firstLeaf);
  const placed = new Map<number, PlanMember>();
  const rest: PlanMember[] = [];
  for (const m of leaves) {
    const sup = previous(m.id);
    const at = sup ? slots.get(sup)?.shift() : undefined;
    if (at === undefined) rest.push(m);
    else placed.set(at, m);
  }
  for (let i = firstLeaf; i < order.length; i++) order[i] = placed.get(i) ?? rest.shift()!;
}

function treeOrder(members: readonly PlanMember[], stripe: number): PlanMember[] {
  const rank = (m: PlanMember): number => (m.lagging ? 2 : m.home === stripe ? 0 : 1);
  // Array.prototype.sort is stable: join order holds within a rank.
  return [...members].sort((a, b) => rank(a) - rank(b));
}

/** Members per home stripe, lagging ones left out (they are leaves wherever their home is). */
function homeCounts(members: readonly PlanMember[]): number[] {
  const counts = Array.from({ length: STRIPES }, () => 0);
  for (const m of members) if (!m.lagging) counts[m.home]!++;
  return counts;
}

/** The home stripe for a newcomer: the one with fewest members (ties: the lowest). */
export function homeForNewcomer(members: readonly PlanMember[]): number {
  const counts = homeCounts(members);
  return counts.indexOf(Math.min(...counts));
}

/**
 * Takes a member out of the list so that the trees change little: the latest joiner of the same home takes
 * its place (nobody else moves in the tree order), then the homes are rebalanced. Returns false if not there.
 */
export function removeMember(members: PlanMember[], id: string): boolean {
  const at = members.findIndex((m) => m.id === id);
  if (at < 0) return false;
  const home = members[at]!.home;
  const heir = lastIndex(members, at + 1, (m) => m.home === home);
  if (heir > at) members[at] = members.splice(heir, 1)[0]!;
  else members.splice(at, 1);
  rebalanceHomes(members);
  return true;
}

function lastIndex<T>(list: readonly T[], from: number, pred: (x: T) => boolean): number {
  for (let i = list.length - 1; i >= from; i--) if (pred(list[i]!)) return i;
  return -1;
}

/**
 * After a member left or fell behind: if one stripe now has two (non-lagging) members more than another, the latest joiner of the larger
 * moves (so that inner nodes stay within one home group), to the end of the list: last of its new home.
 * Returns the member moved, if any.
 */
export function rebalanceHomes(members: PlanMember[]): PlanMember | undefined {
  const counts = homeCounts(members);
  const max = Math.max(...counts);
  const min = Math.min(...counts);
  if (max - min < 2) return undefined;
  const from = counts.indexOf(max);
  const to = counts.indexOf(min);
  const at = lastIndex(members, 0, (m) => m.home === from && !m.lagging);
  if (at < 0) return undefined;
  const [mover] = members.splice(at, 1);
  mover!.home = to;
  members.push(mover!);
  return mover;
}
