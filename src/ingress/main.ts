/**
 * Ingress node: RTMP publishers (and local capture inputs) → one LiveStream each (ffmpeg ABR ladder) →
 * the stream's relay → child relays over /cluster. Also publishes the directory of live streams downward.
 * Closing order: stop RTMP → close live streams (ffmpeg) → close children → stop relay.
 */
import type { IngressConfig } from '../common/config/index.js';
import { TiercastError, type ErrorCode } from '../common/errors/index.js';
import { createLogger, type Logger } from '../common/logging/index.js';
import { createMetrics, type Metrics } from '../common/metrics/index.js';
import { addMetricsRoute, createApp, listen, send } from '../common/http/uws-server.js';
import { ClusterServer } from '../common/relay/cluster-server.js';
import { RelayNode } from '../common/relay/relay-node.js';
import type { DirectoryEntry } from '../common/protocol/index.js';
import { publishCaptureInput } from './capture-input.js';
import { LiveStream } from './live-stream.js';
import {
  RtmpServer,
  type PublishControl,
  type PublishRequest,
  type PublishSink,
} from './rtmp/rtmp-server.js';
import {
  StaticStreamerRegistry,
  type StreamerAuthorizer,
  type StreamerProfile,
} from './streamer-registry.js';
import { createPublishFlow } from './publish-flow.js';
import { addBrowserIngest } from './browser-ingest/ingest-socket.js';
import { addWhip } from './whip/whip-http.js';
import { ProxyTrust } from '../common/http/client.js';
import { SrtServer } from './srt/srt-server.js';
import { ChainedAuthorizer, HubClient } from './hub-client.js';
import { Thumbnailer } from './thumbnailer.js';
import { setupDiscovery } from '../common/discovery/node-discovery.js';
import { startRecording, type RecordedStream } from './recording.js';
import { startOutputs } from './restream/restream.js';

export interface IngressNode {
  readonly port: number;
  readonly rtmpPort: number;
  /** The RTMPS port, when `rtmps` is configured. */
  readonly rtmpsPort: number | undefined;
  /** The SRT ingest port, when `srt.enabled`. */
  readonly srtPort: number | undefined;
  readonly url: string;
  readonly relay: RelayNode;
  readonly metrics: Metrics;
  /** Live streams by public name (tests use it to find the transcoder's pid). */
  readonly live: ReadonlyMap<string, LiveStream>;
  publishInput(o: { input: string; format?: string; name: string }): Promise<{ close(): Promise<void> }>;
  close(): Promise<void>;
}

