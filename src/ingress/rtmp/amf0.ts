/**
 * AMF0 (Action Message Format, version 0) encode/decode: the value encoding of RTMP commands and of
 * FLV script data. Pure functions over Buffers; malformed input throws ProtocolError RTMP_PROTOCOL_ERROR.
 *
 * Mapping: number ↔ number, boolean ↔ boolean, string/long string ↔ string, null ↔ null,
 * undefined ↔ undefined, object ↔ plain object, ECMA array ↔ AmfEcmaArray (so metadata round-trips
 * with its original marker), strict array ↔ Array, date ↔ Date (the time-zone field is ignored, as
 * the spec says it should be).
 */
import { ProtocolError } from '../../common/errors/index.js';

export const Amf0Marker = {
  NUMBER: 0x00,
  BOOLEAN: 0x01,
  STRING: 0x02,
  OBJECT: 0x03,
  MOVIECLIP: 0x04,
  NULL: 0x05,
  UNDEFINED: 0x06,
  REFERENCE: 0x07,
  ECMA_ARRAY: 0x08,
  OBJECT_END: 0x09,
  STRICT_ARRAY: 0x0a,
  DATE: 0x0b,
  LONG_STRING: 0x0c,
  UNSUPPORTED: 0x0d,
  RECORDSET: 0x0e,
  XML_DOCUMENT: 0x0f,
  TYPED_OBJECT: 0x10,
  AVMPLUS: 0x11,
} as const;

export type AmfValue =
  number | boolean | string | null | undefined | Date | AmfValue[] | AmfObject | AmfEcmaArray;

export interface AmfObject {
  [key: string]: AmfValue;
}

/** An ECMA (associative) array; FLV onMetaData is usually one. Kept distinct from objects so it re-encodes as 0x08. */
export class AmfEcmaArray {
  constructor(readonly entries: AmfObject) {}
}

/**
 * Nesting limit for decoding. Real commands nest two or three levels; the limit keeps a hostile
 * peer from overflowing the stack with a few kilobytes of 0x03 markers.
 */
const MAX_DEPTH = 32;
const MAX_SHORT_STRING = 0xffff;

function malformed(reason: string, offset: number): ProtocolError {
  return new ProtocolError('RTMP_PROTOCOL_ERROR', `malformed AMF0: ${reason}`, { offset });
}

export interface Amf0DecodeResult {
  value: AmfValue;
  /** Offset just past the decoded value. */
  offset: number;
}

class Reader {
  constructor(
    private readonly buf: Buffer,
    public pos: number,
  ) {}

