import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CORK_BUFFER_BYTES, JoinSender, framedSize } from '../../src/edge/join-sender.js';

/**
 * A socket that decides where each send is assembled as uWebSockets.js v20 does (AsyncSocket::getSendBuffer,
 * WebSocket::send): the loop's 16 KB cork buffer, one writev for a large message sent uncorked with nothing
 * buffered, or else the socket's backpressure string, whose capacity is never given back. The kernel takes
 * `kernelRoom` bytes until `read()`.
 */
function uwsLikeSocket(kernelRoom = Infinity) {
  const s = {
    kernelRoom,
    corked: false,
    corkOffset: 0,
    /** Bytes in the backpressure string, and the most it ever held (its capacity). */
    buffered: 0,
    capacity: 0,
    received: [] as string[],
    corks: 0,
    write(bytes: number): void {
      const taken = s.buffered > 0 ? 0 : Math.min(bytes, s.kernelRoom);
      s.kernelRoom -= taken;
      s.hold(bytes - taken);
    },
    hold(bytes: number): void {
      s.buffered += bytes;
      s.capacity = Math.max(s.capacity, s.buffered);
    },
    cork(cb: () => void): void {
      if (s.corked) return cb();
      s.corked = true;
      s.corks++;
      cb();
      s.corked = false;
      const n = s.corkOffset;
      s.corkOffset = 0;
      s.write(n);
    },
    send(message: Buffer | string, isBinary: boolean): void {
      const payload = typeof message === 'string' ? Buffer.byteLength(message) : message.length;
      const size = framedSize(payload);
      s.received.push(isBinary ? `bin:${payload}` : `text:${String(message)}`);
      if (payload >= 16 * 1024 && s.buffered === 0 && s.corkOffset === 0) {
        s.write(size);
      } else if (s.buffered === 0 && s.corkOffset + size < CORK_BUFFER_BYTES) {
        if (s.corked) s.corkOffset += size;
        else s.write(size);
      } else {
        // Assembled in the backpressure string, with what was corked in front of it, then written from there.
        const from = s.corkOffset;
        s.corkOffset = 0;
        s.hold(from + size);
        const taken = Math.min(s.buffered, s.kernelRoom);
        s.kernelRoom -= taken;
        s.buffered -= taken;
      }
    },
    getBufferedAmount: () => s.buffered,
    /** The viewer reads everything: the kernel takes the buffer, as on uWS's writable event. */
    read(): void {
      s.kernelRoom = Infinity;
      s.buffered = 0;
    },
  };
  return s;
}

/** A join burst like the 400 kbit/s bench stream's: description, two inits, a keyframe chunk, small chunks. */
function burst(): Array<Buffer | string> {
  return [
    JSON.stringify({ type: 'info', pad: 'x'.repeat(700) }),
    Buffer.alloc(700),
    Buffer.alloc(600),
    Buffer.alloc(24_000),
    ...Array.from({ length: 20 }, () => Buffer.alloc(1200)),
    ...Array.from({ length: 30 }, () => Buffer.alloc(350)),
  ];
}

const label = (m: Buffer | string) => (typeof m === 'string' ? `text:${m}` : `bin:${m.length}`);

function deferred() {
  const jobs: Array<() => void> = [];
  return {
    defer: (fn: () => void) => void jobs.push(fn),
    run(): number {
      const n = jobs.length;
      for (const j of jobs.splice(0)) j();
      return n;
    },
  };
}

test('a join burst sent in one cork leaves uWS a backpressure buffer bigger than the cork buffer (the problem)', () => {
  const s = uwsLikeSocket();
  s.cork(() => {
    for (const m of burst()) s.send(m, typeof m !== 'string');
  });
  assert.equal(s.getBufferedAmount(), 0, 'the kernel took everything');
  assert.ok(s.capacity > CORK_BUFFER_BYTES, `capacity ${s.capacity}`);
});

test('the join burst goes out in corks that fit, after the upgrade callback, in order, with no uWS buffer', () => {
  const s = uwsLikeSocket();
  const d = deferred();
  const sender = new JoinSender(s, d.defer);
  const msgs = burst();
  s.cork(() => {
    // The upgrade's open handler: uWS has the socket corked.
    sender.hold();
    for (const m of msgs) sender.send(m, typeof m !== 'string');
    sender.release();
    assert.equal(s.received.length, 0, 'nothing sent inside the upgrade cork');
    assert.equal(
      sender.bufferedAmount(),
      msgs.reduce((n, m) => n + Buffer.byteLength(m), 0),
    );
  });
  assert.equal(d.run(), 1);
  assert.deepEqual(s.received, msgs.map(label));
  assert.equal(s.capacity, 0, 'nothing was assembled in or left to the backpressure string');
  assert.equal(sender.bufferedAmount(), 0);
  // Afterwards sends go straight to the socket.
  sender.send(Buffer.alloc(900), true);
  assert.equal(s.received.at(-1), 'bin:900');
  assert.equal(d.run(), 0);
});

test('when the kernel refuses part, the rest waits for drain, in order, and uWS holds less than a cork', () => {
  const s = uwsLikeSocket(20_000);
  const d = deferred();
  const sender = new JoinSender(s, d.defer);
  const msgs = burst();
  sender.hold();
  for (const m of msgs) sender.send(m, typeof m !== 'string');
  sender.release();
  d.run();
  assert.ok(s.received.length < msgs.length, 'stopped at the first refusal');
  assert.ok(s.getBufferedAmount() > 0);
  const queued = sender.bufferedAmount() - s.getBufferedAmount();
  assert.ok(queued > 0, 'the rest is counted as held for this viewer');
  // A live chunk arriving meanwhile keeps its place after the burst.
  sender.send('live', false);
  sender.onDrain();
  d.run();
  assert.ok(s.received.length < msgs.length, 'nothing more while uWS still holds bytes');
  for (let i = 0; i < 100 && s.received.length < msgs.length + 1; i++) {
    s.read();
    s.kernelRoom = 20_000;
    sender.onDrain();
    d.run();
  }
  assert.deepEqual(s.received, [...msgs.map(label), 'text:live']);
  assert.ok(s.capacity < CORK_BUFFER_BYTES, `capacity ${s.capacity}`);
});

test('close drops the rest and touches the socket no more', () => {
  const s = uwsLikeSocket();
  const d = deferred();
  const sender = new JoinSender(s, d.defer);
  sender.hold();
  sender.send(Buffer.alloc(100), true);
  sender.release();
  sender.close();
  sender.close();
  d.run();
  sender.send('after', false);
  sender.onDrain();
  d.run();
  assert.deepEqual(s.received, []);
  assert.equal(sender.bufferedAmount(), 0);
});
