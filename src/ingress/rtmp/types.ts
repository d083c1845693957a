/**
 * What RTMP ingest hands to the rest of tiercast. Re-exported by rtmp-server.ts, which is the module
 * other code imports.
 */
import type { ErrorCode } from '../../common/errors/index.js';
import type { FlvTag } from '../flv/flv-tag.js';

export type { FlvTag };

export interface PublishRequest {
  app: string;
  /** the publish name = the stream key; NEVER log it */
  publishName: string;
  remoteAddress: string;
}

/** Given to onPublish with the request: lets the consumer end an accepted publish with a reason. */
export interface PublishControl {
  /**
   * Ends the publish: the publisher gets onStatus NetStream.Publish.Failed with `description` (shown to
   * the streamer: never a key, never ffmpeg's internals), the sink is closed and the connection too.
   */
  fail(code: ErrorCode, description: string): void;
}

export interface PublishSink {
  onTag(tag: FlvTag): void;
  /** publisher stopped or disconnected; idempotent */
  close(reason: string): void;
}
