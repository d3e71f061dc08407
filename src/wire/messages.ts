// memberlist message bodies <-> typed objects (spec §3, §4).
//
// Every body is a msgpack map keyed by the Go field name. We build plain
// objects keyed that way and let the msgpack writer sort the keys, so the
// output matches go-msgpack byte for byte. Decoding follows the Go decoder:
// unknown keys are skipped, missing keys keep their zero value, nil reads as
// the zero value, and a value of the wrong kind is an error.

import { DecodeError } from '../errors.js';
import type {
  Ack,
  Alive,
  Compress,
  Dead,
  ErrResp,
  IndirectPing,
  Nack,
  PacketMessage,
  Ping,
  PushNodeState,
  PushPullHeader,
  Suspect,
  User,
} from './types.js';
import { MessageType } from './types.js';
import { MsgpackReader, encodeMsgpack, utf8Decode } from './msgpack.js';
import type { EncodableValue } from './msgpack.js';

/** Messages `encodeMessage` can produce (containers and stream-only frames have their own encoders). */
export type EncodableMessage = Ping | IndirectPing | Ack | Nack | Suspect | Alive | Dead | User | ErrResp;

const U8 = 0xff;
const U16 = 0xffff;
const U32 = 0xffffffff;
/** Go `int` fields (counts, lengths, State): we only accept what JS can represent exactly. */
const INT = Number.MAX_SAFE_INTEGER;

function checkUint(field: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(`${field} must be an integer in 0..${max}, got ${v}`);
  }
  return v;
}

/** Go reads Vsn[0..5] whenever it is non-empty, so anything but 0 or 6 bytes can crash a Go peer. */
function checkVsn(vsn: Uint8Array | null): Uint8Array | null {
  if (vsn !== null && vsn.length !== 0 && vsn.length !== 6) {
    throw new RangeError(`Vsn must be empty or exactly 6 bytes, got ${vsn.length}`);
  }
  return vsn;
}

function withType(type: number, body: EncodableValue): Uint8Array {
  const encoded = encodeMsgpack(body);
  const out = new Uint8Array(encoded.length + 1);
  out[0] = type;
  out.set(encoded, 1);
  return out;
}

/** omitempty for the Source* fields: empty or nil means "leave the key out". */
function omitEmptyBytes(b: Uint8Array | null | undefined): Uint8Array | undefined {
  return b && b.length > 0 ? b : undefined;
}

function sourceFields(msg: Ping | IndirectPing): Record<string, EncodableValue | undefined> {
  return {
    SourceAddr: omitEmptyBytes(msg.sourceAddr),
    SourceNode: msg.sourceNode ? msg.sourceNode : undefined,
    SourcePort: msg.sourcePort ? checkUint('sourcePort', msg.sourcePort, U16) : undefined,
  };
}

/** Type byte + body for one message, byte-identical to what memberlist 0.2.2 sends. */
export function encodeMessage(msg: EncodableMessage): Uint8Array {
  switch (msg.type) {
    case 'ping':
      return withType(MessageType.ping, {
        Node: msg.node,
        SeqNo: checkUint('seqNo', msg.seqNo, U32),
        ...sourceFields(msg),
      });
    case 'indirectPing':
      return withType(MessageType.indirectPing, {
        Nack: msg.nack,
        Node: msg.node,
        Port: checkUint('port', msg.port, U16),
        SeqNo: checkUint('seqNo', msg.seqNo, U32),
        Target: msg.target,
        ...sourceFields(msg),
      });
    case 'ack':
      return withType(MessageType.ack, { Payload: msg.payload, SeqNo: checkUint('seqNo', msg.seqNo, U32) });
    case 'nack':
      return withType(MessageType.nack, { SeqNo: checkUint('seqNo', msg.seqNo, U32) });
    case 'suspect':
    case 'dead':
      return withType(msg.type === 'suspect' ? MessageType.suspect : MessageType.dead, {
        From: msg.from,
        Incarnation: checkUint('incarnation', msg.incarnation, U32),
        Node: msg.node,
      });
    case 'alive':
      return withType(MessageType.alive, {
        Addr: msg.addr,
        Incarnation: checkUint('incarnation', msg.incarnation, U32),
        Meta: msg.meta,
        Node: msg.node,
        Port: checkUint('port', msg.port, U16),
        Vsn: checkVsn(msg.vsn),
      });
    case 'user': {
      // User messages are opaque delegate bytes behind the type byte: no msgpack, no length.
      const out = new Uint8Array(msg.payload.length + 1);
      out[0] = MessageType.user;
      out.set(msg.payload, 1);
      return out;
    }
    case 'err':
      return withType(MessageType.err, { Error: msg.error });
    default: {
      const never: never = msg;
      throw new TypeError(`cannot encode message ${(never as { type: string }).type}`);
    }
  }
}

// ---------------------------------------------------------------------------
// Decoding

