/**
 * Password-protected streams at the edge: the manifest, segments, the media socket and chat are refused
 * unless the viewer holds a stream-access token (a cookie set when they proved the password to the hub).
 * The token is verified here with a key derived from the cluster secret: no round trip per request.
 *
 * Whether a stream is protected comes from two places. The hub's directory is the authority: it follows
 * password changes at once. The stream's own description (StreamInfo.protected, set by the ingress when
 * the publish was authorised) only fills in for streams the directory does not name, or while an edge that
 * has a hub has not yet received its directory. The answer may therefore be "not known yet": callers hold
 * the viewer and send nothing of the stream until it is known (check first, send after).
 */
import { parseCookies, readCookie } from '../common/http/request.js';
import { callSafely } from '../common/events/safe-emitter.js';
import type { Logger } from '../common/logging/index.js';
import { accessCookie, accessTokenValid, deriveKey } from '../common/protocol/session-tokens.js';

export type Access = 'allow' | 'deny' | 'unknown';

/** What a viewer's request shows of them: its Cookie header, and whether it came over HTTPS (`__Host-` names). */
export interface ViewerCredentials {
  cookies: string;
  secure: boolean;
}

export interface AccessGateOptions {
  /** The stream's own word once its description has arrived here (StreamInfo.protected); undefined before. */
  streamSaysProtected?: (stream: string) => boolean | undefined;
  /** A hub is configured: wait for its directory before trusting a stream that says it is open. */
  expectDirectory?: boolean;
  /** How long after start-up an edge with a hub waits for the directory before trusting StreamInfo alone. */
  directoryGraceMs?: number;
  logger?: Logger;
}

/**
 * Without it, an edge whose hub is down at start-up would serve no video at all; with it, the only streams
 * served on StreamInfo's word are those whose ingress said "open" at publish time. Long enough for a hub link
 * to come up on a healthy network (it connects before the first viewer can be attached).
 */
const DEFAULT_DIRECTORY_GRACE_MS = 10_000;

export class AccessGate {
  /** name → protected, from the hub's directory; undefined until the first directory arrives. */
  private directory: Map<string, boolean> | undefined;
  private graceOver: boolean;
  private readonly graceTimer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<() => void>();
  private readonly key: Buffer;

  constructor(
    clusterSecret: string,
    private readonly opts: AccessGateOptions = {},
  ) {
    this.key = deriveKey(clusterSecret, 'stream-access');
    this.graceOver = !opts.expectDirectory;
    if (opts.expectDirectory) {
      this.graceTimer = setTimeout(() => {
        this.graceOver = true;
        if (!this.directory) {
          opts.logger?.warn(
            { code: 'HUB_UNAVAILABLE' },
            "no directory from the hub yet: streams' own protection flag decides until it arrives",
          );
          this.changed();
        }
      }, opts.directoryGraceMs ?? DEFAULT_DIRECTORY_GRACE_MS);
      this.graceTimer.unref();
    }
  }

  /** The hub's directory (every streamer, live or not). Listeners hear of it only when protection changed. */
  setDirectory(entries: Iterable<{ name: string; protected: boolean }>): void {
    const next = new Map<string, boolean>();
    for (const e of entries) next.set(e.name, e.protected);
    const prev = this.directory;
    this.directory = next;
    if (prev && prev.size === next.size && [...next].every(([n, p]) => prev.get(n) === p)) return;
    this.changed();
  }

  /** true / false once known; undefined while the edge cannot tell yet. */
  protection(stream: string): boolean | undefined {
    const listed = this.directory?.get(stream);
    if (listed !== undefined) return listed;
    const own = this.opts.streamSaysProtected?.(stream);
    if (own === true) return true;
    // "Open" from StreamInfo is as old as the publish; a password set since then is only in the directory.
    if (own === false && (this.directory !== undefined || this.graceOver)) return false;
    return undefined;
  }

  /** A valid token is enough on its own; without one, the stream must be known to be open. */
  access(stream: string, viewer: ViewerCredentials): Access {
    const p = this.protection(stream);
    if (p === false) return 'allow';
    const token = readCookie(parseCookies(viewer.cookies), accessCookie(stream), viewer.secure);
    if (accessTokenValid(this.key, token, stream)) return 'allow';
    return p === true ? 'deny' : 'unknown';
  }

  /**
   * True unless the stream is known to be protected and the cookie holds no valid token. For paths that carry
   * nothing of the stream itself (chat); media paths use access() and hold on 'unknown'.
   */
  allows(stream: string, viewer: ViewerCredentials): boolean {
    return this.access(stream, viewer) !== 'deny';
  }

  /** Resolves as soon as access is decided, or with 'unknown' after timeoutMs. */
  settle(stream: string, viewer: ViewerCredentials, timeoutMs: number): Promise<Access> {
    const now = this.access(stream, viewer);
    if (now !== 'unknown') return Promise.resolve(now);
    return new Promise((resolve) => {
      const finish = (a: Access) => {
        clearTimeout(timer);
        off();
        resolve(a);
      };
      const timer = setTimeout(() => finish('unknown'), timeoutMs);
      const off = this.onChange(() => {
        const a = this.access(stream, viewer);
        if (a !== 'unknown') finish(a);
      });
    });
  }

  /** Called when any stream's protection may have changed (directory, end of the grace period). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const l of [...this.listeners])
      callSafely(this.opts.logger, 'access-gate listener threw; ignored', {}, l);
  }

  close(): void {
    clearTimeout(this.graceTimer);
    this.listeners.clear();
  }
}
