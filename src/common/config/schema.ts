/**
 * One strict schema per node role. Defaults live here; unknown keys are rejected with the key named.
 * Limits and retry policies are config data, documented in docs/configuration.md.
 */
import { z } from 'zod';
import { HUB_EVENT_TYPES, type HubEventType } from '../protocol/hub-events.js';
import { MAX_DRAWING_BYTES, MAX_MESSAGE_CHARS } from '../chat/limits.js';
import { discoverySchema, regionSchema } from '../discovery/config.js';

const nodeId = z.string().regex(/^[A-Za-z0-9_:-]{1,64}$/, 'letters, digits, "_", ":" or "-" (no dots)');
const streamName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" or "-", at most 64');
const port = z.number().int().min(0).max(65535);
const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export const listenSchema = z.strictObject({ host: z.string().min(1).default('0.0.0.0'), port });

export const clusterSecretSchema = z.string().min(16, 'the cluster secret must have at least 16 characters');

export const cacheSchema = z.strictObject({
  /** Segments kept per rendition: the window a resuming child or a new viewer can be served from. */
  segments: z.number().int().min(2).max(120).default(8),
});

export const upstreamSchema = z.strictObject({
  /** Parents tried in order; the first reachable one is used, the next on failure. */
  parents: z.array(z.url({ protocol: /^wss?$/ })).default([]),
  /** A PEM file of certificates (a private CA, or a parent's self-signed certificate) that `wss://` parents
   * may chain to, beside the system's trusted roots. */
  ca: z.string().min(1).optional(),
  heartbeatIntervalMs: z.number().int().min(50).default(250),
  /** A parent silent for this long is declared dead and the next one is tried. */
  heartbeatTimeoutMs: z.number().int().min(100).default(1000),
  backoffInitialMs: z.number().int().min(10).default(100),
  backoffMaxMs: z.number().int().min(100).default(5000),
  /** An upstream subscription is dropped this long after its last child leaves. */
  idleUnsubscribeMs: z.number().int().min(0).default(10_000),
  /** How long a child's subscribe waits for a stream to appear upstream before "not found". */
  subscribeTimeoutMs: z.number().int().min(100).default(5000),
  /** Largest frame accepted from a parent (an init segment or a chunk of the top rendition fits easily). */
  maxFrameBytes: z
    .number()
    .int()
    .min(1024)
    .default(16 * 1024 * 1024),
});

/** PEM files for a node that serves TLS itself. */
export const tlsSchema = z.strictObject({
  cert: z.string().min(1),
  key: z.string().min(1),
  passphrase: z.string().min(1).optional(),
});

export const clusterServerSchema = z.strictObject({
  maxFrameBytes: z
    .number()
    .int()
    .min(1024)
    .default(16 * 1024 * 1024),
  /** A relay child whose socket buffers more than this is disconnected; it reconnects and resumes. */
  maxBackpressureBytes: z
    .number()
    .int()
    .min(64 * 1024)
    .default(32 * 1024 * 1024),
  /** Child relays accepted; past it a new child is refused (503 PARENT_AT_CAPACITY) and tries another parent. */
  maxChildren: z.number().int().min(1).default(200),
  /** uWS closes a child socket silent this long (pings keep a healthy one alive); seconds, ≥ 8. */
  idleTimeoutS: z.number().int().min(8).max(960).default(16),
});

const base = {
  nodeId,
  clusterSecret: clusterSecretSchema,
  logLevel: logLevel.default('info'),
  /** How the node announces itself and finds parents: `static` (config lists) or `consul`. */
  discovery: discoverySchema.default(() => discoverySchema.parse({})),
  /**
   * Proxies in front of this node's HTTP and WebSocket endpoints (CIDR blocks or addresses): only from these
   * peers is the client's address read from `forwardedHeader` (and HTTPS from X-Forwarded-Proto / proto=).
   */
  trustProxy: z.array(z.string().min(1).max(64)).default([]),
  forwardedHeader: z.enum(['x-forwarded-for', 'forwarded']).default('x-forwarded-for'),
};

