import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  encodeTwccFeedback,
  installTwccRecorder,
  TwccRecorder,
} from '../../src/ingress/whip/twcc-feedback.js';

/**
 * A reader of transport-wide feedback written from the draft (draft-holmer-rmcat-transport-wide-cc-
 * extensions-01 §3.1), the way a sender reconstructs arrival times: reference time × 64 ms plus the running
 * sum of the deltas (250 µs units). Both chunk kinds are read, so the test does not depend on which one
 * the encoder picks.
 */
function readFeedback(buf: Buffer): {
  base: number;
  count: number;
  /** Arrival in µs per covered packet, undefined: reported lost. */
  arrivalsUs: (number | undefined)[];
} {
  assert.equal(buf[0]! >> 6, 2);
  assert.equal(buf[0]! & 0x1f, 15);
  assert.equal(buf[1], 205);
  assert.equal(buf.length, (buf.readUInt16BE(2) + 1) * 4);
  const padded = (buf[0]! & 0x20) !== 0;
  const end = padded ? buf.length - buf[buf.length - 1]! : buf.length;
  const base = buf.readUInt16BE(12);
  const statusCount = buf.readUInt16BE(14);
  const reference = buf.readIntBE(16, 3);
  const count = buf[19]!;
  const statuses: number[] = [];
  let p = 20;
  while (statuses.length < statusCount) {
    const c = buf.readUInt16BE(p);
    p += 2;
    if ((c & 0x8000) === 0) {
      const s = (c >> 13) & 3;
      const run = c & 0x1fff;
      for (let i = 0; i < run && statuses.length < statusCount; i++) statuses.push(s);
    } else if ((c & 0x4000) === 0) {
      for (let i = 13; i >= 0 && statuses.length < statusCount; i--) statuses.push((c >> i) & 1);
    } else {
      for (let i = 12; i >= 0 && statuses.length < statusCount; i -= 2) statuses.push((c >> i) & 3);
    }
  }
  let t = reference * 64_000;
  const arrivalsUs = statuses.map((s) => {
    if (s === 0) return undefined;
    const d = s === 1 ? buf.readUInt8(p) : buf.readInt16BE(p);
    p += s === 1 ? 1 : 2;
    t += d * 250;
    return t;
  });
  assert.ok(p <= end);
  assert.ok(end - p < 4);
  return { base, count, arrivalsUs };
}

test('gives the sender the arrival times measured, to within one 250 µs tick', () => {
  const arrivals = [1_000_123, 1_001_000, 1_001_010, 1_070_400, 1_070_450, 1_140_999];
  const f = readFeedback(
    encodeTwccFeedback({
      senderSsrc: 1,
      mediaSsrc: 2,
      baseSequence: 65534,
      arrivalsUs: arrivals,
      count: 7,
    }),
  );
  assert.equal(f.base, 65534);
  assert.equal(f.count, 7);
  f.arrivalsUs.forEach((a, i) => assert.ok(Math.abs(a! - arrivals[i]!) < 250));
});

test('reports missing packets as lost and keeps the times of those after them', () => {
  const arrivals = [5_000_000, undefined, undefined, 5_020_000, undefined, 5_021_000];
  const f = readFeedback(
    encodeTwccFeedback({ senderSsrc: 1, mediaSsrc: 2, baseSequence: 10, arrivalsUs: arrivals, count: 0 }),
  );
  assert.deepEqual(
    f.arrivalsUs.map((a) => a === undefined),
    [false, true, true, false, true, false],
  );
  assert.ok(Math.abs(f.arrivalsUs[3]! - f.arrivalsUs[0]! - 20_000) < 500);
  assert.ok(Math.abs(f.arrivalsUs[5]! - f.arrivalsUs[3]! - 1_000) < 500);
});

test('writes reordered arrivals (a negative gap) as large deltas the sender can read', () => {
  const arrivals = [9_000_000, 8_999_000, 9_200_000];
  const f = readFeedback(
    encodeTwccFeedback({ senderSsrc: 1, mediaSsrc: 2, baseSequence: 0, arrivalsUs: arrivals, count: 0 }),
  );
  f.arrivalsUs.forEach((a, i) => assert.ok(Math.abs(a! - arrivals[i]!) < 250));
});

