/**
 * Reads the samples of a (non-fragmented) MP4 that ffmpeg wrote, so tests can publish real HEVC, AV1, VP9,
 * H.264 and Opus as FLV tags (legacy or Enhanced RTMP) without ffmpeg being able to send them itself.
 */
export interface Mp4Track {
  handler: 'vide' | 'soun';
  /** The sample entry type: avc1, hev1/hvc1, av01, vp09, Opus, mp4a. */
  format: string;
  /** The codec configuration box's body (avcC, hvcC, av1C, vpcC after its version/flags, dOps, or esds). */
  config: Buffer;
  timescale: number;
  width?: number;
  height?: number;
  samples: { dts: number; cts: number; key: boolean; data: Buffer }[];
}

function* boxes(buf: Buffer, start = 0, end = buf.length): Generator<{ type: string; body: Buffer }> {
  let pos = start;
  while (pos + 8 <= end) {
    let size = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    let head = 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(pos + 8));
      head = 16;
    } else if (size === 0) size = end - pos;
    yield { type, body: buf.subarray(pos + head, pos + size) };
    pos += size;
  }
}

function child(buf: Buffer, type: string): Buffer | undefined {
  for (const b of boxes(buf)) if (b.type === type) return b.body;
  return undefined;
}

function path(buf: Buffer, ...types: string[]): Buffer | undefined {
  let cur: Buffer | undefined = buf;
  for (const t of types) cur = cur && child(cur, t);
  return cur;
}

function table(body: Buffer | undefined, entrySize: number, headerSize = 8): Buffer[] {
  if (!body) return [];
  const n = body.readUInt32BE(headerSize - 4);
  return Array.from({ length: n }, (_, i) =>
    body.subarray(headerSize + i * entrySize, headerSize + (i + 1) * entrySize),
  );
}

function readTrack(file: Buffer, trak: Buffer): Mp4Track {
  const mdia = child(trak, 'mdia')!;
  const timescale = child(mdia, 'mdhd')!.readUInt32BE(12);
  const handler = child(mdia, 'hdlr')!.toString('latin1', 8, 12) as 'vide' | 'soun';
  const stbl = path(mdia, 'minf', 'stbl')!;
  const stsd = child(stbl, 'stsd')!;
  const [entry] = [...boxes(stsd, 8)];
  const fieldsSize = handler === 'vide' ? 78 : 28;
  const track: Mp4Track = { handler, format: entry!.type, config: Buffer.alloc(0), timescale, samples: [] };
  if (handler === 'vide') {
    track.width = entry!.body.readUInt16BE(24);
    track.height = entry!.body.readUInt16BE(26);
  }
  for (const b of boxes(entry!.body, fieldsSize)) {
    if (['avcC', 'hvcC', 'av1C', 'dOps', 'esds'].includes(b.type)) track.config = b.body;
    if (b.type === 'vpcC') track.config = b.body.subarray(4);
  }
  const sizes = (() => {
    const stsz = child(stbl, 'stsz')!;
    const fixed = stsz.readUInt32BE(4);
    const n = stsz.readUInt32BE(8);
    return Array.from({ length: n }, (_, i) => (fixed !== 0 ? fixed : stsz.readUInt32BE(12 + 4 * i)));
  })();
  const co64 = child(stbl, 'co64');
  const offsets = co64
    ? table(co64, 8).map((e) => Number(e.readBigUInt64BE(0)))
    : table(child(stbl, 'stco'), 4).map((e) => e.readUInt32BE(0));
  const stsc = table(child(stbl, 'stsc'), 12).map((e) => ({
    first: e.readUInt32BE(0),
    per: e.readUInt32BE(4),
  }));
  const deltas = table(child(stbl, 'stts'), 8).flatMap((e) =>
    Array<number>(e.readUInt32BE(0)).fill(e.readUInt32BE(4)),
  );
  const cttsBox = child(stbl, 'ctts');
  const ctts = table(cttsBox, 8).flatMap((e) =>
    Array<number>(e.readUInt32BE(0)).fill(cttsBox![0] === 1 ? e.readInt32BE(4) : e.readUInt32BE(4)),
  );
  const stss = child(stbl, 'stss')
    ? new Set(table(child(stbl, 'stss'), 4).map((e) => e.readUInt32BE(0)))
    : undefined;
  let sample = 0;
  let dts = 0;
  for (let c = 0; c < offsets.length; c++) {
    const run = [...stsc].reverse().find((r) => r.first <= c + 1)!;
    let at = offsets[c]!;
    for (let k = 0; k < run.per && sample < sizes.length; k++) {
      const size = sizes[sample]!;
      track.samples.push({
        dts,
        cts: ctts[sample] ?? 0,
        key: stss ? stss.has(sample + 1) : true,
        data: file.subarray(at, at + size),
      });
      at += size;
      dts += deltas[sample] ?? 0;
      sample++;
    }
  }
  return track;
}

export function readMp4(file: Buffer): Mp4Track[] {
  const moov = child(file, 'moov');
  if (!moov) throw new Error('no moov box');
  return [...boxes(moov)].filter((b) => b.type === 'trak').map((b) => readTrack(file, b.body));
}

/** The AudioSpecificConfig inside an MP4 esds box body (its DecoderSpecificInfo descriptor, tag 5). */
export function audioSpecificConfigFromEsds(esds: Buffer): Buffer {
  let pos = 4; // version and flags
  const descriptor = (): { tag: number; start: number; size: number } => {
    const tag = esds[pos++]!;
    let size = 0;
    for (let i = 0; i < 4; i++) {
      const b = esds[pos++]!;
      size = (size << 7) | (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
    return { tag, start: pos, size };
  };
  descriptor(); // ES_Descriptor
  const flags = esds[pos + 2]!;
  pos += 3 + (flags & 0x80 ? 2 : 0) + (flags & 0x20 ? 1 + esds[pos + 3]! : 0) + (flags & 0x40 ? 2 : 0);
  descriptor(); // DecoderConfigDescriptor
  pos += 13;
  const info = descriptor();
  if (info.tag !== 5) throw new Error('no DecoderSpecificInfo in esds');
  return esds.subarray(info.start, info.start + info.size);
}

/** OpusHead (RFC 7845) from an MP4 dOps box body (the same fields, big-endian, no magic). */
export function opusHeadFromDops(dops: Buffer): Buffer {
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'latin1');
  head[8] = 1;
  head[9] = dops[1]!;
  head.writeUInt16LE(dops.readUInt16BE(2), 10);
  head.writeUInt32LE(dops.readUInt32BE(4), 12);
  head.writeInt16LE(dops.readInt16BE(8), 16);
  head[18] = dops[10]!;
  return head;
}
