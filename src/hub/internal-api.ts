/**
 * Cluster-internal API of the hub, called by ingress nodes (cluster-authenticated): stream-key checks,
 * live/offline reports and thumbnails. Edges use the WebSocket link and the /edge-api routes instead.
 */
import { z } from 'zod';
import type { Logger } from '../common/logging/index.js';
import { AUTH_HEADER, verifyClusterToken, type ClusterPurpose } from '../common/protocol/index.js';
import { ApiError, addJsonRoute, type ApiRequest } from '../common/http/json-routes.js';
import type { App } from '../common/http/uws-server.js';
import { isBroadcastId } from '../common/recording/stream-recorder.js';
import { broadcastView, type Broadcasts } from './broadcasts.js';
import type { Directory } from './directory.js';
import type { Store } from './store/types.js';
import { outputsForIngress, type OutputsControl } from './restream/outputs-api.js';
import { MAX_STREAM_KEY_CHARS, MAX_THUMBNAIL_BYTES } from '../common/protocol/node-api-limits.js';

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The caller holds a cluster token for `purpose` (docs/security.md: which purpose each route demands). */
export function requireCluster(secret: string, req: ApiRequest, purpose: ClusterPurpose): string {
  const check = verifyClusterToken(secret, req.headers[AUTH_HEADER], purpose);
  if (!check.ok) throw new ApiError('CLUSTER_AUTH_FAILED', `cluster authentication failed: ${check.reason}`);
  return check.nodeId;
}

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new ApiError(
      'INVALID_VALUE',
      first ? `${first.path.join('.') || 'body'}: ${first.message}` : 'invalid body',
    );
  }
  return r.data;
}

export function streamParam(req: ApiRequest, i = 0): string {
  const name = req.params[i] ?? '';
  if (!NAME.test(name)) throw new ApiError('NOT_FOUND', 'no such stream');
  return name;
}

/** A broadcast id in a path (`:id`), or NOT_FOUND: nothing else reaches the store or the storage. */
export function broadcastParam(req: ApiRequest, i = 0): string {
  const id = req.params[i] ?? '';
  if (!isBroadcastId(id)) throw new ApiError('NOT_FOUND', 'no such broadcast');
  return id;
}

export function addInternalRoutes(
  app: App,
  deps: {
    clusterSecret: string;
    store: Store;
    directory: Directory;
    broadcasts: Broadcasts;
    logger: Logger;
    changed: () => void;
    /** Restream outputs (issue 16): handed over with an accepted key; their states reported back. */
    outputs?: OutputsControl;
  },
): void {
  const { clusterSecret, store, directory, logger, changed } = deps;
  const opts = { logger };

  addJsonRoute(
    app,
    'post',
    '/internal/publish/authorize',
    (req) => {
      const node = requireCluster(clusterSecret, req, 'node-api');
      const { key } = parseBody(
        z.strictObject({ key: z.string().min(1).max(MAX_STREAM_KEY_CHARS) }),
        req.body,
      );
      const s = store.streamers.verifyKey(key);
      if (!s) {
        logger.warn({ ingress: node, code: 'BAD_STREAM_KEY' }, 'publish key refused');
        throw new ApiError('BAD_STREAM_KEY', 'invalid stream key');
      }
      const body = { name: s.name, title: s.title, category: s.category, protected: s.hasPassword };
      return {
        body: {
          ...body,
          ...(s.transcode ? { transcode: s.transcode } : {}),
          ...(s.recording ? { recording: s.recording } : {}),
          ...(deps.outputs ? { outputs: outputsForIngress(store, deps.outputs, s.name, logger) } : {}),
        },
      };
    },
    opts,
  );

  addJsonRoute(
    app,
    'post',
    '/internal/streams/:name/live',
    (req) => {
      const node = requireCluster(clusterSecret, req, 'node-api');
      const name = streamParam(req);
      const { live } = parseBody(z.strictObject({ live: z.boolean() }), req.body);
      if (live) {
        directory.setLive(name, node, Date.now());
        if (store.streamers.get(name)) store.streamers.markLive(name, Date.now());
      } else {
        directory.setOffline(name);
      }
      logger.info({ stream: name, ingress: node, live }, 'stream state reported');
      changed();
      return { status: 204 };
    },
    opts,
  );

  // The state of a stream's restream outputs (issue 16), as its ingress last saw them: for the dashboard.
  addJsonRoute(
    app,
    'post',
    '/internal/streams/:name/outputs',
    (req) => {
      requireCluster(clusterSecret, req, 'node-api');
      const name = streamParam(req);
      const { seq, outputs } = parseBody(
        z.strictObject({
          seq: z.number().int().min(0),
          outputs: z
            .array(
              z.strictObject({
                id: z.string().max(40),
                state: z.enum(['connecting', 'live', 'failed', 'stopped']),
                reason: z.string().max(300).optional(),
              }),
            )
            .max(20),
        }),
        req.body,
      );
      deps.outputs?.states.set(name, seq, outputs);
      return { status: 204 };
    },
    opts,
  );

  // A recorded broadcast's start and end, from the ingress recording it (issue 15).
  addJsonRoute(
    app,
    'post',
    '/internal/broadcasts',
    (req) => {
      requireCluster(clusterSecret, req, 'node-api');
      const b = parseBody(
        z.strictObject({
          id: z.string().refine(isBroadcastId, 'not a broadcast id'),
          stream: z.string().regex(NAME),
          startedAt: z.number().int().min(0),
        }),
        req.body,
      );
      return { status: 201, body: { broadcast: broadcastView(deps.broadcasts.started(b)) } };
    },
    opts,
  );
  addJsonRoute(
    app,
    'put',
    '/internal/broadcasts/:id/end',
    (req) => {
      requireCluster(clusterSecret, req, 'node-api');
      const id = broadcastParam(req);
      const e = parseBody(
        z.strictObject({
          endedAt: z.number().int().min(0),
          durationMs: z.number().min(0),
          bytes: z.number().int().min(0),
        }),
        req.body,
      );
      return { body: { broadcast: broadcastView(deps.broadcasts.ended(id, e)) } };
    },
    opts,
  );

  addJsonRoute(
    app,
    'put',
    '/internal/streams/:name/thumbnail',
    (req) => {
      requireCluster(clusterSecret, req, 'node-api');
      const name = streamParam(req);
      const data = req.rawBody;
      if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8)
        throw new ApiError('INVALID_VALUE', 'thumbnail must be a JPEG');
      directory.setThumbnail(name, data);
      changed();
      return { status: 204 };
    },
    { logger, maxBodyBytes: MAX_THUMBNAIL_BYTES },
  );
}
