/**
 * Password-protected streams at the edge: the manifest, segments, the media socket and chat are refused
 * unless the viewer holds a stream-access token (a cookie set when they proved the password to the hub).
 * The token is verified here with a key derived from the cluster secret: no round trip per request.
 */
import { parseCookies } from '../common/http/request.js';
import { deriveKey } from '../hub/auth/tokens.js';
import { accessCookie, accessTokenValid } from '../hub/sessions.js';

export class AccessGate {
  private readonly protectedStreams = new Set<string>();
  private readonly key: Buffer;

  constructor(
    clusterSecret: string,
    /** Protection carried by the stream itself (StreamInfo), for streams the hub's directory has not named yet. */
    private readonly streamSaysProtected: (stream: string) => boolean = () => false,
  ) {
    this.key = deriveKey(clusterSecret, 'stream-access');
  }

  /** From the hub's directory. */
  setProtected(streams: Iterable<string>): void {
    this.protectedStreams.clear();
    for (const s of streams) this.protectedStreams.add(s);
  }

  isProtected(stream: string): boolean {
    return this.protectedStreams.has(stream) || this.streamSaysProtected(stream);
  }

  /** True if the stream is open or the cookie header carries a valid token for it. */
  allows(stream: string, cookieHeader: string): boolean {
    if (!this.isProtected(stream)) return true;
    return accessTokenValid(this.key, parseCookies(cookieHeader)[accessCookie(stream)], stream);
  }
}