export const rungSchema = z.strictObject({
  id: streamName,
  height: z.number().int().min(90).max(4320),
  videoBitrateKbps: z.number().int().min(50).max(100_000),
});

/**
 * What the transcoder makes of a publish. `ladder`: the x264 ladder only. `passthrough`: the publisher's
 * H.264 remuxed as a "Source" rendition (listed first) plus the ladder, keyframed where the source is;
 * the segment duration becomes the source's keyframe interval. `off`: Source and audio only, no x264.
 * Sources that are not H.264 (HEVC, AV1, VP9) are always transcoded to the ladder.
 */
export const transcodeMode = z.enum(['ladder', 'passthrough', 'off']);

export const transcodeSchema = z
  .strictObject({
    ffmpegPath: z.string().default('ffmpeg'),
    mode: transcodeMode.default('ladder'),
    ladder: z
      .array(rungSchema)
      .min(1)
      .default([
        { id: 'v1080', height: 1080, videoBitrateKbps: 4500 },
        { id: 'v720', height: 720, videoBitrateKbps: 2500 },
        { id: 'v480', height: 480, videoBitrateKbps: 1200 },
        { id: 'v360', height: 360, videoBitrateKbps: 700 },
        { id: 'v240', height: 240, videoBitrateKbps: 400 },
      ]),
    audioBitrateKbps: z.number().int().min(16).max(512).default(128),
    segmentDurationMs: z.number().int().min(250).max(10_000).default(1000),
    chunkDurationMs: z.number().int().min(33).max(250).default(200),
    preset: z.enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium']).default('veryfast'),
    /**
     * Threads decoding the publisher's video. 1: every frame leaves the decoder as soon as it is decoded;
     * 0: ffmpeg's frame threading (more decoding throughput for 4K sources, a frame of delay per thread).
     */
    decodeThreads: z.number().int().min(0).max(16).default(1),
    maxRestarts: z.number().int().min(0).default(10),
    restartBackoffMs: z.number().int().min(0).default(500),
    /** Watchdog: an ffmpeg fed media that produces no chunk for this long is killed and restarted. */
    stallTimeoutMs: z.number().int().min(1000).default(5000),
    /** With Source on (mode passthrough/off): a source this long without a keyframe ends its publish (NO_KEYFRAMES). */
    noKeyframeTimeoutMs: z.number().int().min(1000).default(30_000),
  })
  .refine((t) => t.chunkDurationMs < t.segmentDurationMs, {
    message: 'chunkDurationMs must be shorter than segmentDurationMs',
    path: ['chunkDurationMs'],
  })
  .refine((t) => new Set(t.ladder.map((r) => r.id)).size === t.ladder.length, {
    message: 'ladder ids must be unique',
    path: ['ladder'],
  });

/** What the ingress records of a streamer: nothing, or which renditions (issue 15). */
export const streamerRecording = z.enum(['off', 'all', 'source', 'top-and-lowest']);

export const streamerSchema = z.strictObject({
  name: streamName,
  key: z.string().min(8, 'stream keys need at least 8 characters'),
  title: z.string().max(140).optional(),
  category: z.string().max(64).optional(),
  /** This streamer's transcode mode, over the ingress's `transcode.mode`. */
  transcode: transcodeMode.optional(),
  /** Over the ingress's `recording` (when it records at all): off, or which renditions. */
  recording: streamerRecording.optional(),
});

/** Where a node finds the hub (accounts, stream keys, chat, directory). Optional: without it the
 * embedded static streamer list and tree directory are used and chat is off. */
