// CMAF demuxer for the WebCodecs player: an init segment (ftyp+moov) gives each track's codec string and
// decoder configuration (avcC for H.264, the AudioSpecificConfig from esds for AAC); a chunk (one or more
// moof+mdat pairs) gives its samples with decode and presentation times and key flags. Pure: no DOM, so it
// is unit-tested in Node with chunks ffmpeg and the ingress write.

/**
 * Thrown for bytes that are not CMAF this demuxer understands; `code` is stable: the chunk is part of a frame
 * the edge sent, so it is the page's PROTOCOL_MALFORMED_FRAME (frames.js), logged in the console, the message
 * dropped.
 */
export class DemuxError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'DemuxError';
    this.code = 'PROTOCOL_MALFORMED_FRAME';
  }
}

/**
 * @typedef {{ id: number, kind: 'video' | 'audio', timescale: number, codec: string, description: Uint8Array,
 *   width?: number, height?: number, sampleRate?: number, channels?: number,
 *   defaultDuration: number, defaultSize: number, defaultFlags: number }} Track
 */
/** @typedef {{ tracks: Track[] }} InitInfo */
/**
 * Times in the track's timescale; data is a view into the chunk.
 * @typedef {{ track: number, dts: number, pts: number, duration: number, key: boolean, data: Uint8Array }} Sample
 */

/**
 * @param {Uint8Array} b
 * @param {number} [start]
 * @param {number} [end]
 * @returns {Generator<{ type: string, start: number, body: number, end: number }>}
 */
function* boxes(b, start = 0, end = b.length) {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let pos = start;
  while (pos + 8 <= end) {
    let size = v.getUint32(pos);
    const type = String.fromCharCode(b[pos + 4] ?? 0, b[pos + 5] ?? 0, b[pos + 6] ?? 0, b[pos + 7] ?? 0);
    let head = 8;
    if (size === 1) {
      if (pos + 16 > end) throw new DemuxError(`truncated ${type} box`);
      size = Number(v.getBigUint64(pos + 8));
      head = 16;
    } else if (size === 0) size = end - pos;
    if (size < head || pos + size > end) throw new DemuxError(`truncated ${type} box`);
    yield { type, start: pos, body: pos + head, end: pos + size };
    pos += size;
  }
}

/** @param {Uint8Array} b @param {number} start @param {number} end @param {string} type */
function child(b, start, end, type) {
  for (const x of boxes(b, start, end)) if (x.type === type) return x;
  return null;
}

/** @param {Uint8Array} b @param {{ body: number, end: number } | null} box @param {...string} types */
function path(b, box, ...types) {
  let cur = box;
  for (const t of types) cur = cur && child(b, cur.body, cur.end, t);
  return cur;
}

/** @param {Uint8Array} b */
const view = (b) => new DataView(b.buffer, b.byteOffset, b.byteLength);
/** @param {number} n */
const hex2 = (n) => n.toString(16).padStart(2, '0');

/**
 * An MPEG-4 descriptor's tag and body range (ISO 14496-1: 1-4 length bytes, 7 bits each).
 * @param {Uint8Array} b @param {number} pos
 */
function descriptor(b, pos) {
  const tag = b[pos++] ?? 0;
  let len = 0;
  for (let i = 0; i < 4; i++) {
    const c = b[pos++] ?? 0;
    len = (len << 7) | (c & 0x7f);
    if (!(c & 0x80)) break;
  }
  return { tag, body: pos, end: pos + len };
}

/**
 * The AudioSpecificConfig inside an esds box body (after its version/flags).
 * @param {Uint8Array} b @param {number} start @param {number} end
 */
