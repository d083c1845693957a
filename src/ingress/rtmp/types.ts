/**
 * What RTMP ingest hands to the rest of tiercast. Re-exported by rtmp-server.ts, which is the module
 * other code imports.
 */

export interface FlvTag {
  type: 8 | 9 | 18;
  /** ms, RTMP timestamp (32-bit, extended) */
  timestamp: number;
  data: Buffer;
  /** Date.now() when the message was fully received */
  receivedAt: number;
}

export interface PublishRequest {
  app: string;
  /** the publish name = the stream key; NEVER log it */
  publishName: string;
  remoteAddress: string;
}

export interface PublishSink {
  onTag(tag: FlvTag): void;
  /** publisher stopped or disconnected; idempotent */
  close(reason: string): void;
}