export const hubLinkSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  /** More hubs sharing one PostgreSQL store (`ha.enabled` on each): one leads, the others stand by. The node
   * talks to whichever leads, trying `url` then these in turn (a standby answers 503 HUB_NOT_LEADER). */
  standbys: z
    .array(z.url({ protocol: /^https?$/ }))
    .max(8)
    .default([]),
  /** Edge: chat messages queued per edge while the hub is unreachable (oldest dropped first, with a notice). */
  queueLimit: z.number().int().min(0).default(1000),
  reconnectBackoffMaxMs: z.number().int().min(100).default(5000),
  /** The link's WebSocket handshake, and each account call an edge forwards to the hub. */
  requestTimeoutMs: z.number().int().min(100).default(5000),
});

export const chatSchema = z.strictObject({
  // Ceilings from src/common/chat/limits.ts: what one link message and a join's history can carry.
  maxMessageChars: z.number().int().min(1).max(MAX_MESSAGE_CHARS).default(500),
  maxDrawingBytes: z.number().int().min(1024).max(MAX_DRAWING_BYTES).default(100_000),
  userRate: z
    .strictObject({ messages: z.number().int().min(1), perMs: z.number().int().min(100) })
    .default({ messages: 5, perMs: 5000 }),
  ipRate: z
    .strictObject({ messages: z.number().int().min(1), perMs: z.number().int().min(100) })
    .default({ messages: 20, perMs: 5000 }),
  historyOnJoin: z.number().int().min(0).max(500).default(50),
  historySize: z.number().int().min(0).max(10_000).default(200),
  wordFilter: z.array(z.string().min(1).max(64)).default([]),
  guestsAllowed: z.boolean().default(true),
});

/** The hub's PostgreSQL database (`store: postgres`). */
const hubPostgresSchema = z.strictObject({
  /** postgres://user:password@host:port/database[?sslmode=…]. Holds a password: never logged or echoed. */
  url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL'),
  /** Longest the hub waits for one statement (and for connecting); the hub's event loop waits with it (ADR 0016). */
  timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
});

/** Where recordings go: a local directory (the default) or S3-compatible object storage. */
export const recordingStorageSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('local'), dir: z.string().min(1).default('./recordings') }),
  z.strictObject({
    kind: z.literal('s3'),
    /** e.g. http://minio:9000 (path-style); unset for AWS itself. */
    endpoint: z.url({ protocol: /^https?$/ }).optional(),
    region: z.string().min(1).default('us-east-1'),
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name'),
    /** Keys go under this folder of the bucket. */
    prefix: z
      .string()
      .regex(/^([A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*)?$/)
      .default(''),
    accessKeyId: z.string().min(1),
    /** A secret: prefer the environment (TIERCAST_<ROLE>__…__SECRET_ACCESS_KEY); never logged or echoed. */
    secretAccessKey: z.string().min(1),
    requestTimeoutMs: z.number().int().min(100).default(10_000),
  }),
]);

/**
 * The hub's side of recordings (issue 15, ADR 0020): the storage the ingresses record to (for deleting a past
 * broadcast with its media, and retention), and how long recordings are kept. Unset storage: past broadcasts
 * are listed, but deleting one only removes it from the list.
 */
const clipsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Who may clip a live stream: any logged-in account, or only the channel's moderators (and its owner). */
  who: z.enum(['accounts', 'moderators']).default('accounts'),
  defaultSeconds: z.number().int().min(5).max(300).default(30),
  maxSeconds: z.number().int().min(5).max(300).default(60),
  /** Clips one account may make per minute. */
  perAccountPerMinute: z.number().int().min(1).default(3),
});

const hubRecordingsSchema = z.strictObject({
  storage: recordingStorageSchema.optional(),
  /** "Clip the last 30 s" of a live, recorded stream (needs `storage`). */
  clips: clipsSchema.default(() => clipsSchema.parse({})),
  /** A broadcast whose ingress never reported its end (a crash) is closed from its recording after this. */
  staleAfterMs: z.number().int().min(1000).default(30_000),
  retention: z
    .strictObject({
      /** Ended broadcasts older than this are deleted; 0: kept until deleted by hand. */
      days: z.number().min(0).default(0),
      /** A channel's recordings past this many bytes lose their oldest broadcasts; 0: no limit. */
      bytesPerChannel: z.number().int().min(0).default(0),
      /** How often retention runs. */
      checkEveryMs: z.number().int().min(1000).default(3600_000),
    })
    .default({ days: 0, bytesPerChannel: 0, checkEveryMs: 3600_000 }),
});