export function audioSpecificConfig(b, start, end) {
  const es = descriptor(b, start + 4);
  if (es.tag !== 3) throw new DemuxError('esds without an ES_Descriptor');
  let p = es.body + 2;
  const flags = b[p++] ?? 0;
  if (flags & 0x80) p += 2; // dependsOn_ES_ID
  if (flags & 0x40) p += 1 + (b[p] ?? 0); // URL
  if (flags & 0x20) p += 2; // OCR_ES_Id
  const dc = descriptor(b, p);
  if (dc.tag !== 4) throw new DemuxError('esds without a DecoderConfigDescriptor');
  const dsi = descriptor(b, dc.body + 13);
  if (dsi.tag !== 5 || dsi.end > end) throw new DemuxError('esds without a DecoderSpecificInfo');
  return b.slice(dsi.body, dsi.end);
}

/**
 * @param {Uint8Array} b an init segment (ftyp+moov)
 * @returns {InitInfo}
 */
export function parseInit(b) {
  const v = view(b);
  const moov = child(b, 0, b.length, 'moov');
  if (!moov) throw new DemuxError('init segment without moov');
  /** @type {Map<number, { dur: number, size: number, flags: number }>} */
  const trex = new Map();
  const mvex = child(b, moov.body, moov.end, 'mvex');
  if (mvex)
    for (const x of boxes(b, mvex.body, mvex.end))
      if (x.type === 'trex')
        trex.set(v.getUint32(x.body + 4), {
          dur: v.getUint32(x.body + 12),
          size: v.getUint32(x.body + 16),
          flags: v.getUint32(x.body + 20),
        });
  /** @type {Track[]} */
  const tracks = [];
  for (const trak of boxes(b, moov.body, moov.end)) {
    if (trak.type !== 'trak') continue;
    const tkhd = child(b, trak.body, trak.end, 'tkhd');
    const mdhd = path(b, trak, 'mdia', 'mdhd');
    const hdlr = path(b, trak, 'mdia', 'hdlr');
    const stsd = path(b, trak, 'mdia', 'minf', 'stbl', 'stsd');
    if (!tkhd || !mdhd || !hdlr || !stsd) throw new DemuxError('trak without tkhd/mdhd/hdlr/stsd');
    const id = v.getUint32(tkhd.body + ((b[tkhd.body] ?? 0) === 1 ? 20 : 12));
    const timescale = v.getUint32(mdhd.body + ((b[mdhd.body] ?? 0) === 1 ? 20 : 12));
    const handler = String.fromCharCode(...b.subarray(hdlr.body + 8, hdlr.body + 12));
    /** @type {{ type: string, body: number, end: number } | null} */
    let entry = null;
    for (const x of boxes(b, stsd.body + 8, stsd.end)) {
      entry = x;
      break;
    }
    if (!entry) throw new DemuxError('stsd without a sample entry');
    const d = trex.get(id) ?? { dur: 0, size: 0, flags: 0 };
    const common = { id, timescale, defaultDuration: d.dur, defaultSize: d.size, defaultFlags: d.flags };
    if (handler === 'vide') {
      if (entry.type !== 'avc1' && entry.type !== 'avc3')
        throw new DemuxError(`video sample entry ${entry.type} is not H.264`);
      const avcC = child(b, entry.body + 78, entry.end, 'avcC');
      if (!avcC) throw new DemuxError('avc1 without avcC');
      const description = b.slice(avcC.body, avcC.end);
      tracks.push({
        ...common,
        kind: 'video',
        codec: `avc1.${hex2(description[1] ?? 0)}${hex2(description[2] ?? 0)}${hex2(description[3] ?? 0)}`,
        description,
        width: v.getUint16(entry.body + 24),
        height: v.getUint16(entry.body + 26),
      });
    } else if (handler === 'soun') {
      if (entry.type !== 'mp4a') throw new DemuxError(`audio sample entry ${entry.type} is not AAC`);
      const esds = child(b, entry.body + 28, entry.end, 'esds');
      if (!esds) throw new DemuxError('mp4a without esds');
      const description = audioSpecificConfig(b, esds.body, esds.end);
      const aot = (description[0] ?? 0) >> 3;
      tracks.push({
        ...common,
        kind: 'audio',
        codec: `mp4a.40.${aot}`,
        description,
        channels: v.getUint16(entry.body + 16),
        sampleRate: v.getUint32(entry.body + 24) >>> 16,
      });
    }
  }
  if (tracks.length === 0) throw new DemuxError('init segment without a video or audio track');
  return { tracks };
}

