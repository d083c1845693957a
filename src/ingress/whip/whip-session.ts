/**
 * One WHIP publish: a werift peer connection answering the publisher's offer (ICE, DTLS and SRTP are
 * werift's), its H.264 and Opus RTP turned into FLV tags for the publish's LiveStream. werift sends the
 * NACKs for lost video packets (nack negotiated); this file asks for a keyframe (PLI) at the start, after
 * a loss the reorder buffer gave up on, and every second while no decodable picture has come. The
 * transport-wide congestion feedback that lets a browser sender raise its bitrate is ours (twcc-feedback.ts).
 *
 * A peer connection that fails, or stays disconnected for DISCONNECT_GRACE_MS, or never connects within
 * CONNECT_TIMEOUT_MS, or whose RTP stops for MEDIA_TIMEOUT_MS (werift sees a vanished peer only after
 * ~30 s of failed consent checks), ends the publish like an RTMP disconnect: the name can be published again at once.
 */
import {
  RTCPeerConnection,
  RTCRtpCodecParameters,
  useNACK,
  usePLI,
  useSdesMid,
  useTransportWideCC,
  useTWCC,
  type MediaStreamTrack,
  type RTCRtpTransceiver,
  type RtpPacket,
} from 'werift';
import type { Logger } from '../../common/logging/index.js';
import type { PublishSink } from '../rtmp/rtmp-server.js';
import { H264Depacketizer, type DepacketizeResult } from './h264-rtp.js';
import { WhipTagWriter } from './rtp-to-flv.js';
import type { OfferSummary } from './sdp-offer.js';
import { installTwccRecorder } from './twcc-feedback.js';

const CONNECT_TIMEOUT_MS = 15_000;
const DISCONNECT_GRACE_MS = 5_000;
/** A publisher that sends no RTP this long is gone (a closed page or a killed encoder says nothing). */
const MEDIA_TIMEOUT_MS = 5_000;
const GATHER_TIMEOUT_MS = 5_000;
const KEYFRAME_RETRY_MS = 1_000;
const TICK_MS = 50;

export interface WhipIce {
  /** Address the UDP sockets bind to; undefined: every interface. */
  bindHost: string | undefined;
  /** Addresses announced as host candidates (NAT 1:1); empty: the bound ones. */
  announced: string[];
  portRange: [number, number] | undefined;
}

function isLoopback(host: string): boolean {
  return host.startsWith('127.') || host === '::1' || host === 'localhost';
}

/** Keeps only the answer's candidates on the announced addresses (werift also lists other interfaces). */
function keepCandidates(sdp: string, allowed: Set<string> | undefined): string {
  if (!allowed) return sdp;
  return sdp
    .split('\r\n')
    .filter((line) => {
      if (!line.startsWith('a=candidate:')) return true;
      const host = line.split(' ')[4];
      return host !== undefined && allowed.has(host);
    })
    .join('\r\n');
}

export class WhipSession {
  private readonly pc: RTCPeerConnection;
  private readonly writer: WhipTagWriter;
  private readonly depacketizer = new H264Depacketizer();
  /** The addresses our candidates may have (undefined: any). */
  private readonly allowed: Set<string> | undefined;
  private video: { track: MediaStreamTrack; transceiver: RTCRtpTransceiver } | undefined;
  private tick: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private disconnectTimer: NodeJS.Timeout | undefined;
  private lastPli = 0;
  private lastRtpAt: number | undefined;
  private readonly seen = new Set<'video' | 'audio'>();
  private closed = false;
  private readonly stopTwcc: (() => void)[] = [];
  /** Date.now() of the first tag handed to the LiveStream. */
  firstTagAt: number | undefined;

  constructor(
    readonly id: string,
    private readonly offer: OfferSummary,
    ice: WhipIce,
    private readonly deps: {
      sink: PublishSink;
      logger: Logger;
      /** Called once when the session ends, whatever the reason. */
      onEnded(reason: string): void;
    },
  ) {
    this.writer = new WhipTagWriter(offer.opus ? { channels: offer.opus.channels } : undefined);
    const allowed = ice.announced.length ? ice.announced : ice.bindHost ? [ice.bindHost] : [];
    const allowedSet = allowed.length ? new Set(allowed) : undefined;
    const loopbackOnly = ice.bindHost !== undefined && isLoopback(ice.bindHost);
    this.pc = new RTCPeerConnection({
      iceServers: [],
      iceUseIpv4: true,
      iceUseIpv6: false,
      iceInterfaceAddresses: ice.bindHost ? { udp4: ice.bindHost } : undefined,
      iceAdditionalHostAddresses: allowed.length ? allowed : undefined,
      icePortRange: ice.portRange,
      iceFilterCandidatePair: (pair) =>
        (!allowedSet || allowedSet.has(pair.localCandidate.host)) &&
        (!loopbackOnly || isLoopback(pair.remoteCandidate.host)),
      bundlePolicy: 'max-bundle',
      codecs: {
        video: [
          new RTCRtpCodecParameters({
            mimeType: 'video/H264',
            clockRate: 90000,
            payloadType: offer.h264.payloadType,
            rtcpFeedback: [useNACK(), usePLI(), useTWCC()],
            parameters: offer.h264.parameters,
          }),
        ],
        audio: [
          new RTCRtpCodecParameters({
            mimeType: 'audio/opus',
            clockRate: 48000,
            channels: 2,
            payloadType: offer.opus?.payloadType ?? 111,
          }),
        ],
      },
      headerExtensions: { video: [useSdesMid(), useTransportWideCC()], audio: [useSdesMid()] },
    });
    this.pc.onTrack.subscribe((track) => this.onTrack(track));
    this.pc.connectionStateChange.subscribe((state) => this.onState(state));
    this.connectTimer = setTimeout(
      () => this.end('the peer connection did not connect within 15 s'),
      CONNECT_TIMEOUT_MS,
    );
    this.tick = setInterval(() => this.onTick(), TICK_MS);
    this.allowed = allowedSet;
  }

