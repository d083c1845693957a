/**
 * Prometheus metrics. Every metric is declared here, named tiercast_<subsystem>_<name>, with its label set;
 * every node carries the default labels node_id and node_role. Modules receive a Metrics object, never the registry.
 *
 * One registry per node, holding the families of its role and the common ones (process and Node.js defaults,
 * build info, protocol errors, discovery): a hub exports no relay or edge series. Every role gets the same
 * Metrics object, so shared modules need no role checks; a family outside the node's role is still counted
 * but not exported.
 */
import { createRequire } from 'node:module';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { uwsBuild } from '../http/uws-runtime.js';

export type MetricsRole = 'ingress' | 'intermediate' | 'edge' | 'hub';

/** How often the event-loop lag is sampled (ms). */
export const EVENT_LOOP_SAMPLE_MS = 100;
const FORWARD_BUCKETS = [0.00002, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01];
const HOP_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const LATENCY_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];
/** Roles that carry media, and those of them that pull it from a parent. */
const RELAYS: MetricsRole[] = ['ingress', 'intermediate', 'edge'];
const PULLING: MetricsRole[] = ['intermediate', 'edge'];

/** src/common/metrics and dist/common/metrics are both three levels below the package root. */
const VERSION = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;

export function createMetrics(nodeId: string, role: MetricsRole) {
  const registry = new Registry();
  registry.setDefaultLabels({ node_id: nodeId, node_role: role });
  // The event-loop lag histogram samples with a timer: at prom-client's default 10 ms that timer was the
  // most frequent wake-up of an ingress (100/s, more than its media I/O). Every 100 ms still measures
  // each delay to the nanosecond, with a tenth of the wake-ups. prom-client's names already start with
  // process_ or nodejs_, so the prefix is tiercast_ alone.
  collectDefaultMetrics({
    register: registry,
    prefix: 'tiercast_',
    eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS,
  });
  // prom-client's three sums named like counters but typed gauge (promtool check metrics flags them): each
  // is the sum over `type` of a family it also exports (tiercast_nodejs_active_handles{type}, …).
  for (const kind of ['handles', 'requests', 'resources'])
    registry.removeSingleMetric(`tiercast_nodejs_active_${kind}_total`);
  const common = [registry];
  const on = (...roles: MetricsRole[]) => (roles.includes(role) ? [registry] : []);
  new Gauge({
    name: 'tiercast_build_info',
    help: 'Always 1; the labels say what this node runs: tiercast version, Node.js version, uWebSockets.js build',
    labelNames: ['version', 'node_version', 'uws_build'],
    registers: common,
  }).set({ version: VERSION, node_version: process.version, uws_build: uwsBuild() }, 1);
  return {
    registry,
    viewers: new Gauge({
      name: 'tiercast_edge_viewers',
      help: 'Connected viewers per stream and transport',
      labelNames: ['stream', 'transport'],
      registers: on('edge'),
    }),
    subscribers: new Gauge({
      name: 'tiercast_relay_subscribers',
      help: 'Child relays subscribed per stream',
      labelNames: ['stream'],
      registers: on('ingress', 'intermediate'),
    }),
    upstreamSubscriptions: new Gauge({
      name: 'tiercast_relay_upstream_subscriptions',
      help: 'Streams this node pulls from its parent',
      registers: on(...PULLING),
    }),
    bytesIn: new Counter({
      name: 'tiercast_relay_bytes_in_total',
      help: 'Media bytes received (from publisher or parent)',
      labelNames: ['stream'],
      registers: on(...RELAYS),
    }),
    bytesOut: new Counter({
      name: 'tiercast_relay_bytes_out_total',
      help: 'Media bytes sent to children and viewers',
      labelNames: ['stream', 'transport'],
      registers: on(...RELAYS),
    }),
    chunksRelayed: new Counter({
      name: 'tiercast_relay_chunks_total',
      help: 'Chunks received and forwarded',
      labelNames: ['stream'],
      registers: on(...RELAYS),
    }),
    chunksDropped: new Counter({
      name: 'tiercast_relay_chunks_dropped_total',
      help: 'Chunks not delivered to a subscriber (slow consumer skip, duplicate, gap)',
      labelNames: ['stream', 'reason'],
      registers: on(...RELAYS),
    }),
    hopLatency: new Histogram({
      name: 'tiercast_relay_hop_latency_seconds',
      help: 'Time from the previous hop sending a chunk to this node receiving it',
      buckets: HOP_BUCKETS,
      registers: on(...PULLING),
    }),
    relayForward: new Histogram({
      name: 'tiercast_relay_forward_seconds',
      help: "Time in a relay's own code from a chunk's arrival callback to its last send to children and viewers",
      buckets: FORWARD_BUCKETS,
      registers: on(...PULLING),
    }),
    relayForwardCpu: new Histogram({
      name: 'tiercast_relay_forward_cpu_seconds',
      help: 'CPU time of the relay process while its code forwarded a chunk (tiercast_relay_forward_seconds without the time it waited for a core)',
      buckets: FORWARD_BUCKETS,
      registers: on(...PULLING),
    }),
    ingressLatency: new Histogram({
      name: 'tiercast_relay_ingress_latency_seconds',
      help: 'Time from ingress receiving a frame to this node receiving its chunk',
      buckets: LATENCY_BUCKETS,
      registers: on(...PULLING),
    }),
    upstreamReconnects: new Counter({
      name: 'tiercast_relay_upstream_reconnects_total',
      help: 'Reconnections to a parent',
      registers: on(...PULLING),
    }),
    upstreamConnected: new Gauge({
      name: 'tiercast_relay_upstream_connected',
      help: '1 while connected to a parent',
      registers: on(...PULLING),
    }),
    ffmpegRestarts: new Counter({
      name: 'tiercast_transcoder_restarts_total',
      help: 'Transcoder (ffmpeg) restarts after a crash',
      labelNames: ['stream'],
      registers: on('ingress'),
    }),
    ffmpegSpeed: new Gauge({
      name: 'tiercast_transcoder_speed_ratio',
      help: 'ffmpeg speed (1 = real time)',
      labelNames: ['stream'],
      registers: on('ingress'),
    }),
    recordingBytes: new Counter({
      name: 'tiercast_recording_written_bytes_total',
      help: 'Bytes of recordings written to storage (segments, init segments, timelines)',
      registers: on('ingress'),
    }),
    recordingFailures: new Counter({
      name: 'tiercast_recording_write_failures_total',
      help: 'Failed tries to write a recording object (each is tried again)',
      registers: on('ingress'),
    }),
    recordingRefused: new Counter({
      name: 'tiercast_recording_refused_objects_total',
      help: 'Recording objects not written because storage was too far behind (the queue was full)',
      registers: on('ingress'),
    }),
    recordingQueued: new Gauge({
      name: 'tiercast_recording_queued_bytes',
      help: 'Bytes of recordings waiting for storage',
      registers: on('ingress'),
    }),
    publishers: new Gauge({
      name: 'tiercast_ingress_publishers',
      help: 'Live publishers',
      registers: on('ingress'),
    }),
    publishRejected: new Counter({
      name: 'tiercast_ingress_publish_rejected_total',
      help: 'Refused publish attempts',
      labelNames: ['code'],
      registers: on('ingress'),
    }),
    protocolErrors: new Counter({
      name: 'tiercast_protocol_errors_total',
      help: 'Peers closed for protocol errors',
      labelNames: ['code'],
      registers: common,
    }),
    consulUp: new Gauge({
      name: 'tiercast_discovery_consul_up',
      help: '1 while the discovery backend (Consul) answers',
      registers: common,
    }),
    discoveryWatchErrors: new Counter({
      name: 'tiercast_discovery_watch_errors_total',
      help: 'Failed discovery watch queries',
      labelNames: ['role'],
      registers: common,
    }),
    discoveryNodes: new Gauge({
      name: 'tiercast_discovery_nodes',
      help: 'Healthy nodes known per role',
      labelNames: ['role'],
      registers: common,
    }),
    discoveryInvalid: new Counter({
      name: 'tiercast_discovery_invalid_registrations_total',
      help: 'Registrations ignored as malformed',
      labelNames: ['role'],
      registers: common,
    }),
    wsBytes: new Counter({
      name: 'tiercast_edge_ws_bytes_total',
      help: 'Every byte an edge writes to viewer media sockets (media, digests, signalling, control)',
      labelNames: ['stream'],
      registers: on('edge'),
    }),
    p2pMembers: new Gauge({
      name: 'tiercast_p2p_swarm_members',
      help: 'Viewers taking part in peer-assisted delivery, per stream',
      labelNames: ['stream'],
      registers: on('edge'),
    }),
    p2pSwarms: new Gauge({
      name: 'tiercast_p2p_swarms',
      help: 'Swarms (stream, video rendition, region) with at least one member',
      labelNames: ['stream'],
      registers: on('edge'),
    }),
    p2pBytes: new Counter({
      name: 'tiercast_p2p_bytes_total',
      help:
        'Media bytes to P2P members by who carried them: peer (announced by digest), edge (sent by the edge), ' +
        'refetch (announced, then fetched from the edge: a peer missed its deadline, or the player was short of media)',
      labelNames: ['stream', 'source'],
      registers: on('edge'),
    }),
    p2pRefetches: new Counter({
      name: 'tiercast_p2p_refetches_total',
      help:
        'Announced chunks a viewer fetched from the edge: a peer missed its deadline, or the player would have ' +
        'run out of media before it',
      labelNames: ['stream'],
      registers: on('edge'),
    }),
    p2pMisses: new Counter({
      name: 'tiercast_p2p_misses_total',
      help: 'Chunks a planned supplier had not delivered by the deadline, as reported by the receiving viewer',
      labelNames: ['stream'],
      registers: on('edge'),
    }),
    p2pBadChunks: new Counter({
      name: 'tiercast_p2p_bad_chunks_total',
      help: 'Chunks from a peer whose digest did not match, as reported by the receiving viewer',
      labelNames: ['stream'],
      registers: on('edge'),
    }),
    p2pRemoved: new Counter({
      name: 'tiercast_p2p_removed_total',
      help: 'Viewers taken out of P2P by the edge, by reason',
      labelNames: ['stream', 'reason'],
      registers: on('edge'),
    }),
    p2pRefused: new Counter({
      name: 'tiercast_p2p_refused_messages_total',
      help: 'Signalling or repair messages refused, by error code',
      labelNames: ['code'],
      registers: on('edge'),
    }),
    // Only edges with a hub export it (see edge main), so "0" always means "configured but unreachable".
    hubConnected: new Gauge({
      name: 'tiercast_edge_hub_connected',
      help: '1 while this edge is linked to the chat hub',
      registers: [],
    }),
    chatMessages: new Counter({
      name: 'tiercast_hub_chat_messages_total',
      help: 'Chat messages accepted and broadcast by the hub',
      registers: on('hub'),
    }),
    hubLeader: new Gauge({
      name: 'tiercast_hub_leader',
      help: '1 while this hub leads (a lone hub always does); 0 on a standby (ADR 0018)',
      registers: on('hub'),
    }),
    httpRequests: new Counter({
      name: 'tiercast_edge_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['route', 'status'],
      registers: on('edge'),
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