type FieldReaders = Record<string, (r: MsgpackReader) => void>;

/** Walks one msgpack map, dispatching known keys and skipping the rest (Go ignores unknown keys). */
function readStruct(r: MsgpackReader, what: string, fields: FieldReaders): void {
  const start = r.pos;
  let n: number;
  try {
    n = r.readMapHeader();
  } catch (e) {
    if (e instanceof DecodeError && e.reason === 'malformed') {
      throw new DecodeError('malformed', `${what}: body at offset ${start} is not a map`);
    }
    throw e;
  }
  for (let i = 0; i < n; i++) {
    const keyAt = r.pos;
    const key = r.readBytes();
    if (key === null) throw new DecodeError('malformed', `${what}: nil map key at offset ${keyAt}`);
    const name = utf8Decode(key);
    const read = Object.hasOwn(fields, name) ? fields[name] : undefined;
    if (read) {
      try {
        read(r);
      } catch (e) {
        if (e instanceof DecodeError && e.reason === 'malformed') {
          throw new DecodeError('malformed', `${what}.${name}: ${e.message}`);
        }
        throw e;
      }
    } else {
      r.skip(1);
    }
  }
}

function readPing(r: MsgpackReader): Ping {
  const m: Ping = { type: 'ping', seqNo: 0, node: '', sourceAddr: null, sourcePort: 0, sourceNode: '' };
  readStruct(r, 'ping', {
    SeqNo: (x) => (m.seqNo = x.readUint(U32)),
    Node: (x) => (m.node = x.readString()),
    SourceAddr: (x) => (m.sourceAddr = x.readBytes()),
    SourcePort: (x) => (m.sourcePort = x.readUint(U16)),
    SourceNode: (x) => (m.sourceNode = x.readString()),
  });
  return m;
}

function readIndirectPing(r: MsgpackReader): IndirectPing {
  const m: IndirectPing = {
    type: 'indirectPing',
    seqNo: 0,
    target: null,
    port: 0,
    node: '',
    nack: false,
    sourceAddr: null,
    sourcePort: 0,
    sourceNode: '',
  };
  readStruct(r, 'indirectPing', {
    SeqNo: (x) => (m.seqNo = x.readUint(U32)),
    Target: (x) => (m.target = x.readBytes()),
    Port: (x) => (m.port = x.readUint(U16)),
    Node: (x) => (m.node = x.readString()),
    Nack: (x) => (m.nack = x.readBool()),
    SourceAddr: (x) => (m.sourceAddr = x.readBytes()),
    SourcePort: (x) => (m.sourcePort = x.readUint(U16)),
    SourceNode: (x) => (m.sourceNode = x.readString()),
  });
  return m;
}

function readAck(r: MsgpackReader): Ack {
  const m: Ack = { type: 'ack', seqNo: 0, payload: null };
  readStruct(r, 'ack', {
    SeqNo: (x) => (m.seqNo = x.readUint(U32)),
    Payload: (x) => (m.payload = x.readBytes()),
  });
  return m;
}

function readNack(r: MsgpackReader): Nack {
  const m: Nack = { type: 'nack', seqNo: 0 };
  readStruct(r, 'nack', { SeqNo: (x) => (m.seqNo = x.readUint(U32)) });
  return m;
}

function readAccusation(r: MsgpackReader, type: 'suspect' | 'dead'): Suspect | Dead {
  const m = { type, incarnation: 0, node: '', from: '' } as Suspect | Dead;
  readStruct(r, type, {
    Incarnation: (x) => (m.incarnation = x.readUint(U32)),
    Node: (x) => (m.node = x.readString()),
    From: (x) => (m.from = x.readString()),
  });
  return m;
}

function readAlive(r: MsgpackReader): Alive {
  const m: Alive = { type: 'alive', incarnation: 0, node: '', addr: null, port: 0, meta: null, vsn: null };
  readStruct(r, 'alive', {
    Incarnation: (x) => (m.incarnation = x.readUint(U32)),
    Node: (x) => (m.node = x.readString()),
    Addr: (x) => (m.addr = x.readBytes()),
    Port: (x) => (m.port = x.readUint(U16)),
    Meta: (x) => (m.meta = x.readBytes()),
    Vsn: (x) => (m.vsn = x.readBytes()),
  });
  return m;
}

function readErrResp(r: MsgpackReader): ErrResp {
  const m: ErrResp = { type: 'err', error: '' };
  readStruct(r, 'errResp', { Error: (x) => (m.error = x.readString()) });
  return m;
}

/**
 * Reads the msgpack body of a message whose type byte was already consumed.
 * Shared by the packet path and the stream path (which needs the reader
 * position afterwards). Throws DecodeError('unknown_type') for anything that
 * is not a plain msgpack message.
 */
