/**
 * What a WHIP offer must hold before a peer connection is made for it: an SDP session with at most
 * MAX_TRACKS media sections, at least one video section offering H.264 with packetization-mode 1, and
 * ICE credentials and a DTLS fingerprint. Picks the H.264 format to answer with (42e01f, then 640c1f,
 * then any other profile, as offered) and Opus's channel count. Pure; refusals are TiercastErrors whose
 * message is the reason the publisher sees.
 */
import { TiercastError } from '../../common/errors/index.js';

export const MAX_TRACKS = 4;
const PREFERRED_PROFILES = ['42e01f', '640c1f'];

export interface H264Format {
  payloadType: number;
  /** The fmtp line's parameters as offered ("level-asymmetry-allowed=1;packetization-mode=1;…"). */
  parameters: string;
  profileLevelId: string | undefined;
}

export interface OfferSummary {
  h264: H264Format;
  /** Opus offered in an audio section: its payload type and channel count (2 with stereo=1, else 1). */
  opus: { payloadType: number; channels: number } | undefined;
  tracks: number;
}

interface Section {
  kind: string;
  payloadTypes: number[];
  rtpmap: Map<number, string>;
  fmtp: Map<number, string>;
}

function bad(message: string): TiercastError {
  return new TiercastError('WHIP_BAD_OFFER', message);
}

export function checkOffer(sdp: string): OfferSummary {
  const lines = sdp.split(/\r?\n/).filter((l) => l.length > 0);
  if (lines[0] !== 'v=0') throw bad('the body is not an SDP offer (it must begin with "v=0")');
  const sections: Section[] = [];
  let sessionIce = false;
  let sessionFingerprint = false;
  let allIce = true;
  let allFingerprint = true;
  let cur: (Section & { ice: boolean; fingerprint: boolean }) | undefined;
  const close = () => {
    if (!cur) return;
    allIce &&= cur.ice || sessionIce;
    allFingerprint &&= cur.fingerprint || sessionFingerprint;
  };
  for (const line of lines) {
    if (!/^[a-z]=/.test(line)) throw bad(`malformed SDP line "${line.slice(0, 40)}"`);
    if (line.startsWith('m=')) {
      close();
      const parts = line.slice(2).split(' ');
      if (parts.length < 4) throw bad(`malformed media line "${line.slice(0, 60)}"`);
      cur = {
        kind: parts[0]!,
        payloadTypes: parts.slice(3).map(Number),
        rtpmap: new Map(),
        fmtp: new Map(),
        ice: false,
        fingerprint: false,
      };
      sections.push(cur);
      continue;
    }
    const ice = line.startsWith('a=ice-ufrag:');
    const fingerprint = line.startsWith('a=fingerprint:');
    if (!cur) {
      sessionIce ||= ice;
      sessionFingerprint ||= fingerprint;
      continue;
    }
    cur.ice ||= ice;
    cur.fingerprint ||= fingerprint;
    const m = /^a=(rtpmap|fmtp):(\d+) (.*)$/.exec(line);
    if (m) (m[1] === 'rtpmap' ? cur.rtpmap : cur.fmtp).set(Number(m[2]), m[3]!);
  }
  close();
  if (sections.length === 0) throw bad('the offer has no media sections');
  if (sections.length > MAX_TRACKS)
    throw bad(`the offer has ${sections.length} media sections; at most ${MAX_TRACKS} are accepted`);
  if (!allIce) throw bad('the offer has no ICE credentials (a=ice-ufrag)');
  if (!allFingerprint) throw bad('the offer has no DTLS fingerprint (a=fingerprint)');

  const h264: H264Format[] = [];
  const videoCodecs = new Set<string>();
  let opus: OfferSummary['opus'];
  for (const s of sections) {
    for (const pt of s.payloadTypes) {
      const [name, clock, channels] = (s.rtpmap.get(pt) ?? '').split('/');
      const codec = (name ?? '').toLowerCase();
      const params = s.fmtp.get(pt) ?? '';
      const p = Object.fromEntries(
        params.split(';').map((kv) => kv.trim().split('=') as [string, string | undefined]),
      );
      if (s.kind === 'video') {
        if (codec && !['rtx', 'red', 'ulpfec', 'flexfec-03'].includes(codec)) videoCodecs.add(name!);
        if (codec === 'h264' && clock === '90000' && p['packetization-mode'] === '1')
          h264.push({
            payloadType: pt,
            parameters: params,
            profileLevelId: p['profile-level-id']?.toLowerCase(),
          });
      } else if (s.kind === 'audio' && codec === 'opus' && clock === '48000' && !opus) {
        opus = { payloadType: pt, channels: p.stereo === '1' && channels === '2' ? 2 : 1 };
      }
    }
  }
  if (h264.length === 0) {
    const offered = [...videoCodecs].join(', ') || 'no video';
    throw new TiercastError(
      'UNSUPPORTED_CODEC',
      `the offer has no H.264 video with packetization-mode 1 (offered: ${offered}); send H.264`,
    );
  }
  const rank = (f: H264Format) => {
    const i = PREFERRED_PROFILES.indexOf(f.profileLevelId ?? '');
    return i === -1 ? PREFERRED_PROFILES.length : i;
  };
  const chosen = [...h264].sort((a, b) => rank(a) - rank(b))[0]!;
  return { h264: chosen, opus, tracks: sections.length };
}
