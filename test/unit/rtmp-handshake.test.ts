import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HANDSHAKE_SIZE, ServerHandshake } from '../../src/ingress/rtmp/handshake.js';
import { ProtocolError } from '../../src/common/errors/index.js';

const c1 = Buffer.alloc(HANDSHAKE_SIZE).map((_, i) => (i * 31) & 0xff);
const c2 = Buffer.alloc(HANDSHAKE_SIZE, 0xc2);

void describe('ServerHandshake', () => {
  void it('answers C0+C1 with S0+S1+S2 (S2 echoes C1, S1 zero field set) and finishes on C2', () => {
    const hs = new ServerHandshake({ random: (n) => Buffer.alloc(n, 0xab), epochMs: 7 });
    const r1 = hs.push(Buffer.concat([Buffer.from([3]), c1]));
    assert.equal(r1.done, false);
    const reply = r1.reply!;
    assert.equal(reply.length, 1 + 2 * HANDSHAKE_SIZE);
    assert.equal(reply[0], 3);
    const s1 = reply.subarray(1, 1 + HANDSHAKE_SIZE);
    assert.equal(s1.readUInt32BE(0), 7);
    assert.equal(s1.readUInt32BE(4), 0, 'zero field: tells clients not to attempt digest validation');
    assert.ok(s1.subarray(8).equals(Buffer.alloc(HANDSHAKE_SIZE - 8, 0xab)));
    assert.ok(reply.subarray(1 + HANDSHAKE_SIZE).equals(c1));

    const tail = Buffer.from('first chunk bytes');
    const r2 = hs.push(Buffer.concat([c2, tail]));
    assert.equal(r2.done, true);
    assert.equal(r2.reply, undefined);
    assert.ok(r2.rest.equals(tail));
    assert.equal(hs.done, true);
  });

  void it('works when bytes arrive one at a time, and when everything arrives at once', () => {
    const all = Buffer.concat([Buffer.from([3]), c1, c2, Buffer.from('xyz')]);
    const hs = new ServerHandshake();
    const replies: Buffer[] = [];
    let rest = Buffer.alloc(0);
    for (let i = 0; i < all.length; i++) {
      const r = hs.push(all.subarray(i, i + 1));
      if (r.reply) replies.push(r.reply);
      rest = Buffer.concat([rest, r.rest]);
    }
    assert.equal(replies.length, 1);
    assert.equal(rest.toString(), 'xyz');

    const once = new ServerHandshake().push(all);
    assert.equal(once.done, true);
    assert.ok(once.reply!.subarray(1 + HANDSHAKE_SIZE).equals(c1));
    assert.equal(once.rest.toString(), 'xyz');
  });

  void it('rejects a wrong version byte at once (an HTTP request, RTMPE version 6)', () => {
    for (const first of [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.from([6])]) {
      assert.throws(
        () => new ServerHandshake().push(first),
        (err: unknown) => err instanceof ProtocolError && err.code === 'RTMP_HANDSHAKE_FAILED',
      );
    }
  });
});
