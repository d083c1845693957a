/**
 * Login sessions and stream-access tokens, signed with keys derived from the cluster secret so that edges
 * verify access tokens locally, without a round trip per request.
 */
import { deriveKey, signToken, verifyToken } from '../common/protocol/session-tokens.js';
import type { SessionInfo } from './chat/types.js';
import type { Store, UserRecord } from './store/types.js';

interface SessionPayload {
  typ: 'session';
  sub: string;
  name: string;
  role: 'user' | 'admin' | 'streamer';
  exp: number;
}

export class Sessions {
  private readonly sessionKey: Buffer;
  private readonly accessKey: Buffer;

  constructor(
    clusterSecret: string,
    private readonly store: Store,
    private readonly ttl: { sessionMs: number; accessMs: number },
  ) {
    this.sessionKey = deriveKey(clusterSecret, 'session');
    this.accessKey = deriveKey(clusterSecret, 'stream-access');
  }

  issueUser(user: UserRecord): string {
    return signToken(
      this.sessionKey,
      { typ: 'session', sub: `u:${user.id}`, name: user.name, role: user.role },
      this.ttl.sessionMs,
    );
  }

  issueStreamer(name: string): string {
    return signToken(
      this.sessionKey,
      { typ: 'session', sub: `s:${name}`, name, role: 'streamer' },
      this.ttl.sessionMs,
    );
  }

  /** The session's holder, re-checked against the store (a removed user's token stops working). */
  verify(token: string | undefined): SessionInfo | undefined {
    if (!token) return undefined;
    const p = verifyToken(this.sessionKey, token) as SessionPayload | undefined;
    if (!p || p.typ !== 'session' || typeof p.sub !== 'string') return undefined;
    if (p.sub.startsWith('s:')) {
      const name = p.sub.slice(2);
      return this.store.streamers.get(name) ? { kind: 'streamer', name } : undefined;
    }
    if (p.sub.startsWith('u:')) {
      const user = this.store.users.get(Number(p.sub.slice(2)));
      return user ? { kind: 'user', userId: user.id, name: user.name, role: user.role } : undefined;
    }
    return undefined;
  }

  issueAccess(stream: string): string {
    return signToken(this.accessKey, { typ: 'access', stream }, this.ttl.accessMs);
  }

  get accessTtlMs(): number {
    return this.ttl.accessMs;
  }

  get sessionTtlMs(): number {
    return this.ttl.sessionMs;
  }
}