const hubFields = z.strictObject({
  ...base,
  http: listenSchema.default({ host: '0.0.0.0', port: 8070 }),
  /** Directory for the SQLite database (created if missing). */
  dataDir: z.string().min(1).default('./data'),
  /** Where accounts, streamers, chat history… live: SQLite in dataDir (embedded), or PostgreSQL (`postgres.url`). */
  store: z.enum(['sqlite', 'postgres']).default('sqlite'),
  postgres: hubPostgresSchema.optional(),
  chat: chatSchema.default(() => chatSchema.parse({})),
  recordings: hubRecordingsSchema.default(() => hubRecordingsSchema.parse({})),
  /** Lifetime of login sessions and of stream-access tokens (password-protected streams). */
  sessionTtlMs: z
    .number()
    .int()
    .min(60_000)
    .default(7 * 24 * 3600_000),
  accessTokenTtlMs: z.number().int().min(10_000).default(3600_000),
  /** Login attempts per client IP per minute (accounts, stream-key logins, viewing passwords). */
  loginRatePerMinute: z.number().int().min(1).default(10),
  /**
   * Webhooks (issue 16, ADR 0021). `publicUrl`: the site's address, for the channel links in deliveries
   * (default: this hub's own). `allowPrivateTargets`: let hooks post to loopback and private addresses (a test
   * receiver, an internal bot); off, a hook whose host resolves to one is refused at each attempt.
   */
  webhooks: z
    .strictObject({
      publicUrl: z.url().optional(),
      allowPrivateTargets: z.boolean().default(false),
      /**
       * The operator's own hooks: every channel's events. Kept in the store under id `op_NAME` and made to
       * match this list whenever this hub becomes leader (one changed here is replaced, its log with it).
       */
      hooks: z
        .array(
          z.strictObject({
            name: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/),
            url: z
              .url({ protocol: /^https?$/ })
              .max(2000)
              .refine((u) => !/^[a-z]+:\/\/[^/]*@/i.test(u), 'no user:password@ in a hook URL'),
            /** What the receiver checks the signature with: at least 16 characters. */
            secret: z.string().min(16).max(256),
            format: z.enum(['json', 'discord']).default('json'),
            /** Default: every event but chat messages. */
            events: z
              .array(z.enum(HUB_EVENT_TYPES as [HubEventType, ...HubEventType[]]))
              .min(1)
              .optional(),
          }),
        )
        .max(20)
        .refine((hs) => new Set(hs.map((h) => h.name)).size === hs.length, 'hook names must differ')
        .default([]),
    })
    .default({ allowPrivateTargets: false, hooks: [] }),
  /**
   * Web Push of go-live to followers' browsers (issue 16, ADR 0021). The VAPID key pair is made at the first
   * start and kept in the store (every hub on it signs with the same). `subject`: how a push service reaches
   * the operator (`mailto:` or `https:`; default mailto:tiercast@ this host's name). `allowPrivateEndpoints`:
   * accept push endpoints on loopback and private addresses, and over plain http (a push service on the LAN,
   * the tests); off, an endpoint must be https on a public address, checked again at each push.
   */
  push: z
    .strictObject({
      enabled: z.boolean().default(true),
      subject: z
        .string()
        .regex(/^(mailto:[^\s@]+@[^\s@]+|https:\/\/\S+)$/, 'a mailto: address or an https: URL')
        .optional(),
      allowPrivateEndpoints: z.boolean().default(false),
    })
    .default({ enabled: true, allowPrivateEndpoints: false }),
  /**
   * Restream outputs (issue 16, ADR 0021). `allowPrivateTargets`: let outputs push to loopback and private
   * addresses (an RTMP server on the LAN, the tests); off, an output whose host resolves to one is refused.
   * `secretsKey`: what the stored output keys are sealed under (default: derived from the cluster secret;
   * set one to rotate the cluster secret without re-entering every key).
   */
  restream: z
    .strictObject({
      allowPrivateTargets: z.boolean().default(false),
      secretsKey: z.string().min(16).optional(),
    })
    .default({ allowPrivateTargets: false }),
  /**
   * Analytics for streamers and operators (issue 16, ADR 0021): viewers by transport, edge and region, unique
   * viewers, watch time, chat and follows. The leader samples the edges' audience every `sampleEveryMs`; rows
   * older than `fullResolutionHours` are folded into 10-minute rows; everything goes after `retentionDays`.
   */
  analytics: z
    .strictObject({
      enabled: z.boolean().default(true),
      sampleEveryMs: z.number().int().min(1000).max(600_000).multipleOf(1000).default(60_000),
      fullResolutionHours: z
        .number()
        .int()
        .min(1)
        .max(24 * 30)
        .default(24),
      retentionDays: z.number().int().min(1).max(3650).default(90),
    })
    .default({ enabled: true, sampleEveryMs: 60_000, fullResolutionHours: 24, retentionDays: 90 }),
  /** A stream whose ingress stopped reporting it live (every 5 s) for this long is offline (a crashed ingress). */
  liveReportTimeoutMs: z.number().int().min(6000).default(30_000),
  /** The directory is pushed to every edge on each change and at least this often (viewer counts, thumbnails). */
  directoryPushIntervalMs: z.number().int().min(500).default(5000),
  /** uWS closes an edge link silent this long (pings keep a healthy one alive); seconds, ≥ 8. */
  edgeLinkIdleTimeoutS: z.number().int().min(8).max(960).default(32),
  /**
   * Several hubs on one PostgreSQL store: the one holding a Consul lock (a session on `ha.key`, with
   * discovery.consul's sessionTtlMs and lockDelayMs) leads: it alone takes edge links, chat and API calls;
   * the others answer 503 HUB_NOT_LEADER (with the leader's URL) until the lock is theirs (ADR 0018).
   */
  ha: z
    .strictObject({
      enabled: z.boolean().default(false),
      key: z
        .string()
        .regex(/^[A-Za-z0-9_./-]{1,128}$/)
        .default('tiercast/hub/leader'),
      /** How the other nodes reach this hub (told to them by standbys); default http://<http.host>:<port>. */
      advertiseUrl: z.url({ protocol: /^https?$/ }).optional(),
    })
    .default({ enabled: false, key: 'tiercast/hub/leader' }),
});

