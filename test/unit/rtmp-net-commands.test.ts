import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AmfEcmaArray, decodeAmf0All, encodeAmf0 } from '../../src/ingress/rtmp/amf0.js';
import {
  connectAcceptedMessages,
  connectFourCcList,
  connectApp,
  onStatusMessage,
  parseCommand,
  scriptDataBody,
} from '../../src/ingress/rtmp/net-commands.js';

void describe('net-commands', () => {
  void it('parses a publish command', () => {
    const cmd = parseCommand(encodeAmf0('publish', 5, null, 'key', 'live'));
    assert.deepEqual(cmd, { name: 'publish', txn: 5, commandObject: null, args: ['key', 'live'] });
    assert.equal(parseCommand(encodeAmf0(1, 2)), undefined);
  });

  void it('reads the app from connect, ignoring a trailing slash and a query', () => {
    assert.equal(connectApp({ app: 'live' }), 'live');
    assert.equal(connectApp({ app: 'live/' }), 'live');
    assert.equal(connectApp({ app: 'live?token=abc' }), 'live');
    assert.equal(connectApp({ app: 42 }), '');
    assert.equal(connectApp(null), '');
  });

  void it('strips @setDataFrame and keeps the script data bytes verbatim', () => {
    const meta = encodeAmf0('onMetaData', new AmfEcmaArray({ width: 1280, framerate: 30 }));
    const body = Buffer.concat([encodeAmf0('@setDataFrame'), meta]);
    assert.ok(scriptDataBody(body)!.equals(meta));
    assert.ok(scriptDataBody(meta)!.equals(meta), 'bare onMetaData passes through');
    assert.equal(scriptDataBody(encodeAmf0('|RtmpSampleAccess', false, false)), undefined);
    assert.equal(scriptDataBody(encodeAmf0('@setDataFrame')), undefined);
    assert.equal(scriptDataBody(Buffer.alloc(0)), undefined);
  });

  void it('builds the connect reply: window, peer bandwidth, chunk size, then _result', () => {
    const msgs = connectAcceptedMessages(1, 2_500_000, 4096);
    assert.deepEqual(
      msgs.map((m) => [m.csid, m.typeId, m.streamId]),
      [
        [2, 5, 0],
        [2, 6, 0],
        [2, 1, 0],
        [3, 20, 0],
      ],
    );
    assert.equal(msgs[0]!.payload.toString('hex'), '002625a0');
    assert.equal(msgs[1]!.payload.toString('hex'), '002625a002');
    assert.equal(msgs[2]!.payload.toString('hex'), '00001000');
    const [name, txn, props, info] = decodeAmf0All(msgs[3]!.payload);
    assert.equal(name, '_result');
    assert.equal(txn, 1);
    assert.deepEqual(props, { fmsVer: 'FMS/3,0,1,123', capabilities: 31 });
    assert.equal((info as Record<string, unknown>).code, 'NetConnection.Connect.Success');
  });

  void it("Enhanced RTMP: reads the client's fourCcList and answers its own only to a client that sent one", () => {
    assert.deepEqual(connectFourCcList({ app: 'live', fourCcList: ['av01', 'vp09', 'hvc1', 7] }), [
      'av01',
      'vp09',
      'hvc1',
    ]);
    assert.equal(connectFourCcList({ app: 'live' }), undefined);
    assert.equal(connectFourCcList(null), undefined);
    const reply = connectAcceptedMessages(1, 2_500_000, 4096, ['hvc1', 'Opus']);
    const [, , props] = decodeAmf0All(reply[3]!.payload);
    assert.deepEqual(props, { fmsVer: 'FMS/3,0,1,123', capabilities: 31, fourCcList: ['hvc1', 'Opus'] });
  });

  void it('sends onStatus on the publishing stream id', () => {
    const m = onStatusMessage(1, 'error', 'NetStream.Publish.BadName', 'Invalid stream key');
    assert.equal(m.streamId, 1);
    assert.deepEqual(decodeAmf0All(m.payload), [
      'onStatus',
      0,
      null,
      { level: 'error', code: 'NetStream.Publish.BadName', description: 'Invalid stream key' },
    ]);
  });
});
