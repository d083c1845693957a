/**
 * The NetConnection / NetStream layer of RTMP, as pure functions: parsing AMF0 command and data
 * messages, and building the messages the server sends back. No state; rtmp-session.ts decides
 * when to send what.
 */
import { decodeAmf0, decodeAmf0All, encodeAmf0, isAmfObject } from './amf0.js';
import type { AmfValue } from './amf0.js';
import type { OutgoingMessage, RtmpMessage } from './chunk-stream.js';
import {
  Csid,
  MessageType,
  PeerBandwidthLimit,
  UserControlEvent,
  setChunkSizeBody,
  setPeerBandwidthBody,
  splitAggregate,
  userControlBody,
  windowAckSizeBody,
} from './protocol-messages.js';

export interface Command {
  name: string;
  /** Transaction id; 0 when the client expects no reply. */
  txn: number;
  /** The command object (null for most commands after connect). */
  commandObject: AmfValue;
  /** Arguments after the command object, e.g. [publishName, publishType] for publish. */
  args: AmfValue[];
}

/** Decodes a command message body; undefined if it does not start with a name. Malformed AMF0 throws. */
export function parseCommand(body: Buffer): Command | undefined {
  const [name, txn, commandObject, ...args] = decodeAmf0All(body);
  if (typeof name !== 'string') return undefined;
  return { name, txn: typeof txn === 'number' ? txn : 0, commandObject, args };
}

/** The application a `connect` asks for: "live/" and "live?token=…" both select "live". */
export function connectApp(commandObject: AmfValue): string {
  const raw = isAmfObject(commandObject) && typeof commandObject.app === 'string' ? commandObject.app : '';
  return raw.split('?')[0]!.replace(/\/+$/, '');
}

/**
 * The FLV script tag body carried by a data message, or undefined if it carries none.
 * `@setDataFrame` (what ffmpeg and OBS send) asks the server to store the rest ("onMetaData", {…}),
 * which is exactly an FLV script data body: it is sliced out, not re-encoded. A bare onMetaData is
 * passed through.
 */
export function scriptDataBody(body: Buffer): Buffer | undefined {
  if (body.length === 0) return undefined;
  const first = decodeAmf0(body, 0);
  if (first.value === 'onMetaData') return body;
  if (first.value !== '@setDataFrame' || first.offset >= body.length) return undefined;
  const rest = body.subarray(first.offset);
  return typeof decodeAmf0(rest, 0).value === 'string' ? rest : undefined;
}

/**
 * The FLV tags a data, audio, video or aggregate message carries (metadata only for data messages;
 * other script data such as cue points is dropped). Empty bodies are dropped too.
 */
export function mediaTags(msg: RtmpMessage): Array<{ type: 8 | 9 | 18; timestamp: number; data: Buffer }> {
  const out: Array<{ type: 8 | 9 | 18; timestamp: number; data: Buffer }> = [];
  const add = (typeId: number, timestamp: number, data: Buffer): void => {
    if (typeId === MessageType.AUDIO || typeId === MessageType.VIDEO) {
      if (data.length > 0) out.push({ type: typeId, timestamp, data });
    } else if (typeId === MessageType.DATA_AMF0 || typeId === MessageType.DATA_AMF3) {
      const script = scriptDataBody(typeId === MessageType.DATA_AMF3 ? data.subarray(1) : data);
      if (script && script.length > 0) out.push({ type: 18, timestamp, data: script });
    }
  };
  if (msg.typeId === MessageType.AGGREGATE) {
    for (const part of splitAggregate(msg.payload, msg.timestamp))
      add(part.typeId, part.timestamp, part.data);
  } else {
    add(msg.typeId, msg.timestamp, msg.payload);
  }
  return out;
}

export function commandMessage(csid: number, streamId: number, ...values: AmfValue[]): OutgoingMessage {
  return { csid, typeId: MessageType.COMMAND_AMF0, streamId, timestamp: 0, payload: encodeAmf0(...values) };
}

export function controlMessage(typeId: number, payload: Buffer): OutgoingMessage {
  return { csid: Csid.PROTOCOL_CONTROL, typeId, streamId: 0, timestamp: 0, payload };
}

export function userControlMessage(event: number, value: number): OutgoingMessage {
  return controlMessage(MessageType.USER_CONTROL, userControlBody(event, value));
}

/**
 * The Enhanced RTMP codec list a client announces in `connect` (`fourCcList`, e.g. OBS 30+ sends
 * ["av01", "vp09", "hvc1"]); undefined when it announces none (a legacy client).
 */
export function connectFourCcList(commandObject: AmfValue): string[] | undefined {
  if (!isAmfObject(commandObject)) return undefined;
  const list = commandObject.fourCcList;
  if (!Array.isArray(list)) return undefined;
  return list.filter((v): v is string => typeof v === 'string').map((v) => v.slice(0, 8));
}

/**
 * The reply to an accepted connect, in the order FMS sends it. `fourCcList`: the Enhanced RTMP codecs
 * the server takes, answered (in the properties object) only to a client that announced its own.
 */
export function connectAcceptedMessages(
  txn: number,
  windowAckSize: number,
  chunkSize: number,
  fourCcList?: readonly string[],
): OutgoingMessage[] {
  return [
    controlMessage(MessageType.WINDOW_ACK_SIZE, windowAckSizeBody(windowAckSize)),
    controlMessage(
      MessageType.SET_PEER_BANDWIDTH,
      setPeerBandwidthBody(windowAckSize, PeerBandwidthLimit.DYNAMIC),
    ),
    controlMessage(MessageType.SET_CHUNK_SIZE, setChunkSizeBody(chunkSize)),
    commandMessage(
      Csid.COMMAND,
      0,
      '_result',
      txn,
      { fmsVer: 'FMS/3,0,1,123', capabilities: 31, ...(fourCcList ? { fourCcList: [...fourCcList] } : {}) },
      // objectEncoding 0: we speak AMF0 only, whatever the client offered.
      {
        level: 'status',
        code: 'NetConnection.Connect.Success',
        description: 'Connection succeeded.',
        objectEncoding: 0,
      },
    ),
  ];
}

export function connectRejectedMessage(txn: number): OutgoingMessage {
  return commandMessage(Csid.COMMAND, 0, '_error', txn, null, {
    level: 'error',
    code: 'NetConnection.Connect.Rejected',
    description: 'Application not found',
  });
}

/** `_result` with one value, the reply to releaseStream, FCPublish (undefined) and createStream (stream id). */
export function resultMessage(txn: number, value: AmfValue): OutgoingMessage {
  return commandMessage(Csid.COMMAND, 0, '_result', txn, null, value);
}

export function onFCPublishMessage(): OutgoingMessage {
  return commandMessage(Csid.COMMAND, 0, 'onFCPublish', 0, null, {
    code: 'NetStream.Publish.Start',
    description: 'FCPublish',
  });
}

/** NetStream onStatus. The description goes to the publisher's screen: never put the stream key in it. */
export function onStatusMessage(
  streamId: number,
  level: 'status' | 'error',
  code: string,
  description: string,
): OutgoingMessage {
  return commandMessage(Csid.STREAM_STATUS, streamId, 'onStatus', 0, null, { level, code, description });
}

/** StreamBegin then NetStream.Publish.Start. */
export function publishStartMessages(streamId: number): OutgoingMessage[] {
  return [
    userControlMessage(UserControlEvent.STREAM_BEGIN, streamId),
    onStatusMessage(streamId, 'status', 'NetStream.Publish.Start', 'Publishing'),
  ];
}