/** The hub's config: a PostgreSQL store needs its URL; several hubs need a shared store and Consul. */
export const hubSchema = hubFields
  .refine((c) => c.store !== 'postgres' || c.postgres !== undefined, {
    message: 'required when store is postgres (postgres.url: postgres://user:password@host:port/database)',
    path: ['postgres', 'url'],
  })
  .refine((c) => !c.ha.enabled || (c.store === 'postgres' && c.discovery.backend === 'consul'), {
    message:
      'several hubs share one store and elect a leader in Consul: needs store: postgres and discovery.backend: consul',
    path: ['ha', 'enabled'],
  });

const recordingSchema = z.strictObject({
  enabled: z.boolean().default(false),
  /** all; source (Source, else the top rung); top-and-lowest. Audio always. */
  renditions: z.enum(['all', 'source', 'top-and-lowest']).default('all'),
  storage: recordingStorageSchema.default({ kind: 'local', dir: './recordings' }),
  /** Bytes waiting for storage at most; past it a segment is not recorded (logged and counted). */
  maxQueuedBytes: z
    .number()
    .int()
    .min(1024 * 1024)
    .default(256 * 1024 * 1024),
  /** Writes in flight at once. */
  concurrency: z.number().int().min(1).max(64).default(4),
});

export const ingressSchema = z
  .strictObject({
    ...base,
    rtmp: listenSchema.default({ host: '0.0.0.0', port: 1935 }),
    rtmpMaxMessageBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .default(8 * 1024 * 1024),
    /** RTMP connections without an accepted publish (unauthenticated): caps and deadline. */
    rtmpPending: z
      .strictObject({
        maxConnections: z.number().int().min(1).default(64),
        maxPerAddress: z.number().int().min(1).default(8),
        timeoutMs: z.number().int().min(1000).default(10_000),
      })
      .default({ maxConnections: 64, maxPerAddress: 8, timeoutMs: 10_000 }),
    /** RTMPS (RTMP inside TLS, OBS's `rtmps://`), beside plain RTMP; the certificate reloads on SIGHUP. */
    rtmps: z
      .strictObject({
        host: z.string().min(1).default('0.0.0.0'),
        port: z.number().int().min(0).max(65535).default(1936),
        ...tlsSchema.shape,
      })
      .optional(),
    http: listenSchema.default({ host: '0.0.0.0', port: 8090 }),
    /** HTTPS and WSS on `http.port` (WHIP, /publish/ws, /cluster: children then use wss://); reloaded on SIGHUP. */
    tls: tlsSchema.optional(),
    streamers: z.array(streamerSchema).default([]),
    transcode: transcodeSchema.default(() => transcodeSchema.parse({})),
    cache: cacheSchema.default({ segments: 8 }),
    cluster: clusterServerSchema.default(() => clusterServerSchema.parse({})),
    hub: hubLinkSchema.optional(),
    /** How often a still of each live stream is sent to the hub for the directory. */
    thumbnailIntervalMs: z.number().int().min(1000).default(5000),
    /** Every live stream written to storage as it arrives (issue 15, ADR 0019). */
    recording: recordingSchema.default(() => recordingSchema.parse({})),
    /** WHIP ingest (POST /whip on the HTTP port): the UDP side of its peer connections. */
    whip: z
      .strictObject({
        /** Address the ICE UDP sockets bind to; unset: http.host (0.0.0.0: every interface). */
        iceHost: z.string().min(1).optional(),
        /** Addresses announced as host candidates instead (a public address in front of a NAT). */
        announcedAddresses: z.array(z.string().min(1)).default([]),
        /** UDP port range [min, max] for ICE; unset: any free port. */
        icePortRange: z
          .tuple([z.number().int().min(1024).max(65535), z.number().int().min(1024).max(65535)])
          .refine(([a, b]) => a <= b, { message: 'icePortRange: min must not exceed max' })
          .optional(),
      })
      .default({ announcedAddresses: [] }),
    /**
     * SRT ingest (`srt://HOST:PORT?streamid=KEY`): one UDP port, off unless enabled (`node-role all` turns
     * it on). Each accepted publish runs one ffmpeg (libsrt listener on loopback, MPEG-TS → FLV tags).
     */
    srt: z
      .strictObject({
        enabled: z.boolean().default(false),
        host: z.string().min(1).default('0.0.0.0'),
        port: z.number().int().min(0).max(65535).default(9000),
        /** Receiver latency (TSBPD) offered to callers; the larger of the caller's and this one applies. */
        latencyMs: z.number().int().min(20).max(8000).default(120),
        /** Conclusions whose key is being checked at once; more are refused (SRT reject 1402). */
        maxPending: z.number().int().min(1).default(16),
        /** A publisher that sends nothing this long is ended. */
        idleTimeoutMs: z.number().int().min(1000).default(10_000),
      })
      .default({
        enabled: false,
        host: '0.0.0.0',
        port: 9000,
        latencyMs: 120,
        maxPending: 16,
        idleTimeoutMs: 10_000,
      }),
  })
  .refine((c) => new Set(c.streamers.map((s) => s.name)).size === c.streamers.length, {
    message: 'streamer names must be unique',
    path: ['streamers'],
  });