test('keeps the gap between packets that fall in different feedbacks (no 0–64 ms jumps)', () => {
  const sent: Buffer[] = [];
  let now = 3_000_017;
  const r = new TwccRecorder(
    (b) => sent.push(b),
    1,
    2,
    () => now,
  );
  const truth: number[] = [];
  for (let seq = 0; seq < 40; seq++) {
    now += 1_000 + ((seq * 7919) % 13) * 331; // uneven gaps, none a multiple of 64 ms
    truth.push(now);
    r.handleTWCC(seq);
    if (seq % 9 === 8) r.flush();
  }
  r.flush();
  r.close();
  assert.ok(sent.length > 3);
  const read = sent.flatMap((b) => readFeedback(b).arrivalsUs);
  assert.equal(read.length, 40);
  for (let i = 1; i < 40; i++)
    assert.ok(Math.abs(read[i]! - read[i - 1]! - (truth[i]! - truth[i - 1]!)) < 500);
});

test('numbers feedbacks, continues across the 16-bit wrap and reports a loss between feedbacks', () => {
  const sent: Buffer[] = [];
  let now = 0;
  const r = new TwccRecorder(
    (b) => sent.push(b),
    1,
    2,
    () => now,
  );
  for (const seq of [65533, 65534, 65535]) {
    now += 2_000;
    r.handleTWCC(seq);
  }
  r.flush();
  for (const seq of [1, 2]) {
    now += 2_000;
    r.handleTWCC(seq); // 0 was lost
  }
  r.handleTWCC(65534); // a late duplicate of a reported packet: ignored
  r.flush();
  r.close();
  const [a, b] = sent.map(readFeedback);
  assert.deepEqual([a!.base, a!.count, a!.arrivalsUs.length], [65533, 0, 3]);
  assert.deepEqual([b!.base, b!.count], [0, 1]);
  assert.deepEqual(
    b!.arrivalsUs.map((x) => x === undefined),
    [true, false, false],
  );
});

test("one recorder for the bundle: audio and video receivers report each other's packets as received", async () => {
  // Two receivers as werift keeps them (one per transceiver), fed the way its handleRTP feeds them: the
  // first packet sets the recorder up, later ones are recorded. Transport-wide numbers interleave.
  const sent: Buffer[] = [];
  type Fake = {
    twccEnabled: boolean;
    receiverTWCC: TwccRecorder | undefined;
    setupTWCC: (ssrc: number) => void;
    rtcpSsrc: number;
    dtlsTransport: { sendRtcp: (p: { serialize(): Buffer }[]) => Promise<void> };
  };
  const fake = (): Fake => ({
    twccEnabled: true,
    receiverTWCC: undefined,
    setupTWCC: () => undefined,
    rtcpSsrc: 7,
    dtlsTransport: {
      sendRtcp: (packets) => {
        sent.push(...packets.map((p) => p.serialize()));
        return Promise.resolve();
      },
    },
  });
  const audio = fake();
  const video = fake();
  const stop = installTwccRecorder([audio, video] as never);
  const receive = (r: Fake, seq: number, ssrc: number): void => {
    if (r.receiverTWCC) r.receiverTWCC.handleTWCC(seq);
    else if (r.twccEnabled) r.setupTWCC(ssrc);
  };
  receive(audio, 0, 11);
  receive(video, 1, 22);
  for (let seq = 2; seq < 60; seq++) receive(seq % 3 === 0 ? audio : video, seq, seq % 3 === 0 ? 11 : 22);
  assert.equal(audio.receiverTWCC, video.receiverTWCC, 'one recorder');
  audio.receiverTWCC!.flush();
  await new Promise((r) => setImmediate(r));
  stop();
  const read = sent.flatMap((b) => readFeedback(b).arrivalsUs);
  assert.equal(read.length, 58); // 2..59: the two set-up packets are not recorded, as in werift
  assert.ok(
    read.every((a) => a !== undefined),
    'no packet reported lost',
  );
});
