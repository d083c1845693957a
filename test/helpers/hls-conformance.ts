/**
 * A checker for the playlist rules of RFC 8216bis that players rely on, used on playlists built in unit tests
 * and on playlists fetched from a live edge. Returns the violations in words (empty when conformant).
 */
export interface ParsedMediaPlaylist {
  targetDuration: number;
  partTarget: number;
  mediaSequence: number;
  discontinuitySequence: number;
  segments: Array<{
    number: number;
    uri: string;
    duration: number;
    discontinuity: boolean;
    parts: Array<{ uri: string; duration: number }>;
  }>;
  /** Parts after the last complete segment (the segment in progress). */
  trailingParts: Array<{ uri: string; duration: number }>;
  preloadHint: string | undefined;
  serverControl: Record<string, string>;
  hasProgramDateTime: boolean;
}

function attrs(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of s.matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g)) out[m[1]!] = m[2]!.replace(/^"|"$/g, '');
  return out;
}

export function parseMediaPlaylist(text: string): ParsedMediaPlaylist {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const tag = (name: string) => lines.find((l) => l.startsWith(`#${name}:`))?.slice(name.length + 2);
  const p: ParsedMediaPlaylist = {
    targetDuration: Number(tag('EXT-X-TARGETDURATION')),
    partTarget: Number(attrs(tag('EXT-X-PART-INF') ?? '')['PART-TARGET']),
    mediaSequence: Number(tag('EXT-X-MEDIA-SEQUENCE')),
    discontinuitySequence: Number(tag('EXT-X-DISCONTINUITY-SEQUENCE') ?? 0),
    segments: [],
    trailingParts: [],
    preloadHint: attrs(tag('EXT-X-PRELOAD-HINT') ?? '').URI,
    serverControl: attrs(tag('EXT-X-SERVER-CONTROL') ?? ''),
    hasProgramDateTime: lines.some((l) => l.startsWith('#EXT-X-PROGRAM-DATE-TIME:')),
  };
  let parts: Array<{ uri: string; duration: number }> = [];
  let discontinuity = false;
  let duration = NaN;
  let number = p.mediaSequence;
  for (const l of lines) {
    if (l === '#EXT-X-DISCONTINUITY') discontinuity = true;
    else if (l.startsWith('#EXT-X-PART:')) {
      const a = attrs(l.slice('#EXT-X-PART:'.length));
      parts.push({ uri: a.URI!, duration: Number(a.DURATION) });
    } else if (l.startsWith('#EXTINF:')) duration = Number(l.slice('#EXTINF:'.length).split(',')[0]);
    else if (!l.startsWith('#')) {
      p.segments.push({ number: number++, uri: l, duration, discontinuity, parts });
      parts = [];
      discontinuity = false;
    }
  }
  p.trailingParts = parts;
  return p;
}

export function violations(p: ParsedMediaPlaylist): string[] {
  const out: string[] = [];
  if (!Number.isInteger(p.targetDuration) || p.targetDuration < 1)
    out.push(`bad EXT-X-TARGETDURATION ${p.targetDuration}`);
  if (!(p.partTarget > 0)) out.push('missing PART-TARGET');
  if (p.serverControl['CAN-BLOCK-RELOAD'] !== 'YES') out.push('CAN-BLOCK-RELOAD is not YES');
  const holdBack = Number(p.serverControl['PART-HOLD-BACK']);
  if (!(holdBack >= 2 * p.partTarget))
    out.push(`PART-HOLD-BACK ${holdBack} < 2 × PART-TARGET ${p.partTarget}`);
  if (!p.hasProgramDateTime) out.push('no EXT-X-PROGRAM-DATE-TIME');
  if (!p.preloadHint) out.push('no EXT-X-PRELOAD-HINT');
  for (const s of p.segments) {
    if (Math.round(s.duration) > p.targetDuration)
      out.push(`segment ${s.uri} (${s.duration}s) rounds above the target duration ${p.targetDuration}`);
    if (s.uri !== `${s.number}.m4s`) out.push(`segment ${s.uri} listed at media sequence ${s.number}`);
    if (s.parts.length) {
      const sum = s.parts.reduce((a, x) => a + x.duration, 0);
      if (Math.abs(sum - s.duration) > 0.002 * s.parts.length)
        out.push(`parts of ${s.uri} add up to ${sum}, EXTINF says ${s.duration}`);
    }
  }
  const allParts = [
    ...p.segments.flatMap((s) => s.parts.map((x) => ({ ...x, seg: s.number }))),
    ...p.trailingParts.map((x) => ({ ...x, seg: -1 })),
  ];
  for (const part of allParts) {
    if (part.duration > p.partTarget + 1e-6)
      out.push(`part ${part.uri} (${part.duration}s) is longer than PART-TARGET ${p.partTarget}`);
  }
  // Part numbering: N.0, N.1, … within each segment, no gap.
  for (const s of p.segments)
    s.parts.forEach(
      (x, k) => x.uri !== `${s.number}.${k}.m4s` && out.push(`part ${x.uri} out of order in ${s.number}`),
    );
  const open = p.segments.length ? p.segments.at(-1)!.number + 1 : p.mediaSequence;
  p.trailingParts.forEach(
    (x, k) => x.uri !== `${open}.${k}.m4s` && out.push(`trailing part ${x.uri} should be ${open}.${k}.m4s`),
  );
  const expectedHint = `${open}.${p.trailingParts.length}.m4s`;
  if (p.preloadHint && p.preloadHint !== expectedHint)
    out.push(`preload hint ${p.preloadHint}, expected ${expectedHint}`);
  return out;
}