export function readMessageBody(type: number, r: MsgpackReader): Exclude<PacketMessage, User> | ErrResp {
  switch (type) {
    case MessageType.ping:
      return readPing(r);
    case MessageType.indirectPing:
      return readIndirectPing(r);
    case MessageType.ack:
      return readAck(r);
    case MessageType.nack:
      return readNack(r);
    case MessageType.suspect:
      return readAccusation(r, 'suspect');
    case MessageType.dead:
      return readAccusation(r, 'dead');
    case MessageType.alive:
      return readAlive(r);
    case MessageType.err:
      return readErrResp(r);
    default:
      throw new DecodeError('unknown_type', `message type ${type} has no msgpack body of its own`);
  }
}

/**
 * Decodes one complete, unwrapped packet message (type byte + body). Container
 * types (compound 7, compress 9) and stream-only types (6, 10, 12, 13) are
 * reported as unknown_type; use decodePacket / tryDecodeStream for those.
 * Bytes after the body are ignored, as Go's decoder ignores them.
 */
export function decodeMessage(buf: Uint8Array): PacketMessage {
  if (buf.length === 0) throw new DecodeError('malformed', 'empty message');
  const type = buf[0] as number;
  // Copy: the caller's datagram buffer may be reused.
  if (type === MessageType.user) return { type: 'user', payload: new Uint8Array(buf.subarray(1)) };
  if (type === MessageType.err) throw new DecodeError('unknown_type', 'err (13) is only valid on a stream');
  const msg = readMessageBody(type, new MsgpackReader(buf, 1));
  return msg as PacketMessage;
}

// ---------------------------------------------------------------------------
// Stream-only structures and the compress body

export function encodePushPullHeader(h: PushPullHeader): Uint8Array {
  return encodeMsgpack({
    Join: h.join,
    Nodes: checkUint('nodes', h.nodes, INT),
    UserStateLen: checkUint('userStateLen', h.userStateLen, INT),
  });
}

export function readPushPullHeader(r: MsgpackReader): PushPullHeader {
  const h: PushPullHeader = { nodes: 0, userStateLen: 0, join: false };
  readStruct(r, 'pushPullHeader', {
    Nodes: (x) => (h.nodes = x.readUint(INT)),
    UserStateLen: (x) => (h.userStateLen = x.readUint(INT)),
    Join: (x) => (h.join = x.readBool()),
  });
  return h;
}

export function decodePushPullHeader(buf: Uint8Array): PushPullHeader {
  return readPushPullHeader(new MsgpackReader(buf));
}

export function encodePushNodeState(s: PushNodeState): Uint8Array {
  return encodeMsgpack({
    Addr: s.addr,
    Incarnation: checkUint('incarnation', s.incarnation, U32),
    Meta: s.meta,
    Name: s.name,
    Port: checkUint('port', s.port, U16),
    State: checkUint('state', s.state, INT),
    Vsn: checkVsn(s.vsn),
  });
}

export function readPushNodeState(r: MsgpackReader): PushNodeState {
  const s: PushNodeState = { name: '', addr: null, port: 0, meta: null, incarnation: 0, state: 0, vsn: null };
  readStruct(r, 'pushNodeState', {
    Name: (x) => (s.name = x.readString()),
    Addr: (x) => (s.addr = x.readBytes()),
    Port: (x) => (s.port = x.readUint(U16)),
    Meta: (x) => (s.meta = x.readBytes()),
    Incarnation: (x) => (s.incarnation = x.readUint(U32)),
    State: (x) => (s.state = x.readUint(INT)),
    Vsn: (x) => (s.vsn = x.readBytes()),
  });
  return s;
}

export function decodePushNodeState(buf: Uint8Array): PushNodeState {
  return readPushNodeState(new MsgpackReader(buf));
}

export function encodeUserMsgHeader(userMsgLen: number): Uint8Array {
  return encodeMsgpack({ UserMsgLen: checkUint('userMsgLen', userMsgLen, INT) });
}

export function readUserMsgHeader(r: MsgpackReader): number {
  let len = 0;
  readStruct(r, 'userMsgHeader', { UserMsgLen: (x) => (len = x.readUint(INT)) });
  return len;
}

export function decodeUserMsgHeader(buf: Uint8Array): number {
  return readUserMsgHeader(new MsgpackReader(buf));
}

/** The msgpack `compress` struct (without the 0x09 type byte). */
export function encodeCompressBody(c: { algo: number; buf: Uint8Array }): Uint8Array {
  return encodeMsgpack({ Algo: checkUint('algo', c.algo, U8), Buf: c.buf });
}

export function readCompressBody(r: MsgpackReader): Compress {
  const c: Compress = { type: 'compress', algo: 0, buf: new Uint8Array(0) };
  readStruct(r, 'compress', {
    Algo: (x) => (c.algo = x.readUint(U8)),
    Buf: (x) => (c.buf = x.readBytes() ?? new Uint8Array(0)),
  });
  return c;
}

export function decodeCompressBody(buf: Uint8Array): Compress {
  return readCompressBody(new MsgpackReader(buf));
}
