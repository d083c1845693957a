/**
 * Mutes and bans as the chat sees them. A sanction is stored per target: the account ('user'), the display
 * name ('name') and the IPs the person used ('ip'), values lower-cased where they are names. The store is the
 * single authority, checked when someone joins and every time they send, whichever edge they are on.
 *
 * IP targets never apply to channel staff (rank ≥ 1): a moderator behind the same NAT as the troll they
 * banned must not ban themself.
 */
import type { SanctionKind, SanctionRecord, SanctionTarget, Store } from '../store/types.js';
import type { Rank } from './members.js';

export interface SanctionSubject {
  name: string;
  account?: string;
  rank: Rank;
  ips: Iterable<string>;
}

/**
 * `withIp`: bans reach the person's IPs too; mutes do not (a mute by IP would silence everyone behind the
 * same NAT, a school or an office, for one person's spam).
 */
export function targetsOf(subject: SanctionSubject, withIp = true): SanctionTarget[] {
  const targets: SanctionTarget[] = [{ type: 'name', value: subject.name.toLowerCase() }];
  if (subject.account !== undefined) targets.push({ type: 'user', value: subject.account.toLowerCase() });
  if (withIp && subject.rank === 0)
    for (const ip of new Set(subject.ips)) targets.push({ type: 'ip', value: ip });
  return dedupe(targets);
}

export function isSanctioned(
  store: Store,
  channel: string,
  kind: SanctionKind,
  subject: SanctionSubject,
  now: number,
): boolean {
  return targetsOf(subject).some((t) => store.sanctions.active(channel, kind, t, now));
}

/** Adds (or renews) one sanction per target; all share `by` and `until`, which is what links them later. */
export function addSanctions(
  store: Store,
  channel: string,
  kind: SanctionKind,
  targets: SanctionTarget[],
  until: number | null,
  by: string,
): void {
  for (const target of targets) {
    store.sanctions.remove(channel, kind, target);
    store.sanctions.add({ channel, kind, target, until, by });
  }
}

/**
 * Sanctions with the same `by` and `until` stored within this window are taken to come from one command.
 * Only needed after a restart (see liftTargets); wide enough for a slow disk, narrow enough that two bans in a
 * raid rarely merge.
 */
const LINK_WINDOW_MS = 1000;

/**
 * Everything to lift when a moderator says `/unban name`: the name and account targets, the targets the hub
 * knows for the person (`known`: from the member, or from its memory of who left), and every sanction stored
 * by the same command as a matching name sanction — which is how the IPs are found after a restart.
 */
export function liftTargets(
  store: Store,
  channel: string,
  kind: SanctionKind,
  name: string,
  known: SanctionTarget[],
  now: number,
): SanctionTarget[] {
  const lower = name.toLowerCase();
  const active = store.sanctions.list(channel, now).filter((s) => s.kind === kind);
  const named = active.filter(
    (s) => (s.target.type === 'name' || s.target.type === 'user') && s.target.value === lower,
  );
  const linked = active.filter((s) => named.some((n) => sameCommand(n, s)));
  return dedupe([
    { type: 'name', value: lower },
    { type: 'user', value: lower },
    ...known,
    ...named.map((s) => s.target),
    ...linked.map((s) => s.target),
  ]);
}

export function removeSanctions(
  store: Store,
  channel: string,
  kind: SanctionKind,
  targets: SanctionTarget[],
): number {
  let removed = 0;
  for (const t of targets) if (store.sanctions.remove(channel, kind, t)) removed++;
  return removed;
}

export function matchesAny(subject: SanctionSubject, targets: SanctionTarget[]): boolean {
  const mine = targetsOf(subject);
  return mine.some((m) => targets.some((t) => t.type === m.type && t.value === m.value));
}

function sameCommand(a: SanctionRecord, b: SanctionRecord): boolean {
  return a.by === b.by && a.until === b.until && Math.abs(a.at - b.at) <= LINK_WINDOW_MS;
}

function dedupe(targets: SanctionTarget[]): SanctionTarget[] {
  const seen = new Set<string>();
  return targets.filter((t) => {
    const k = `${t.type}\u0000${t.value}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