export async function startIngress(
  config: IngressConfig,
  parentLogger?: Logger,
  authorizer?: StreamerAuthorizer,
): Promise<IngressNode> {
  const logger = createLogger('ingress', { node_id: config.nodeId, role: 'ingress' }, parentLogger);
  const metrics = createMetrics(config.nodeId, 'ingress');
  const relay = new RelayNode({
    cacheSegments: config.cache.segments,
    idleUnsubscribeMs: 10_000,
    logger: logger.child({ module: 'relay' }),
    metrics,
  });
  const hub = config.hub
    ? new HubClient({
        url: config.hub.url,
        standbys: config.hub.standbys,
        nodeId: config.nodeId,
        clusterSecret: config.clusterSecret,
        logger: logger.child({ module: 'hub-client' }),
      })
    : undefined;
  // Storage is checked before anything listens: a wrong directory or credential stops the ingress here.
  const recording = await startRecording(config.recording, logger.child({ module: 'recording' }), metrics);
  const staticList = new StaticStreamerRegistry(config.streamers);
  // The static list keeps working beside the hub (the embedded default and quick setups).
  const streamers =
    authorizer ??
    (hub ? new ChainedAuthorizer(config.streamers.length ? [staticList, hub] : [hub]) : staticList);
  const live = new Map<string, LiveStream>();
  const nd = setupDiscovery({
    config: config.discovery,
    role: 'ingress',
    nodeId: config.nodeId,
    logger,
    metrics,
  });
  // Hubs registered in discovery join the configured ones (a new hub of the group is found by itself).
  if (hub) nd.discovery.onChange('hub', (nodes) => hub.hubs.learn(nodes.map((n) => n.wsUrl)));
  // A claim lost during a Consul outage (another ingress took the name): this copy of the stream must stop.
  nd.discovery.onClaimLost((stream) => {
    logger.error(
      { stream, code: 'STREAM_ALREADY_LIVE' },
      'stream claim lost to another ingress; stopping the local publish',
    );
    void live.get(stream)?.close('claim lost to another ingress');
  });
  const meta = new Map<string, { title?: string; category?: string; startedAt: number }>();
  const recordedStreams = new Map<string, RecordedStream>();

  // Only streams that produce media are listed: a publish still starting (or that never will) is not.
  const publishDirectory = () => {
    const entries: DirectoryEntry[] = [...live]
      .filter(([, s]) => s.isLive)
      .map(([name]) => {
        const m = meta.get(name);
        return { name, live: true, title: m?.title, category: m?.category, startedAt: m?.startedAt };
      });
    relay.setDirectory(entries);
  };

  const beginStream = (
    name: string,
    extra: Omit<StreamerProfile, 'name'>,
    onFailed?: (code: ErrorCode, description: string) => void,
  ): LiveStream => {
    if (live.has(name))
      throw new TiercastError('STREAM_ALREADY_LIVE', 'stream is already live', { stream: name });
    const local = relay.local(name);
    const recorded = recording?.record(
      name,
      local,
      {
        started: (b) => hub?.reportBroadcastStarted(b),
        ended: (b) => hub?.reportBroadcastEnded(b),
      },
      extra.recording,
    );
    if (recorded) recordedStreams.set(name, recorded);
    const outputs = extra.outputs?.length
      ? startOutputs({
          stream: name,
          relay: local,
          specs: extra.outputs,
          logger: logger.child({ module: 'restream', stream: name }),
          ffmpegPath: config.transcode.ffmpegPath,
          report: (states) => hub?.reportOutputs(name, states),
        })
      : undefined;
    const stream = new LiveStream({
      name,
      protected: extra.protected,
      relay: local,
      transcode: config.transcode,
      transcodeMode: extra.transcode ?? config.transcode.mode,
      logger: logger.child({ module: 'live-stream', stream: name }),
      metrics,
      onLive: () => {
        hub?.reportLive(name, true);
        publishDirectory();
      },
      onFailed,
      onClosed: (reason) => {
        if (live.get(name) === stream) live.delete(name);
        nd.discovery
          .releaseStream(name)
          .catch((err: unknown) =>
            logger.warn({ stream: name, err: (err as Error).message }, 'stream claim not released'),
          );
        meta.delete(name);
        recorded?.detach();
        outputs?.stop();
        if (recordedStreams.get(name) === recorded) recordedStreams.delete(name);
        relay.unpin(name);
        hub?.reportLive(name, false);
        metrics.publishers.set(live.size);
        logger.info({ stream: name, reason }, 'stream ended');
        publishDirectory();
      },
    });
    live.set(name, stream);
    meta.set(name, { ...extra, startedAt: Date.now() });
    metrics.publishers.set(live.size);
    return stream;
  };

  const publishFlow = createPublishFlow({
    streamers,
    discovery: nd.discovery,
    live,
    beginStream,
    metrics,
    logger,
  });
  const onPublish = async (req: PublishRequest, control: PublishControl): Promise<PublishSink> => {
    const { sink } = await publishFlow({
      key: req.publishName,
      remoteAddress: req.remoteAddress,
      onFailed: (code, description) => control.fail(code, description),
    });
    return sink;
  };

  const rtmp = await RtmpServer.create({
    host: config.rtmp.host,
    port: config.rtmp.port,
    maxMessageBytes: config.rtmpMaxMessageBytes,
    pending: config.rtmpPending,
    onPublish,
    logger: logger.child({ module: 'rtmp' }),
  });

  let rtmps: RtmpServer | undefined;
  let srt: SrtServer | undefined;
  try {
    const r = config.rtmps;
    rtmps = r
      ? await RtmpServer.create({
          host: r.host,
          port: r.port,
          tls: { cert: r.cert, key: r.key, passphrase: r.passphrase },
          maxMessageBytes: config.rtmpMaxMessageBytes,
          pending: config.rtmpPending,
          onPublish,
          logger: logger.child({ module: 'rtmps' }),
        })
      : undefined;
    srt = config.srt.enabled
      ? await SrtServer.create({
          ...config.srt,
          ffmpegPath: config.transcode.ffmpegPath,
          publish: publishFlow,
          logger: logger.child({ module: 'srt' }),
          metrics,
        })
      : undefined;
  } catch (err) {
    await rtmp.close();
    await rtmps?.close();
    throw err;
  }

  const app = createApp({ tls: config.tls, logger: logger.child({ module: 'tls' }) });
  addMetricsRoute(app, metrics.registry, logger);
  app.get('/healthz', (res) => send(res, '200 OK', 'ok', { 'content-type': 'text/plain' }));
  const clients = new ProxyTrust({ trustProxy: config.trustProxy, forwardedHeader: config.forwardedHeader });
  const browserIngest = addBrowserIngest(app, {
    publish: publishFlow,
    isLive: (name) => live.get(name)?.isLive === true,
    clients,
    logger: logger.child({ module: 'browser-ingest' }),
    metrics,
  });
  const iceHost = config.whip.iceHost ?? config.http.host;
  const whip = addWhip(app, {
    publish: publishFlow,
    ice: {
      bindHost: iceHost === '0.0.0.0' ? undefined : iceHost,
      announced: config.whip.announcedAddresses,
      portRange: config.whip.icePortRange,
    },
    clients,
    logger: logger.child({ module: 'whip' }),
    metrics,
  });
  const cluster = new ClusterServer(app, {
    nodeId: config.nodeId,
    clusterSecret: config.clusterSecret,
    config: config.cluster,
    heartbeatIntervalMs: 250,
    relay,
    logger: logger.child({ module: 'cluster' }),
    metrics,
  });
  let listening;
  try {
    listening = await listen(app, config.http.host, config.http.port);
  } catch (err) {
    await rtmp.close();
    await rtmps?.close();
    await srt?.close();
    throw err;
  }
  await nd.register(config.http.host, listening.port, config.tls ? 'wss' : 'ws', () => live.size);
  const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host;
  logger.info(
    {
      rtmpPort: rtmp.port,
      rtmpsPort: rtmps?.port,
      srtPort: srt?.port,
      port: listening.port,
      streamers: config.streamers.map((s) => s.name),
    },
    'ingress listening',
  );

  // Stills go to the hub's directory and, when recording, into the broadcast as its thumbnail.
  const thumbnailer =
    hub || recording
      ? new Thumbnailer({
          intervalMs: config.thumbnailIntervalMs,
          ffmpegPath: config.transcode.ffmpegPath,
          streams: () => [...live.keys()].flatMap((n) => relay.get(n) ?? []),
          deliver: async (stream, jpeg) => {
            recordedStreams.get(stream)?.thumbnail(jpeg);
            await hub?.putThumbnail(stream, jpeg);
          },
          logger: logger.child({ module: 'thumbnailer' }),
        })
      : undefined;
  const inputs = new Set<{ close(): Promise<void> }>();
  let closing: Promise<void> | undefined;
  const l = listening;
  return {
    port: l.port,
    rtmpPort: rtmp.port,
    rtmpsPort: rtmps?.port,
    srtPort: srt?.port,
    url: `${config.tls ? 'wss' : 'ws'}://${host}:${l.port}`,
    relay,
    metrics,
    live,
    publishInput: async (o) => {
      const input = await publishCaptureInput(
        o,
        beginStream,
        config.transcode.ffmpegPath,
        logger.child({ module: 'capture', stream: o.name }),
      );
      inputs.add(input);
      return input;
    },
    close: () =>
      (closing ??= (async () => {
        await rtmp.close();
        await rtmps?.close();
        await srt?.close();
        browserIngest.close();
        whip.close();
        thumbnailer?.close();
        for (const i of inputs) await i.close();
        await Promise.all([...live.values()].map((s) => s.close('ingress shutting down')));
        await recording?.close();
        l.close();
        cluster.close();
        await relay.close();
        await nd.close();
        hub?.close();
        logger.info('ingress stopped');
      })()),
  };
}
