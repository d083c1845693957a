import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { RtmpSession } from '../../src/ingress/rtmp/rtmp-session.js';
import type { RtmpSessionOptions } from '../../src/ingress/rtmp/rtmp-session.js';
import { ChunkStreamEncoder, ChunkStreamParser } from '../../src/ingress/rtmp/chunk-stream.js';
import type { RtmpMessage } from '../../src/ingress/rtmp/chunk-stream.js';
import { AmfEcmaArray, decodeAmf0All, encodeAmf0 } from '../../src/ingress/rtmp/amf0.js';
import type { AmfValue } from '../../src/ingress/rtmp/amf0.js';
import { HANDSHAKE_SIZE } from '../../src/ingress/rtmp/handshake.js';
import type { FlvTag, PublishRequest, PublishSink } from '../../src/ingress/rtmp/types.js';
import { TiercastError } from '../../src/common/errors/index.js';

const KEY = 'sk_live_8f3a91c2';

class FakeSink implements PublishSink {
  tags: FlvTag[] = [];
  closes: string[] = [];
  throwOnTag = false;
  onTag(tag: FlvTag): void {
    this.tags.push(tag);
    if (this.throwOnTag) throw new Error('consumer bug');
  }
  close(reason: string): void {
    this.closes.push(reason);
  }
}

/** Plays the client: handshake, commands and media encoded with our own chunk encoder; decodes replies. */
class Harness {
  readonly logLines: string[] = [];
  readonly requests: PublishRequest[] = [];
  readonly session: RtmpSession;
  destroyed = false;
  private out = Buffer.alloc(0);
  private readonly replies = new ChunkStreamParser();
  private readonly enc = new ChunkStreamEncoder();

  constructor(
    onPublish: (req: PublishRequest) => Promise<PublishSink>,
    extra: Partial<RtmpSessionOptions> = {},
  ) {
    const logger = pino({ level: 'debug' }, { write: (s: string) => void this.logLines.push(s) });
    this.session = new RtmpSession({
      transport: {
        remoteAddress: '192.0.2.7',
        write: (b) => {
          this.out = Buffer.concat([this.out, b]);
        },
        destroy: () => {
          this.destroyed = true;
        },
      },
      onPublish: (req) => {
        this.requests.push(req);
        return onPublish(req);
      },
      apps: ['live'],
      maxMessageBytes: 1 << 20,
      handshakeTimeoutMs: 5000,
      refuseCloseDelayMs: 10,
      logger,
      ...extra,
    });
  }

  handshake(): void {
    this.session.onData(Buffer.concat([Buffer.from([3]), Buffer.alloc(HANDSHAKE_SIZE, 1)]));
    this.session.onData(Buffer.alloc(HANDSHAKE_SIZE, 2));
    assert.equal(this.out.length, 1 + 2 * HANDSHAKE_SIZE);
    this.out = Buffer.alloc(0);
  }

  send(typeId: number, streamId: number, payload: Buffer, timestamp = 0, csid = 3): void {
    this.session.onData(this.enc.encode({ csid, typeId, streamId, timestamp, payload }));
  }

  command(streamId: number, ...values: AmfValue[]): void {
    this.send(20, streamId, encodeAmf0(...values));
  }

  /** Messages the server wrote since the last call. */
  read(): RtmpMessage[] {
    const msgs = this.replies.push(this.out);
    this.out = Buffer.alloc(0);
    return msgs;
  }

  readCommands(): AmfValue[][] {
    return this.read()
      .filter((m) => m.typeId === 20)
      .map((m) => decodeAmf0All(m.payload));
  }

  /** connect + releaseStream + FCPublish + createStream + publish, as ffmpeg sends them. */
  async publish(name: string, app = 'live'): Promise<AmfValue[][]> {
    this.handshake();
    this.command(0, 'connect', 1, { app, type: 'nonprivate', tcUrl: `rtmp://h/${app}` });
    this.command(0, 'releaseStream', 2, null, name);
    this.command(0, 'FCPublish', 3, null, name);
    this.command(0, 'createStream', 4, null);
    this.command(1, 'publish', 5, null, name, 'live');
    await sleep(5);
    return this.readCommands();
  }

  logs(): string {
    return this.logLines.join('');
  }
}

const statusOf = (cmds: AmfValue[][]): Array<Record<string, AmfValue>> =>
  cmds.filter((c) => c[0] === 'onStatus').map((c) => c[3] as Record<string, AmfValue>);