  need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) throw malformed(`truncated ${what}`, this.pos);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf.readUInt8(this.pos++);
  }

  u16(what: string): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  f64(what: string): number {
    this.need(8, what);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  utf8(len: number, what: string): string {
    this.need(len, what);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  /** Reads key/value pairs up to the empty-key + OBJECT_END terminator. */
  properties(depth: number, into: AmfObject): AmfObject {
    for (;;) {
      const keyLen = this.u16('property name length');
      if (keyLen === 0) {
        const end = this.u8('object end marker');
        if (end !== Amf0Marker.OBJECT_END)
          throw malformed(`expected object end, got 0x${end.toString(16)}`, this.pos - 1);
        return into;
      }
      const key = this.utf8(keyLen, 'property name');
      into[key] = this.value(depth + 1);
    }
  }

  value(depth: number): AmfValue {
    if (depth > MAX_DEPTH) throw malformed('nesting too deep', this.pos);
    const marker = this.u8('type marker');
    switch (marker) {
      case Amf0Marker.NUMBER:
        return this.f64('number');
      case Amf0Marker.BOOLEAN:
        return this.u8('boolean') !== 0;
      case Amf0Marker.STRING:
        return this.utf8(this.u16('string length'), 'string');
      case Amf0Marker.LONG_STRING:
      case Amf0Marker.XML_DOCUMENT:
        return this.utf8(this.u32('long string length'), 'long string');
      case Amf0Marker.OBJECT:
        return this.properties(depth, {});
      case Amf0Marker.TYPED_OBJECT:
        // The class name has no meaning for RTMP ingest; keep the properties.
        this.utf8(this.u16('class name length'), 'class name');
        return this.properties(depth, {});
      case Amf0Marker.NULL:
        return null;
      case Amf0Marker.UNDEFINED:
      case Amf0Marker.UNSUPPORTED:
        return undefined;
      case Amf0Marker.ECMA_ARRAY:
        // The count is a hint only (encoders get it wrong); the terminator ends the array.
        this.u32('ECMA array count');
        return new AmfEcmaArray(this.properties(depth, {}));
      case Amf0Marker.STRICT_ARRAY: {
        const count = this.u32('strict array count');
        // Each element takes at least one byte: a count beyond the remaining bytes is a lie.
        this.need(count, 'strict array elements');
        const out: AmfValue[] = [];
        for (let i = 0; i < count; i++) out.push(this.value(depth + 1));
        return out;
      }
      case Amf0Marker.DATE: {
        const ms = this.f64('date');
        this.u16('date time zone');
        return new Date(ms);
      }
      default:
        // REFERENCE, MOVIECLIP, RECORDSET, AVMPLUS and anything unknown: not sent by publishers using AMF0.
        throw malformed(`unsupported type marker 0x${marker.toString(16)}`, this.pos - 1);
    }
  }
}

/** Decodes one value at `offset`. */
export function decodeAmf0(buf: Buffer, offset = 0): Amf0DecodeResult {
  const r = new Reader(buf, offset);
  const value = r.value(0);
  return { value, offset: r.pos };
}

/** Decodes consecutive values until the buffer ends (an RTMP command or data message body). */
export function decodeAmf0All(buf: Buffer, offset = 0): AmfValue[] {
  const r = new Reader(buf, offset);
  const out: AmfValue[] = [];
  while (r.pos < buf.length) out.push(r.value(0));
  return out;
}

class Writer {
  readonly parts: Buffer[] = [];

  byte(b: number): void {
    this.parts.push(Buffer.from([b]));
  }

  u16(n: number): void {
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16BE(n, 0);
    this.parts.push(b);
  }

  u32(n: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(n, 0);
    this.parts.push(b);
  }

  f64(n: number): void {
    const b = Buffer.allocUnsafe(8);
    b.writeDoubleBE(n, 0);
    this.parts.push(b);
  }

  key(k: string): void {
    const b = Buffer.from(k, 'utf8');
    if (b.length > MAX_SHORT_STRING) throw new RangeError(`AMF0 property name too long (${b.length} bytes)`);
    this.u16(b.length);
    this.parts.push(b);
  }

  properties(obj: AmfObject): void {
    for (const [k, v] of Object.entries(obj)) {
      this.key(k);
      this.value(v);
    }
    this.u16(0);
    this.byte(Amf0Marker.OBJECT_END);
  }

  value(v: AmfValue): void {
    if (v === null) return this.byte(Amf0Marker.NULL);
    if (v === undefined) return this.byte(Amf0Marker.UNDEFINED);
    if (typeof v === 'number') {
      this.byte(Amf0Marker.NUMBER);
      return this.f64(v);
    }
    if (typeof v === 'boolean') {
      this.byte(Amf0Marker.BOOLEAN);
      return this.byte(v ? 1 : 0);
    }
    if (typeof v === 'string') {
      const b = Buffer.from(v, 'utf8');
      if (b.length > MAX_SHORT_STRING) {
        this.byte(Amf0Marker.LONG_STRING);
        this.u32(b.length);
      } else {
        this.byte(Amf0Marker.STRING);
        this.u16(b.length);
      }
      this.parts.push(b);
      return;
    }
    if (v instanceof Date) {
      this.byte(Amf0Marker.DATE);
      this.f64(v.getTime());
      return this.u16(0);
    }
    if (Array.isArray(v)) {
      this.byte(Amf0Marker.STRICT_ARRAY);
      this.u32(v.length);
      for (const item of v) this.value(item);
      return;
    }
    if (v instanceof AmfEcmaArray) {
      this.byte(Amf0Marker.ECMA_ARRAY);
      this.u32(Object.keys(v.entries).length);
      return this.properties(v.entries);
    }
    this.byte(Amf0Marker.OBJECT);
    this.properties(v);
  }
}

/** Encodes values back to back, as in a command message body. */
export function encodeAmf0(...values: AmfValue[]): Buffer {
  const w = new Writer();
  for (const v of values) w.value(v);
  return Buffer.concat(w.parts);
}

/** Narrowing helper for decoded command objects. */
export function isAmfObject(v: AmfValue): v is AmfObject {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Date) &&
    !(v instanceof AmfEcmaArray)
  );
}