export const intermediateSchema = z.strictObject({
  ...base,
  http: listenSchema.default({ host: '0.0.0.0', port: 8091 }),
  /** WSS on `http.port` for the children's /cluster sockets; reloaded on SIGHUP. */
  tls: tlsSchema.optional(),
  upstream: upstreamSchema.default(() => upstreamSchema.parse({})),
  cache: cacheSchema.default({ segments: 8 }),
  cluster: clusterServerSchema.default(() => clusterServerSchema.parse({})),
});

export const viewerSchema = z.strictObject({
  /** Per-viewer socket buffer ceiling; above it the viewer skips to the next keyframe. */
  maxBackpressureBytes: z
    .number()
    .int()
    .min(16 * 1024)
    .default(2 * 1024 * 1024),
  /** Above this the viewer is disconnected with a reason (it cannot keep up even after skipping). */
  closeBackpressureBytes: z
    .number()
    .int()
    .min(32 * 1024)
    .default(8 * 1024 * 1024),
  /** A viewer whose send buffer has not drained at all for this long is closed (4008): it reads nothing. */
  stallTimeoutMs: z.number().int().min(1000).default(10_000),
  /** Edge-wide cap on bytes held in viewers' send buffers; above it the most-buffered viewers are closed (4008). */
  totalBackpressureBytes: z
    .number()
    .int()
    .min(1024 * 1024)
    .default(512 * 1024 * 1024),
  /** How long a request for the next, not yet started, segment is held open. */
  segmentWaitMs: z.number().int().min(0).default(3000),
  /** dash.js target latency advertised in the MPD ServiceDescription. */
  targetLatencyMs: z.number().int().min(100).default(1000),
  /** How long a media socket for a stream not (yet) carried here waits for it before `{"type":"end"}`. */
  streamWaitMs: z.number().int().min(100).default(5000),
  /** uWS closes a media socket silent this long (automatic pings keep a live player's open); seconds, ≥ 8. */
  idleTimeoutS: z.number().int().min(8).max(960).default(32),
  /** The same for chat sockets, which can be quiet for longer. */
  chatIdleTimeoutS: z.number().int().min(8).max(960).default(60),
});

