/**
 * The ingress's calls to the hub (cluster-authenticated HTTP): stream-key checks, live/offline reports and
 * thumbnails. Live state is re-reported periodically, so a restarted hub learns it again within seconds.
 */
import { z } from 'zod';
import { streamerRecording, transcodeMode } from '../common/config/index.js';
import { TiercastError } from '../common/errors/index.js';
import type { Logger } from '../common/logging/index.js';
import { HubHosts } from '../common/http/hub-hosts.js';
import { AUTH_HEADER, createClusterToken } from '../common/protocol/index.js';
import { isWellFormedStreamKey } from '../common/protocol/node-api-limits.js';
import type { BroadcastEnded, BroadcastStarted } from '../common/recording/stream-recorder.js';
import type { StreamerAuthorizer, StreamerProfile } from './streamer-registry.js';

const TIMEOUT_MS = 3000;

const outputSchema = z.object({
  id: z.string().regex(/^out_[A-Za-z0-9_-]{12}$/),
  url: z.string().regex(/^rtmps?:\/\//),
  key: z.string().min(1).max(512),
  rendition: z.string().min(1).max(32),
  allowPrivate: z.boolean().optional(),
});

/** The hub's answer to an accepted key; fields this ingress does not know are ignored. */
const profileSchema = z.object({
  name: z.string().min(1),
  title: z.string().optional(),
  category: z.string().optional(),
  protected: z.boolean().optional(),
  transcode: transcodeMode.optional(),
  recording: streamerRecording.optional(),
  /**
   * The channel's restream outputs, keys decrypted (issue 16); only this answer ever carries them. Read one by
   * one: an output this ingress cannot read is skipped, never a reason to refuse the publish.
   */
  outputs: z
    .array(z.unknown())
    .optional()
    .transform((list) =>
      (list ?? [])
        .flatMap((o) => {
          const r = outputSchema.safeParse(o);
          return r.success ? [r.data] : [];
        })
        .slice(0, 10),
    ),
});

/** A broadcast report waiting for the hub: sent again every few seconds until the hub answers it. */
interface PendingReport {
  path: string;
  body: unknown;
  method: string;
  what: string;
}

export class HubClient implements StreamerAuthorizer {
  private readonly live = new Set<string>();
  private readonly reports: PendingReport[] = [];
  private sending = false;
  private readonly timer: NodeJS.Timeout;
  private outputSeq = 0;

  /** Which hub leads; discovery adds the hubs it knows (`learn`). */
  readonly hubs: HubHosts;

  constructor(
    private readonly opts: {
      url: string;
      /** More hubs of one group (ADR 0018): the calls go to whichever leads. */
      standbys?: readonly string[];
      nodeId: string;
      clusterSecret: string;
      logger: Logger;
    },
  ) {
    this.hubs = new HubHosts(opts.url, opts.standbys);
    this.timer = setInterval(() => {
      for (const s of this.live)
        void this.post(`/internal/streams/${s}/live`, { live: true }).catch(() => undefined);
      void this.sendReports();
    }, 5_000);
    this.timer.unref();
  }

  private async post(path: string, body: unknown, method = 'POST'): Promise<Response> {
    const isJson = !(body instanceof Buffer);
    return this.hubs.fetch(
      path,
      {
        method,
        headers: {
          [AUTH_HEADER]: createClusterToken(this.opts.clusterSecret, this.opts.nodeId, 'node-api'),
          'content-type': isJson ? 'application/json' : 'image/jpeg',
        },
        body: isJson ? JSON.stringify(body) : new Uint8Array(body),
      },
      TIMEOUT_MS,
    );
  }

  async authorize(key: string): Promise<StreamerProfile> {
    // A key the hub would refuse for its shape is an invalid key, not a hub outage: refuse it here.
    if (!isWellFormedStreamKey(key)) throw new TiercastError('BAD_STREAM_KEY', 'invalid stream key');
    let r: Response;
    try {
      r = await this.post('/internal/publish/authorize', { key });
    } catch (err) {
      this.opts.logger.error(
        { code: 'HUB_UNAVAILABLE', err: (err as Error).message },
        'cannot check a stream key: hub unreachable',
      );
      throw new TiercastError('HUB_UNAVAILABLE', 'stream keys cannot be checked right now');
    }
    // 400: the hub found the key malformed (its rules may be stricter than ours): still an invalid key.
    if (r.status === 403 || r.status === 400) throw new TiercastError('BAD_STREAM_KEY', 'invalid stream key');
    if (!r.ok) throw new TiercastError('HUB_UNAVAILABLE', `hub answered ${r.status}`);
    const profile = profileSchema.safeParse(await r.json().catch(() => undefined));
    if (!profile.success) {
      this.opts.logger.error(
        { code: 'HUB_UNAVAILABLE', err: profile.error.issues[0]?.message },
        'the hub accepted a key with an answer this ingress cannot read',
      );
      throw new TiercastError('HUB_UNAVAILABLE', 'stream keys cannot be checked right now');
    }
    return profile.data;
  }

  reportLive(stream: string, live: boolean): void {
    if (live) this.live.add(stream);
    else this.live.delete(stream);
    this.post(`/internal/streams/${stream}/live`, { live }).then(
      (r) => {
        if (!r.ok) this.opts.logger.warn({ stream, status: r.status }, 'hub refused a live report');
      },
      (err: unknown) =>
        this.opts.logger.warn(
          { stream, code: 'HUB_UNAVAILABLE', err: (err as Error).message },
          'live report not delivered; will retry',
        ),
    );
  }

  /** The state of a stream's restream outputs (issue 16), for the dashboard; the latest replaces the last. */
  reportOutputs(
    stream: string,
    outputs: ReadonlyArray<{ id: string; state: string; reason?: string }>,
  ): void {
    // Ordered by this sequence at the hub (posts may arrive out of order); it grows across restarts too.
    const seq = (this.outputSeq = Math.max(this.outputSeq + 1, Date.now() * 1000));
    this.post(`/internal/streams/${stream}/outputs`, { seq, outputs }).then(
      (r) => {
        if (!r.ok) this.opts.logger.warn({ stream, status: r.status }, 'hub refused an output report');
      },
      (err: unknown) =>
        this.opts.logger.warn(
          { stream, code: 'HUB_UNAVAILABLE', err: (err as Error).message },
          'output report not delivered',
        ),
    );
  }

  /**
   * A recorded broadcast's start and end (issue 15): the hub lists it on the channel. Kept and sent again,
   * in order, until the hub answers (a hub that is away or changing leader learns them when it is back).
   */
  reportBroadcastStarted(b: BroadcastStarted): void {
    this.queueReport({ path: '/internal/broadcasts', body: b, method: 'POST', what: 'broadcast start' });
  }

  reportBroadcastEnded(b: BroadcastEnded): void {
    this.queueReport({
      path: `/internal/broadcasts/${b.id}/end`,
      body: { endedAt: b.endedAt, durationMs: b.durationMs, bytes: b.bytes },
      method: 'PUT',
      what: 'broadcast end',
    });
  }

  private queueReport(r: PendingReport): void {
    // Bounded: a hub gone for days must not grow this without end (the recordings are in storage anyway).
    if (this.reports.length >= 1000) this.reports.shift();
    this.reports.push(r);
    void this.sendReports();
  }

  /** Sends the waiting reports in order; stops at the first the hub could not take now. */
  private async sendReports(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.reports.length) {
        const r = this.reports[0]!;
        let res: Response;
        try {
          res = await this.post(r.path, r.body, r.method);
        } catch (err) {
          this.opts.logger.warn(
            { code: 'HUB_UNAVAILABLE', what: r.what, err: (err as Error).message },
            'recording report not delivered; will retry',
          );
          return;
        }
        if (res.status >= 500) return;
        if (!res.ok)
          this.opts.logger.warn({ what: r.what, status: res.status }, 'hub refused a recording report');
        this.reports.shift();
      }
    } finally {
      this.sending = false;
    }
  }

  async putThumbnail(stream: string, jpeg: Buffer): Promise<void> {
    const r = await this.post(`/internal/streams/${stream}/thumbnail`, jpeg, 'PUT');
    if (!r.ok) throw new TiercastError('THUMBNAIL_FAILED', `hub answered ${r.status}`, { stream });
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/** Tries each authorizer in turn: the static list of the config first, then the hub. */
export class ChainedAuthorizer implements StreamerAuthorizer {
  constructor(private readonly chain: StreamerAuthorizer[]) {}

  async authorize(key: string): Promise<StreamerProfile> {
    let last: unknown = new TiercastError('BAD_STREAM_KEY', 'invalid stream key');
    for (const a of this.chain) {
      try {
        return await a.authorize(key);
      } catch (err) {
        last = err;
        if (err instanceof TiercastError && err.code !== 'BAD_STREAM_KEY') break;
      }
    }
    throw last;
  }
}
