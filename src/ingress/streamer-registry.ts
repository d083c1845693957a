/**
 * Who may publish: stream key → public stream name. Keys are compared as SHA-256 digests in constant time
 * and never kept in logs or errors. The hub replaces this static list in a later issue (same interface).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { StreamerConfig, StreamerRecording, TranscodeMode } from '../common/config/index.js';
import { TiercastError } from '../common/errors/index.js';
import type { OutputSpec } from './restream/restream-output.js';

export interface StreamerAuthorizer {
  /** The streamer's public name for a key, or a BAD_STREAM_KEY error. */
  authorize(key: string): Promise<StreamerProfile>;
}

/** What an accepted key says about its streamer. */
export interface StreamerProfile {
  name: string;
  title?: string;
  category?: string;
  protected?: boolean;
  /** Overrides the ingress's `transcode.mode` for this streamer. */
  transcode?: TranscodeMode;
  /** Over the ingress's `recording`: off, or which renditions. */
  recording?: StreamerRecording;
  /** Where the stream is also pushed (issue 16): from the hub, keys decrypted. */
  outputs?: OutputSpec[];
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export class StaticStreamerRegistry implements StreamerAuthorizer {
  private readonly entries: Array<{ hash: Buffer; profile: StreamerProfile }>;

  constructor(streamers: StreamerConfig[]) {
    this.entries = streamers.map((s) => ({
      hash: digest(s.key),
      profile: {
        name: s.name,
        title: s.title,
        category: s.category,
        transcode: s.transcode,
        recording: s.recording,
      },
    }));
  }

  authorize(key: string): Promise<StreamerProfile> {
    const h = digest(key);
    let found: (typeof this.entries)[number] | undefined;
    // Compare against every entry so timing says nothing about which (or whether one) matched.
    for (const e of this.entries) if (timingSafeEqual(e.hash, h)) found = e;
    if (!found) return Promise.reject(new TiercastError('BAD_STREAM_KEY', 'invalid stream key'));
    return Promise.resolve({ ...found.profile });
  }
}
