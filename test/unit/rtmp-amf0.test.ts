import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AmfEcmaArray, decodeAmf0, decodeAmf0All, encodeAmf0 } from '../../src/ingress/rtmp/amf0.js';
import type { AmfValue } from '../../src/ingress/rtmp/amf0.js';
import { ProtocolError } from '../../src/common/errors/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ascii = (s: string): string => Buffer.from(s, 'latin1').toString('hex');

function assertProtocolError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ProtocolError, `expected ProtocolError, got ${String(err)}`);
    assert.equal(err.code, 'RTMP_PROTOCOL_ERROR');
    assert.match(err.message, pattern);
    return true;
  });
}

void describe('AMF0 byte fixtures', () => {
  const fixtures: Array<[string, AmfValue, string]> = [
    ['number 1', 1, '00 3ff0000000000000'],
    ['number -0.5', -0.5, '00 bfe0000000000000'],
    ['boolean true', true, '01 01'],
    ['boolean false', false, '01 00'],
    ['string', 'abc', `02 0003 ${ascii('abc')}`],
    ['empty string', '', '02 0000'],
    ['utf-8 string', 'é', '02 0002 c3a9'],
    ['null', null, '05'],
    ['undefined', undefined, '06'],
    ['object', { a: 1, b: 'x' }, `03 0001 61 00 3ff0000000000000 0001 62 02 0001 78 0000 09`],
    ['empty object', {}, '03 0000 09'],
    ['strict array', [1, 'a'], `0a 00000002 00 3ff0000000000000 02 0001 61`],
    ['ECMA array', new AmfEcmaArray({ w: 320 }), `08 00000001 0001 77 00 4074000000000000 0000 09`],
    ['date', new Date(0), '0b 0000000000000000 0000'],
    ['nested object', { o: { n: null } }, `03 0001 6f 03 0001 6e 05 0000 09 0000 09`],
  ];

  for (const [name, value, bytes] of fixtures) {
    void it(`encodes ${name}`, () => {
      assert.equal(encodeAmf0(value).toString('hex'), hex(bytes).toString('hex'));
    });
    void it(`decodes ${name}`, () => {
      const buf = hex(bytes);
      const r = decodeAmf0(buf);
      assert.deepEqual(r.value, value);
      assert.equal(r.offset, buf.length);
    });
  }

  void it('decodes the connect command ffmpeg sends', () => {
    const body = hex(
      `02 0007 ${ascii('connect')} 00 3ff0000000000000 ` +
        `03 0003 ${ascii('app')} 02 0004 ${ascii('live')} 0004 ${ascii('type')} 02 000a ${ascii('nonprivate')} 0000 09`,
    );
    assert.deepEqual(decodeAmf0All(body), ['connect', 1, { app: 'live', type: 'nonprivate' }]);
  });

  void it('encodes a _result command as back-to-back values', () => {
    const buf = encodeAmf0('_result', 4, null, 1);
    assert.equal(
      buf.toString('hex'),
      hex(`02 0007 ${ascii('_result')} 00 4010000000000000 05 00 3ff0000000000000`).toString('hex'),
    );
  });

  void it('uses a long string (0x0c) above 65535 bytes and round-trips it', () => {
    const s = 'x'.repeat(70_000);
    const buf = encodeAmf0(s);
    assert.equal(buf[0], 0x0c);
    assert.equal(buf.readUInt32BE(1), 70_000);
    assert.equal(decodeAmf0(buf).value, s);
  });

  void it('decodes a long string fixture', () => {
    assert.equal(decodeAmf0(hex(`0c 00000002 ${ascii('hi')}`)).value, 'hi');
  });

  void it('decodes an ECMA array by its terminator even when the count is wrong', () => {
    const r = decodeAmf0(hex(`08 00000000 0001 61 01 01 0000 09`));
    assert.deepEqual(r.value, new AmfEcmaArray({ a: true }));
  });

  void it('decodes a typed object as its properties', () => {
    assert.deepEqual(decodeAmf0(hex(`10 0001 43 0001 61 05 0000 09`)).value, { a: null });
  });

  void it('ignores the date time-zone field', () => {
    const d = decodeAmf0(hex('0b 4270000000000000 ffc4')).value;
    assert.ok(d instanceof Date);
    assert.equal(d.getTime(), 2 ** 40);
  });

  void it('round-trips an onMetaData script tag body', () => {
    const values: AmfValue[] = [
      'onMetaData',
      new AmfEcmaArray({
        duration: 0,
        width: 320,
        height: 240,
        videocodecid: 7,
        stereo: true,
        encoder: 'Lavf59',
      }),
    ];
    assert.deepEqual(decodeAmf0All(encodeAmf0(...values)), values);
  });

  void it('decodes at an offset and reports where the value ends', () => {
    const buf = Buffer.concat([encodeAmf0('@setDataFrame'), encodeAmf0('onMetaData')]);
    const first = decodeAmf0(buf, 0);
    assert.equal(first.value, '@setDataFrame');
    assert.equal(decodeAmf0(buf, first.offset).value, 'onMetaData');
  });
});

void describe('AMF0 malformed input', () => {
  void it('rejects a truncated number', () =>
    assertProtocolError(() => decodeAmf0(hex('00 3ff0')), /truncated number/));
  void it('rejects a string longer than the buffer', () =>
    assertProtocolError(() => decodeAmf0(hex('02 0010 6162')), /truncated string/));
  void it('rejects an object without its end marker', () =>
    assertProtocolError(() => decodeAmf0(hex('03 0001 61 05')), /truncated/));
  void it('rejects a wrong object end marker', () =>
    assertProtocolError(() => decodeAmf0(hex('03 0000 05')), /expected object end/));
  void it('rejects unsupported markers (AMF3 switch, reference)', () => {
    assertProtocolError(() => decodeAmf0(hex('11 00')), /unsupported type marker 0x11/);
    assertProtocolError(() => decodeAmf0(hex('07 0001')), /unsupported type marker 0x7/);
  });
  void it('rejects a strict array count larger than the remaining bytes', () =>
    assertProtocolError(() => decodeAmf0(hex('0a ffffffff 05')), /truncated strict array/));
  void it('rejects deeply nested objects instead of overflowing the stack', () => {
    const deep = Buffer.concat(Array.from({ length: 5000 }, () => hex('03 0001 61')));
    assertProtocolError(() => decodeAmf0(deep), /nesting too deep/);
  });
  void it('rejects an empty buffer', () =>
    assertProtocolError(() => decodeAmf0(Buffer.alloc(0)), /truncated type marker/));
});