/** Which edge a viewer is sent to (src/edge/edge-selection.ts, docs/operations.md "Edge selection"). */
export const edgeSelectionSchema = z.strictObject({
  /** CIDR block → region; blocks must not overlap (checked at start-up, naming the entry). */
  regions: z.array(z.strictObject({ cidr: z.string().min(1).max(64), region: regionSchema })).default([]),
  /** A MaxMind-format (.mmdb) country database the operator provides, and country/continent → region. */
  geoip: z
    .strictObject({
      database: z.string().min(1),
      regions: z.record(z.string().regex(/^[A-Z]{2}$/, 'an ISO country or continent code'), regionSchema),
    })
    .optional(),
  /** Answer /watch, /embed and the manifests with a 302 to a better edge (another region, or this one full). */
  redirect: z.boolean().default(true),
  /** Other edges, for the static discovery backend (with Consul, edges find each other there). */
  peers: z.array(z.strictObject({ url: z.url({ protocol: /^https?$/ }), region: regionSchema })).default([]),
});

/** Peer-assisted delivery on the WebSocket path (src/edge/p2p/, docs/architecture.md "Peer-assisted delivery"). */
export const p2pSchema = z.strictObject({
  /** Every stream on this edge may use P2P (viewers still opt out on the page). Off by default: peers learn
   * each other's IP addresses. */
  enabled: z.boolean().default(false),
  /** Streams that use P2P even with `enabled` off. */
  streams: z.array(streamName).default([]),
  /** Viewers one viewer supplies at most (the seed's "push it to two more"). */
  fanout: z.number().int().min(1).max(8).default(2),
  /** A chunk a peer has not delivered this many frame times after the edge announced it is fetched from the
   * edge. */
  deadlineFrames: z.number().int().min(1).max(60).default(3),
  /** Signalling and repair messages a viewer may send per second (twice as many in a burst). */
  messagesPerSecond: z.number().int().min(10).max(10_000).default(200),
  /** STUN servers handed to the pages (none reachable by default: loopback and LANs need none). */
  stun: z.array(z.string().regex(/^stuns?:/, 'a stun: or stuns: URL')).default([]),
  /** A TURN server with coturn's `use-auth-secret`: each viewer gets a credential that expires after `ttlS`;
   * the secret itself never leaves the edge. */
  turn: z
    .strictObject({
      urls: z.array(z.string().regex(/^turns?:/, 'a turn: or turns: URL')).min(1),
      secret: z.string().min(16),
      ttlS: z.number().int().min(60).default(3600),
    })
    .optional(),
});

