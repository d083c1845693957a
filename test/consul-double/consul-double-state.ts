/**
 * TEST DOUBLE — the state behind ConsulDouble (consul-double.ts): an agent's services and TTL checks, the
 * catalog index, sessions and KV, with Consul's semantics for the subset tiercast uses. Not Consul; see
 * README.md in this folder for what is and is not modelled.
 */
import { randomUUID } from 'node:crypto';

export type CheckStatus = 'passing' | 'warning' | 'critical';

export interface DoubleService {
  ID: string;
  Service: string;
  Tags: string[];
  Meta: Record<string, string>;
  Address: string;
  Port: number;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface DoubleCheck {
  CheckID: string;
  Name: string;
  Status: CheckStatus;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  ttlMs: number | undefined;
  deregisterAfterMs: number | undefined;
  ttlTimer?: NodeJS.Timeout;
  reapTimer?: NodeJS.Timeout;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface DoubleSession {
  ID: string;
  Name: string;
  Behavior: 'release' | 'delete';
  ttlMs: number | undefined;
  TTL: string;
  lockDelayMs: number;
  timer?: NodeJS.Timeout;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface DoubleKvEntry {
  Key: string;
  Value: Buffer;
  Flags: number;
  Session?: string;
  LockIndex: number;
  CreateIndex: number;
  ModifyIndex: number;
}

export type DoubleServiceInput = Omit<DoubleService, 'CreateIndex' | 'ModifyIndex'>;
export type DoubleCheckInput = Omit<
  DoubleCheck,
  'CreateIndex' | 'ModifyIndex' | 'ServiceID' | 'ServiceName'
> & {
  statusGiven: boolean;
};
export type DoubleSessionInput = Omit<DoubleSession, 'ID' | 'timer' | 'CreateIndex' | 'ModifyIndex'>;

/** Consul multiplies a session's TTL by this before invalidating it (structs.SessionTTLMultiplier). */
export const SESSION_TTL_MULTIPLIER = 2;

export class ConsulState {
  /** The Raft-like index: incremented by every write. */
  index = 1;
  /** Per-table indexes, as Consul's index table: `service.<name>`, `kvs`, `kv.<key>`, `sessions`. */
  readonly tables = new Map<string, number>();
  readonly services = new Map<string, DoubleService>();
  readonly checks = new Map<string, DoubleCheck>();
  readonly sessions = new Map<string, DoubleSession>();
  readonly kv = new Map<string, DoubleKvEntry>();
  readonly lockDelays = new Map<string, number>();
  /** Blocking queries waiting for the next write. */
  readonly waiters = new Set<() => void>();

  /** Records a write touching `tables` and wakes blocking queries once the caller has finished mutating. */
  write(...tables: string[]): number {
    const idx = ++this.index;
    for (const t of tables) this.tables.set(t, idx);
    queueMicrotask(() => {
      for (const w of [...this.waiters]) w();
    });
    return idx;
  }

  serviceIndex(name: string): number {
    return this.tables.get(`service.${name}`) ?? 1;
  }

  kvIndex(key?: string): number {
    if (key !== undefined) {
      const e = this.kv.get(key);
      if (e) return e.ModifyIndex;
    }
    return this.tables.get('kvs') ?? 1;
  }

  // ---- agent services and checks ----

  registerService(svc: DoubleServiceInput, checks: DoubleCheckInput[]): void {
    const prev = this.services.get(svc.ID);
    if (prev && prev.Service !== svc.Service) this.removeService(prev.ID, false);
    const idx = this.write(`service.${svc.Service}`, 'services');
    this.services.set(svc.ID, {
      ...svc,
      CreateIndex: this.services.get(svc.ID)?.CreateIndex ?? idx,
      ModifyIndex: idx,
    });
    for (const c of checks) {
      const existing = this.checks.get(c.CheckID);
      this.clearCheckTimers(existing);
      const status: CheckStatus = c.statusGiven ? c.Status : (existing?.Status ?? 'critical');
      const check: DoubleCheck = {
        CheckID: c.CheckID,
        Name: c.Name,
        Status: status,
        Notes: c.Notes,
        Output: existing && !c.statusGiven ? existing.Output : c.Output,
        ServiceID: svc.ID,
        ServiceName: svc.Service,
        ttlMs: c.ttlMs,
        deregisterAfterMs: c.deregisterAfterMs,
        CreateIndex: existing?.CreateIndex ?? idx,
        ModifyIndex: idx,
      };
      this.checks.set(check.CheckID, check);
      this.armTtl(check);
      this.armReaper(check);
    }
  }

  removeService(id: string, write = true): boolean {
    const svc = this.services.get(id);
    if (!svc) return false;
    this.services.delete(id);
    for (const c of [...this.checks.values()]) {
      if (c.ServiceID === id) {
        this.clearCheckTimers(c);
        this.checks.delete(c.CheckID);
      }
    }
    if (write) this.write(`service.${svc.Service}`, 'services');
    return true;
  }

  /** TTL check update (pass/warn/fail). Like the agent, only a change of status or output is a catalog write. */
  updateTtlCheck(id: string, status: CheckStatus, output: string): 'ok' | 'unknown' | 'not-ttl' {
    const c = this.checks.get(id);
    if (!c) return 'unknown';
    if (c.ttlMs === undefined) return 'not-ttl';
    this.armTtl(c);
    this.setStatus(c, status, output);
    return 'ok';
  }

  private setStatus(c: DoubleCheck, status: CheckStatus, output: string): void {
    if (c.Status === status && c.Output === output) return;
    c.Status = status;
    c.Output = output;
    c.ModifyIndex = this.write(`service.${c.ServiceName}`, 'services');
    this.armReaper(c);
  }

  private armTtl(c: DoubleCheck): void {
    if (c.ttlTimer) clearTimeout(c.ttlTimer);
    if (c.ttlMs === undefined) return;
    c.ttlTimer = setTimeout(() => {
      c.ttlTimer = undefined;
      if (this.checks.get(c.CheckID) === c) this.setStatus(c, 'critical', 'TTL expired');
    }, c.ttlMs);
  }

  /** Consul's reaper removes a service whose check stayed critical past DeregisterCriticalServiceAfter. */
  private armReaper(c: DoubleCheck): void {
    if (c.Status !== 'critical') {
      if (c.reapTimer) clearTimeout(c.reapTimer);
      c.reapTimer = undefined;
      return;
    }
    if (c.reapTimer || c.deregisterAfterMs === undefined) return;
    c.reapTimer = setTimeout(() => {
      c.reapTimer = undefined;
      if (this.checks.get(c.CheckID) === c && c.Status === 'critical') this.removeService(c.ServiceID);
    }, c.deregisterAfterMs);
  }

  private clearCheckTimers(c: DoubleCheck | undefined): void {
    if (!c) return;
    if (c.ttlTimer) clearTimeout(c.ttlTimer);
    if (c.reapTimer) clearTimeout(c.reapTimer);
    c.ttlTimer = c.reapTimer = undefined;
  }

  // ---- sessions ----

  createSession(s: DoubleSessionInput): DoubleSession {
    const idx = this.write('sessions');
    const session: DoubleSession = { ID: randomUUID(), ...s, CreateIndex: idx, ModifyIndex: idx };
    this.sessions.set(session.ID, session);
    this.armSession(session);
    return session;
  }

  renewSession(id: string): DoubleSession | undefined {
    const s = this.sessions.get(id);
    if (s) this.armSession(s);
    return s;
  }

  private armSession(s: DoubleSession): void {
    if (s.timer) clearTimeout(s.timer);
    if (s.ttlMs === undefined) return;
    s.timer = setTimeout(() => this.invalidateSession(s.ID), s.ttlMs * SESSION_TTL_MULTIPLIER);
  }

  /** Destroy or expiry: the session's locks are released or their keys deleted (Behavior), with lock-delay. */
  invalidateSession(id: string): boolean {
    const s = this.sessions.get(id);
    if (!s) return false;
    if (s.timer) clearTimeout(s.timer);
    this.sessions.delete(id);
    const now = Date.now();
    const touched = ['sessions'];
    for (const e of [...this.kv.values()]) {
      if (e.Session !== id) continue;
      if (s.lockDelayMs > 0) this.lockDelays.set(e.Key, now + s.lockDelayMs);
      touched.push(`kv.${e.Key}`);
      if (s.Behavior === 'delete') this.kv.delete(e.Key);
      else delete e.Session;
    }
    const idx = this.write(...touched, 'kvs');
    for (const e of this.kv.values()) if (touched.includes(`kv.${e.Key}`)) e.ModifyIndex = idx;
    return true;
  }

  // ---- KV ----

  /** PUT /v1/kv/<key> with Consul's cas / acquire / release semantics. Throws 'invalid session' like Consul. */
  putKv(
    key: string,
    value: Buffer,
    q: { flags?: number; cas?: number; acquire?: string; release?: string },
  ): boolean {
    const e = this.kv.get(key);
    if (q.cas !== undefined) {
      if (q.cas === 0 ? e !== undefined : e?.ModifyIndex !== q.cas) return false;
    }
    const flags = q.flags ?? e?.Flags ?? 0;
    if (q.acquire !== undefined) {
      if (!this.sessions.has(q.acquire)) throw new Error(`invalid session "${q.acquire}"`);
      if (e?.Session === q.acquire) return this.storeKv(key, value, flags, e.Session, e.LockIndex);
      if (e?.Session !== undefined) return false;
      const delayUntil = this.lockDelays.get(key);
      if (delayUntil !== undefined && delayUntil > Date.now()) return false;
      return this.storeKv(key, value, flags, q.acquire, (e?.LockIndex ?? 0) + 1);
    }
    if (q.release !== undefined) {
      if (!e || e.Session !== q.release) return false;
      return this.storeKv(key, value, flags, undefined, e.LockIndex);
    }
    return this.storeKv(key, value, flags, e?.Session, e?.LockIndex ?? 0);
  }

  private storeKv(
    key: string,
    value: Buffer,
    flags: number,
    session: string | undefined,
    lockIndex: number,
  ): true {
    const prev = this.kv.get(key);
    const idx = this.write(`kv.${key}`, 'kvs');
    const entry: DoubleKvEntry = {
      Key: key,
      Value: value,
      Flags: flags,
      LockIndex: lockIndex,
      CreateIndex: prev?.CreateIndex ?? idx,
      ModifyIndex: idx,
    };
    if (session !== undefined) entry.Session = session;
    this.kv.set(key, entry);
    return true;
  }

  deleteKv(key: string, q: { cas?: number; recurse?: boolean }): boolean {
    if (q.recurse) {
      const keys = [...this.kv.keys()].filter((k) => k.startsWith(key));
      for (const k of keys) this.kv.delete(k);
      this.write(...keys.map((k) => `kv.${k}`), 'kvs');
      return true;
    }
    const e = this.kv.get(key);
    if (q.cas !== undefined && (e === undefined ? q.cas !== 0 : e.ModifyIndex !== q.cas)) return false;
    this.kv.delete(key);
    this.write(`kv.${key}`, 'kvs');
    return true;
  }

  /**
   * The agent restarted without its data directory: what was registered on it (services, checks) is gone and
   * its sessions were invalidated (their node's serfHealth failed). The servers' KV and index live on.
   */
  restartAgent(): void {
    for (const id of [...this.sessions.keys()]) this.invalidateSession(id);
    for (const id of [...this.services.keys()]) this.removeService(id);
  }

  /** Forgets everything (the whole cluster lost its data): the index goes back to 1. */
  wipe(): void {
    for (const c of this.checks.values()) this.clearCheckTimers(c);
    for (const s of this.sessions.values()) if (s.timer) clearTimeout(s.timer);
    this.services.clear();
    this.checks.clear();
    this.sessions.clear();
    this.kv.clear();
    this.lockDelays.clear();
    this.tables.clear();
    this.index = 1;
    for (const w of [...this.waiters]) w();
  }
}