  /** Applies the offer and returns the complete answer (non-trickle: every candidate in it). */
  async answer(offerSdp: string): Promise<string> {
    await this.pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
    // One correct transport-wide feedback for the bundle, so a browser sender's estimate can rise
    // (twcc-feedback.ts).
    this.stopTwcc.push(installTwccRecorder(this.pc.getTransceivers().map((t) => t.receiver)));
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    if (this.pc.iceGatheringState !== 'complete') {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, GATHER_TIMEOUT_MS);
        this.pc.iceGatheringStateChange.subscribe((s) => {
          if (s === 'complete') {
            clearTimeout(t);
            resolve();
          }
        });
      });
    }
    const sdp = this.pc.localDescription?.sdp;
    if (!sdp) throw new Error('no local description');
    return keepCandidates(sdp, this.allowed);
  }

  private onTrack(track: MediaStreamTrack): void {
    const transceiver = this.pc.getTransceivers().find((t) => t.receiver.tracks.includes(track));
    if (track.kind === 'video') {
      if (this.video || !transceiver) return; // one video track is published; others are ignored
      this.video = { track, transceiver };
      track.onReceiveRtp.subscribe((rtp) => this.onVideo(rtp));
      this.requestKeyframe(Date.now());
    } else if (track.kind === 'audio') {
      track.onReceiveRtp.subscribe((rtp) => this.onAudio(rtp));
    }
  }

  private onVideo(rtp: RtpPacket): void {
    if (this.closed) return;
    const now = Date.now();
    this.lastRtpAt = now;
    this.handle(
      this.depacketizer.push(
        {
          sequenceNumber: rtp.header.sequenceNumber,
          timestamp: rtp.header.timestamp,
          marker: rtp.header.marker,
          payload: rtp.payload,
        },
        now,
      ),
      now,
    );
  }

  private handle(r: DepacketizeResult, now: number): void {
    for (const au of r.units) {
      const tags = this.writer.video(au, now);
      if (tags.length === 0 && !this.writer.started) this.requestKeyframe(now);
      this.emit(tags);
    }
    if (r.lost) {
      this.deps.logger.debug({ session: this.id }, 'video packets lost: asking for a keyframe');
      this.requestKeyframe(now);
    }
  }

  private onAudio(rtp: RtpPacket): void {
    if (this.closed) return;
    this.lastRtpAt = Date.now();
    this.emit(this.writer.opus(rtp.header.timestamp, rtp.payload, Date.now()));
  }

  private emit(tags: ReturnType<WhipTagWriter['video']>): void {
    for (const tag of tags) {
      if (this.closed) return;
      this.firstTagAt ??= tag.receivedAt;
      if (tag.type === 9 && tag.data[1] === 0 && this.seen.has('video'))
        this.deps.logger.info({ session: this.id, timestamp: tag.timestamp }, 'WHIP video SPS/PPS changed');
      const track = tag.type === 9 ? 'video' : 'audio';
      if (tag.type !== 18 && !this.seen.has(track)) {
        this.seen.add(track);
        this.deps.logger.info({ session: this.id, track, timestamp: tag.timestamp }, 'WHIP first media tag');
      }
      this.deps.sink.onTag(tag);
    }
  }

  private onTick(): void {
    if (this.closed) return;
    const now = Date.now();
    if (this.lastRtpAt !== undefined && now - this.lastRtpAt > MEDIA_TIMEOUT_MS) {
      this.end('no media from the publisher for 5 s');
      return;
    }
    if (!this.video) return;
    this.handle(this.depacketizer.tick(now), now);
    if (this.depacketizer.waitingForKeyframe || !this.writer.started) this.requestKeyframe(now);
  }

  private requestKeyframe(now: number): void {
    if (!this.video?.track.ssrc || now - this.lastPli < KEYFRAME_RETRY_MS) return;
    this.lastPli = now;
    this.video.transceiver.receiver.sendRtcpPLI(this.video.track.ssrc).catch(() => undefined);
  }

  private onState(state: string): void {
    if (state === 'connected') {
      // From here media must flow: the silence timeout counts from the connection if no RTP came yet.
      this.lastRtpAt ??= Date.now();
      clearTimeout(this.connectTimer);
      clearTimeout(this.disconnectTimer);
      this.disconnectTimer = undefined;
    } else if (state === 'failed' || state === 'closed') {
      this.end(`peer connection ${state}`);
    } else if (state === 'disconnected' && !this.disconnectTimer) {
      this.disconnectTimer = setTimeout(() => this.end('peer connection disconnected'), DISCONNECT_GRACE_MS);
    }
  }

  /** Ends the publish (DELETE, a failed connection, the LiveStream's refusal, ingress shutdown). */
  end(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.tick);
    clearTimeout(this.connectTimer);
    clearTimeout(this.disconnectTimer);
    for (const stop of this.stopTwcc) stop();
    this.deps.sink.close(reason);
    this.pc.close().catch(() => undefined);
    this.deps.onEnded(reason);
  }
}