export const edgeSchema = z.strictObject({
  ...base,
  http: listenSchema.default({ host: '0.0.0.0', port: 8080 }),
  upstream: upstreamSchema.default(() => upstreamSchema.parse({})),
  cache: cacheSchema.default({ segments: 8 }),
  viewer: viewerSchema.default(() => viewerSchema.parse({})),
  /** Public base URL used in links, if the edge sits behind a proxy. */
  publicUrl: z.url().optional(),
  hub: hubLinkSchema.optional(),
  /** Viewers this edge takes; past it new viewers are sent to another edge or refused (EDGE_AT_CAPACITY).
   * Also the capacity it advertises in discovery. Unset: no limit, discovery.capacity advertised. */
  maxViewers: z.number().int().min(1).optional(),
  edgeSelection: edgeSelectionSchema.default(() => edgeSelectionSchema.parse({})),
  /** The /broadcast page: the ingress's browser ingest socket (ws(s)://…/publish/ws); unset: from discovery. */
  broadcast: z.strictObject({ ingestUrl: z.url({ protocol: /^wss?$/ }).optional() }).default({}),
  p2p: p2pSchema.default(() => p2pSchema.parse({})),
  /** Past broadcasts (`/videos/ID`) are read from the recording storage, through a small read-through cache. */
  recordings: z
    .strictObject({
      /** The storage the ingresses record to; unset: this edge plays no past broadcasts (404). */
      storage: recordingStorageSchema.optional(),
      cacheBytes: z
        .number()
        .int()
        .min(0)
        .default(64 * 1024 * 1024),
      /** A live broadcast's recording plays as a growing playlist over its last this-many seconds (rewind). */
      dvrWindowS: z.number().int().min(30).default(7200),
    })
    .default({ cacheBytes: 64 * 1024 * 1024, dvrWindowS: 7200 }),
  /** Where brotli/gzip copies of the page assets are kept (shared by the machine's edges); unset: the system's
   * temp dir. A read-only directory only means the copies are made again at each start. */
  staticCacheDir: z.string().min(1).optional(),
  /** HTTPS and WSS on `http.port` from these PEM files (reloaded on SIGHUP); unset: plain HTTP (a proxy in front). */
  tls: tlsSchema.optional(),
});

export type IngressConfig = z.infer<typeof ingressSchema>;
export type IntermediateConfig = z.infer<typeof intermediateSchema>;
export type EdgeConfig = z.infer<typeof edgeSchema>;
export type EdgeSelectionConfig = z.infer<typeof edgeSelectionSchema>;
export type UpstreamConfig = z.infer<typeof upstreamSchema>;
export type TranscodeConfig = z.infer<typeof transcodeSchema>;
export type TranscodeMode = z.infer<typeof transcodeMode>;
export type StreamerRecording = z.infer<typeof streamerRecording>;
export type StreamerConfig = z.infer<typeof streamerSchema>;
export type ViewerConfig = z.infer<typeof viewerSchema>;
export type P2pConfig = z.infer<typeof p2pSchema>;
export type ClusterServerConfig = z.infer<typeof clusterServerSchema>;
export type HubConfig = z.infer<typeof hubSchema>;
export type AnalyticsConfig = HubConfig['analytics'];
export type HubLinkConfig = z.infer<typeof hubLinkSchema>;
export type ChatConfig = z.infer<typeof chatSchema>;
export type Role = 'ingress' | 'intermediate' | 'edge' | 'hub';