/** sample_is_non_sync_sample (ISO 14496-12 8.8.3.1). @param {number} flags */
const isKey = (flags) => (flags & 0x10000) === 0;

/**
 * The samples of a chunk (moof+mdat pairs), in file order.
 * @param {Uint8Array} b
 * @param {InitInfo} init
 * @returns {Sample[]}
 */
export function parseChunk(b, init) {
  const v = view(b);
  /** @type {Sample[]} */
  const out = [];
  for (const moof of boxes(b)) {
    if (moof.type !== 'moof') continue;
    let nextBase = moof.start;
    for (const traf of boxes(b, moof.body, moof.end)) {
      if (traf.type !== 'traf') continue;
      const tfhd = child(b, traf.body, traf.end, 'tfhd');
      if (!tfhd) throw new DemuxError('traf without tfhd');
      const tf = v.getUint32(tfhd.body) & 0xffffff;
      let p = tfhd.body + 4;
      const id = v.getUint32(p);
      p += 4;
      const track = init.tracks.find((t) => t.id === id);
      let base = tf & 0x20000 ? moof.start : nextBase;
      if (tf & 0x1) {
        base = Number(v.getBigUint64(p));
        p += 8;
      }
      if (tf & 0x2) p += 4;
      let defDur = track?.defaultDuration ?? 0;
      let defSize = track?.defaultSize ?? 0;
      let defFlags = track?.defaultFlags ?? 0;
      if (tf & 0x8) {
        defDur = v.getUint32(p);
        p += 4;
      }
      if (tf & 0x10) {
        defSize = v.getUint32(p);
        p += 4;
      }
      if (tf & 0x20) defFlags = v.getUint32(p);
      const tfdt = child(b, traf.body, traf.end, 'tfdt');
      let dts = 0;
      if (tfdt) dts = b[tfdt.body] === 1 ? Number(v.getBigUint64(tfdt.body + 4)) : v.getUint32(tfdt.body + 4);
      for (const trun of boxes(b, traf.body, traf.end)) {
        if (trun.type !== 'trun') continue;
        const version = b[trun.body] ?? 0;
        const fl = v.getUint32(trun.body) & 0xffffff;
        const count = v.getUint32(trun.body + 4);
        let q = trun.body + 8;
        let dataAt = base;
        if (fl & 0x1) {
          dataAt = base + v.getInt32(q);
          q += 4;
        }
        let firstFlags = null;
        if (fl & 0x4) {
          firstFlags = v.getUint32(q);
          q += 4;
        }
        for (let i = 0; i < count; i++) {
          const duration = fl & 0x100 ? v.getUint32((q += 4) - 4) : defDur;
          const size = fl & 0x200 ? v.getUint32((q += 4) - 4) : defSize;
          const flags =
            fl & 0x400 ? v.getUint32((q += 4) - 4) : i === 0 && firstFlags !== null ? firstFlags : defFlags;
          let cto = 0;
          if (fl & 0x800) cto = version === 0 ? v.getUint32((q += 4) - 4) : v.getInt32((q += 4) - 4);
          if (dataAt + size > b.length) throw new DemuxError('trun points past the chunk');
          if (track)
            out.push({
              track: id,
              dts,
              pts: dts + cto,
              duration,
              key: isKey(flags),
              data: b.subarray(dataAt, dataAt + size),
            });
          dataAt += size;
          dts += duration;
        }
        nextBase = dataAt;
      }
    }
  }
  return out;
}