let harnesses: Harness[] = [];
function harness(...args: ConstructorParameters<typeof Harness>): Harness {
  const h = new Harness(...args);
  harnesses.push(h);
  return h;
}
afterEach(() => {
  for (const h of harnesses) h.session.close('test end');
  harnesses = [];
});

void describe('RtmpSession', () => {
  void it('runs the publish command sequence and forwards metadata, audio and video', async () => {
    const sink = new FakeSink();
    const h = harness(() => Promise.resolve(sink));
    h.handshake();
    h.command(0, 'connect', 1, { app: 'live', objectEncoding: 0 });
    const connectReplies = h.read();
    assert.deepEqual(
      connectReplies.map((m) => m.typeId),
      [5, 6, 1, 20],
    );
    assert.equal(connectReplies[2]!.payload.readUInt32BE(0), 4096);
    const result = decodeAmf0All(connectReplies[3]!.payload);
    assert.equal(result[0], '_result');
    assert.equal(result[1], 1);
    assert.equal((result[3] as Record<string, AmfValue>).code, 'NetConnection.Connect.Success');

    h.command(0, 'releaseStream', 2, null, KEY);
    h.command(0, 'FCPublish', 3, null, KEY);
    h.command(0, 'createStream', 4, null);
    const cmds = h.readCommands();
    assert.deepEqual(cmds[0], ['_result', 2, null, undefined]);
    assert.equal(cmds[1]![0], 'onFCPublish');
    assert.deepEqual(cmds.at(-1), ['_result', 4, null, 1]);

    // Media before the publish is accepted is dropped.
    h.send(9, 1, Buffer.from([0x17, 0]), 0, 6);
    h.command(1, 'publish', 5, null, KEY, 'live');
    await sleep(5);
    assert.deepEqual(h.requests, [{ app: 'live', publishName: KEY, remoteAddress: '192.0.2.7' }]);
    const started = h.read();
    const streamBegin = started.find((m) => m.typeId === 4)!;
    assert.equal(streamBegin.payload.readUInt16BE(0), 0);
    assert.equal(streamBegin.payload.readUInt32BE(2), 1);
    const status = statusOf(started.filter((m) => m.typeId === 20).map((m) => decodeAmf0All(m.payload)));
    assert.deepEqual(status, [
      { level: 'status', code: 'NetStream.Publish.Start', description: 'Publishing' },
    ]);

    const meta = new AmfEcmaArray({ width: 320, height: 240 });
    h.send(18, 1, encodeAmf0('@setDataFrame', 'onMetaData', meta), 0, 4);
    h.send(9, 1, Buffer.from([0x17, 0, 0, 0, 0, 1, 2]), 0, 6);
    h.send(8, 1, Buffer.from([0xaf, 0, 0x11, 0x90]), 0, 4);
    h.send(9, 1, Buffer.from([0x27, 1, 0, 0, 0]), 33, 6);
    h.send(9, 2, Buffer.from([0x27, 1]), 66, 6); // other stream id: not ours
    assert.deepEqual(
      sink.tags.map((t) => [t.type, t.timestamp]),
      [
        [18, 0],
        [9, 0],
        [8, 0],
        [9, 33],
      ],
    );
    assert.ok(sink.tags[0]!.data.equals(encodeAmf0('onMetaData', meta)));
    assert.ok(sink.tags[1]!.data.equals(Buffer.from([0x17, 0, 0, 0, 0, 1, 2])));
    assert.ok(sink.tags.every((t) => Math.abs(t.receivedAt - Date.now()) < 1000));

    h.command(0, 'FCUnpublish', 6, null, KEY);
    h.command(1, 'deleteStream', 7, null, 1);
    h.session.close('disconnected');
    assert.deepEqual(sink.closes, ['unpublished']);
    assert.ok(!h.logs().includes(KEY), 'stream key must not be logged');
  });

  void it('closes the sink once with "disconnected" when the connection drops', async () => {
    const sink = new FakeSink();
    const h = harness(() => Promise.resolve(sink));
    await h.publish(KEY);
    h.session.close('disconnected');
    h.session.close('again');
    assert.deepEqual(sink.closes, ['disconnected']);
    assert.ok(h.destroyed);
  });

  for (const [code, description] of [
    ['BAD_STREAM_KEY', 'Invalid stream key'],
    ['STREAM_ALREADY_LIVE', 'Stream already publishing'],
  ] as const) {
    void it(`refuses with NetStream.Publish.BadName "${description}" on ${code}, logging the code but not the key`, async () => {
      const h = harness(() => Promise.reject(new TiercastError(code, 'refused', { stream: KEY })));
      const cmds = await h.publish(KEY);
      assert.deepEqual(statusOf(cmds), [{ level: 'error', code: 'NetStream.Publish.BadName', description }]);
      assert.equal(h.destroyed, false, 'closes after a delay so the client can read the status');
      await sleep(30);
      assert.equal(h.destroyed, true);
      assert.match(h.logs(), new RegExp(`"code":"${code}"`));
      assert.ok(!h.logs().includes(KEY), 'stream key must not be logged');
    });
  }

  void it('scrubs the key from an unexpected onPublish failure', async () => {
    const h = harness(() => Promise.reject(new Error(`db lookup failed for ${KEY}`)));
    const cmds = await h.publish(KEY);
    assert.equal(statusOf(cmds)[0]!.level, 'error');
    assert.match(h.logs(), /db lookup failed for \[redacted\]/);
    assert.ok(!h.logs().includes(KEY));
  });

  void it('closes a sink that is accepted after the publisher left', async () => {
    const sink = new FakeSink();
    let accept!: (s: PublishSink) => void;
    const h = harness(() => new Promise<PublishSink>((resolve) => (accept = resolve)));
    await h.publish(KEY);
    h.session.close('disconnected');
    accept(sink);
    await sleep(1);
    assert.deepEqual(sink.closes, ['disconnected']);
  });

  void it('rejects connect to an unknown app', async () => {
    const h = harness(() => Promise.resolve(new FakeSink()));
    h.handshake();
    h.command(0, 'connect', 1, { app: 'admin' });
    const [reply] = h.readCommands();
    assert.equal(reply![0], '_error');
    assert.equal((reply![3] as Record<string, AmfValue>).code, 'NetConnection.Connect.Rejected');
    await sleep(30);
    assert.ok(h.destroyed);
  });

  void it('accepts "live/" and "live?token" as the app live', async () => {
    for (const app of ['live/', 'live?x=1']) {
      const sink = new FakeSink();
      const h = harness(() => Promise.resolve(sink));
      await h.publish(KEY, app);
      assert.equal(h.requests[0]!.app, 'live');
    }
  });

  void it('answers ping requests, acknowledges per window, and ignores unknown commands', () => {
    const h = harness(() => Promise.resolve(new FakeSink()));
    h.handshake();
    h.command(0, 'connect', 1, { app: 'live' });
    h.read();
    h.send(4, 0, Buffer.from([0, 6, 0, 0, 0x12, 0x34]), 0, 2);
    const [pong] = h.read();
    assert.equal(pong!.typeId, 4);
    assert.equal(pong!.payload.toString('hex'), '00070000' + '1234');

    h.command(0, '_checkbw', 9, null);
    assert.equal(h.destroyed, false);

    h.send(5, 0, Buffer.from([0, 0, 0x10, 0]), 0, 2); // window 4096
    h.send(9, 0, Buffer.alloc(5000), 0, 6);
    const ack = h.read().find((m) => m.typeId === 3);
    assert.ok(ack, 'an acknowledgement after the window is exceeded');
    assert.ok(ack.payload.readUInt32BE(0) > 4096);
  });

  void it('keeps delivering when the sink throws', async () => {
    const sink = new FakeSink();
    sink.throwOnTag = true;
    const h = harness(() => Promise.resolve(sink));
    await h.publish(KEY);
    h.send(9, 1, Buffer.from([0x17, 0]), 0, 6);
    h.send(9, 1, Buffer.from([0x27, 1]), 40, 6);
    assert.equal(sink.tags.length, 2);
    assert.equal(h.destroyed, false);
    assert.equal(h.logs().match(/onTag threw/g)?.length, 1);
  });

  void it('closes on garbage with a warning naming the code', () => {
    const h = harness(() => Promise.resolve(new FakeSink()));
    h.session.onData(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    assert.ok(h.destroyed);
    assert.match(h.logs(), /"level":40.*"code":"RTMP_HANDSHAKE_FAILED"/);
  });

  void it('closes on malformed AMF in a command after the handshake', () => {
    const h = harness(() => Promise.resolve(new FakeSink()));
    h.handshake();
    h.send(20, 0, Buffer.from([0x02, 0x00, 0x10, 0x61]));
    assert.ok(h.destroyed);
    assert.match(h.logs(), /"code":"RTMP_PROTOCOL_ERROR"/);
  });

  void it('times out a connection that never completes the handshake', async () => {
    const h = harness(() => Promise.resolve(new FakeSink()), { handshakeTimeoutMs: 20 });
    h.session.onData(Buffer.from([3, 0, 0]));
    await sleep(40);
    assert.ok(h.destroyed);
    assert.ok(h.session.isClosed);
  });
});
