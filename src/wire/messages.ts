// memberlist message bodies <-> typed objects (spec §3, §4).
//
// Every body is a msgpack map keyed by the Go field name, keys in byte-wise
// sorted order as go-msgpack writes them. The encoders write each struct's keys
// in that order directly (what encodeMsgpack of a plain object would produce,
// without building, sorting and re-encoding the object per message). Decoding
// follows the Go decoder: unknown keys are skipped, missing keys keep their zero
// value, nil reads as the zero value, and a value of the wrong kind is an error.

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
  PushPull,
  PushPullHeader,
  Suspect,
  User,
} from './types.js';
import { MessageType } from './types.js';
import { MsgpackReader, MsgpackWriter } from './msgpack.js';
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

/** omitempty for the Source* fields: empty or nil means "leave the key out". */
function omitEmptyBytes(b: Uint8Array | null | undefined): Uint8Array | undefined {
  return b && b.length > 0 ? b : undefined;
}

// ---------------------------------------------------------------------------
// Encoding

// One writer for every message: the codec is synchronous, and a writer per message
// (its buffer, the object of fields, the sorted entry list) was most of encoding.
let scratch = new MsgpackWriter(2048);
/** A writer that grew past this (a large push/pull) is let go instead of kept. */
const KEEP_SCRATCH = 64 * 1024;

function begin(type?: number): MsgpackWriter {
  scratch.reset();
  if (type !== undefined) scratch.writeByte(type);
  return scratch;
}

function done(w: MsgpackWriter): Uint8Array {
  const out = w.finish();
  if (out.length > KEEP_SCRATCH) scratch = new MsgpackWriter(2048);
  return out;
}

const keyBytes = (name: string): Uint8Array => new TextEncoder().encode(name);
const K = {
  Addr: keyBytes('Addr'),
  Algo: keyBytes('Algo'),
  Buf: keyBytes('Buf'),
  Error: keyBytes('Error'),
  From: keyBytes('From'),
  Incarnation: keyBytes('Incarnation'),
  Join: keyBytes('Join'),
  Meta: keyBytes('Meta'),
  Nack: keyBytes('Nack'),
  Name: keyBytes('Name'),
  Node: keyBytes('Node'),
  Nodes: keyBytes('Nodes'),
  Payload: keyBytes('Payload'),
  Port: keyBytes('Port'),
  SeqNo: keyBytes('SeqNo'),
  SourceAddr: keyBytes('SourceAddr'),
  SourceNode: keyBytes('SourceNode'),
  SourcePort: keyBytes('SourcePort'),
  State: keyBytes('State'),
  Target: keyBytes('Target'),
  UserMsgLen: keyBytes('UserMsgLen'),
  UserStateLen: keyBytes('UserStateLen'),
  Vsn: keyBytes('Vsn'),
};

/** 1 if the field goes on the wire: undefined fields are left out, as encodeMsgpack leaves them. */
const has = (v: unknown): number => (v === undefined ? 0 : 1);

/** One map entry; the caller writes entries in byte-wise key order. */
function put(w: MsgpackWriter, key: Uint8Array, v: EncodableValue | undefined): void {
  if (v === undefined) return;
  w.writeRaw(key);
  w.write(v);
}

// Each writer below evaluates its checks in the order the Go field list (and the
// object literal this replaced) names them, so the same bad field is reported.

function writePing(w: MsgpackWriter, msg: Ping): void {
  const seqNo = checkUint('seqNo', msg.seqNo, U32);
  const sourceAddr = omitEmptyBytes(msg.sourceAddr);
  const sourceNode = msg.sourceNode ? msg.sourceNode : undefined;
  const sourcePort = msg.sourcePort ? checkUint('sourcePort', msg.sourcePort, U16) : undefined;
  w.writeMapHeader(has(msg.node) + 1 + has(sourceAddr) + has(sourceNode) + has(sourcePort));
  put(w, K.Node, msg.node);
  put(w, K.SeqNo, seqNo);
  put(w, K.SourceAddr, sourceAddr);
  put(w, K.SourceNode, sourceNode);
  put(w, K.SourcePort, sourcePort);
}

function writeIndirectPing(w: MsgpackWriter, msg: IndirectPing): void {
  const port = checkUint('port', msg.port, U16);
  const seqNo = checkUint('seqNo', msg.seqNo, U32);
  const sourceAddr = omitEmptyBytes(msg.sourceAddr);
  const sourceNode = msg.sourceNode ? msg.sourceNode : undefined;
  const sourcePort = msg.sourcePort ? checkUint('sourcePort', msg.sourcePort, U16) : undefined;
  w.writeMapHeader(has(msg.nack) + has(msg.node) + 2 + has(sourceAddr) + has(sourceNode) + has(sourcePort) + has(msg.target));
  put(w, K.Nack, msg.nack);
  put(w, K.Node, msg.node);
  put(w, K.Port, port);
  put(w, K.SeqNo, seqNo);
  put(w, K.SourceAddr, sourceAddr);
  put(w, K.SourceNode, sourceNode);
  put(w, K.SourcePort, sourcePort);
  put(w, K.Target, msg.target);
}

function writeAccusation(w: MsgpackWriter, msg: Suspect | Dead): void {
  const incarnation = checkUint('incarnation', msg.incarnation, U32);
  w.writeMapHeader(has(msg.from) + 1 + has(msg.node));
  put(w, K.From, msg.from);
  put(w, K.Incarnation, incarnation);
  put(w, K.Node, msg.node);
}

function writeAlive(w: MsgpackWriter, msg: Alive): void {
  const incarnation = checkUint('incarnation', msg.incarnation, U32);
  const port = checkUint('port', msg.port, U16);
  const vsn = checkVsn(msg.vsn);
  w.writeMapHeader(has(msg.addr) + 1 + has(msg.meta) + has(msg.node) + 1 + has(vsn));
  put(w, K.Addr, msg.addr);
  put(w, K.Incarnation, incarnation);
  put(w, K.Meta, msg.meta);
  put(w, K.Node, msg.node);
  put(w, K.Port, port);
  put(w, K.Vsn, vsn);
}

/** Type byte + body for one message, byte-identical to what memberlist 0.2.2 sends. */
export function encodeMessage(msg: EncodableMessage): Uint8Array {
  switch (msg.type) {
    case 'ping': {
      // A check that throws leaves the scratch half written; the next begin() resets it.
      const w = begin(MessageType.ping);
      writePing(w, msg);
      return done(w);
    }
    case 'indirectPing': {
      const w = begin(MessageType.indirectPing);
      writeIndirectPing(w, msg);
      return done(w);
    }
    case 'ack': {
      const seqNo = checkUint('seqNo', msg.seqNo, U32);
      const w = begin(MessageType.ack);
      w.writeMapHeader(has(msg.payload) + 1);
      put(w, K.Payload, msg.payload);
      put(w, K.SeqNo, seqNo);
      return done(w);
    }
    case 'nack': {
      const seqNo = checkUint('seqNo', msg.seqNo, U32);
      const w = begin(MessageType.nack);
      w.writeMapHeader(1);
      put(w, K.SeqNo, seqNo);
      return done(w);
    }
    case 'suspect':
    case 'dead': {
      const w = begin(msg.type === 'suspect' ? MessageType.suspect : MessageType.dead);
      writeAccusation(w, msg);
      return done(w);
    }
    case 'alive': {
      const w = begin(MessageType.alive);
      writeAlive(w, msg);
      return done(w);
    }
    case 'user': {
      // User messages are opaque delegate bytes behind the type byte: no msgpack, no length.
      const out = new Uint8Array(msg.payload.length + 1);
      out[0] = MessageType.user;
      out.set(msg.payload, 1);
      return out;
    }
    case 'err': {
      const w = begin(MessageType.err);
      w.writeMapHeader(has(msg.error));
      put(w, K.Error, msg.error);
      return done(w);
    }
    default: {
      const never: never = msg;
      throw new TypeError(`cannot encode message ${(never as { type: string }).type}`);
    }
  }
}

// ---------------------------------------------------------------------------
// Decoding

/** A struct's Go field names, and their UTF-8 bytes for matching keys in place. */
interface Struct {
  what: string;
  names: readonly string[];
  keys: readonly Uint8Array[];
}

function struct(what: string, names: readonly string[]): Struct {
  return { what, names, keys: names.map(keyBytes) };
}

/** Reads one value into field `field` (an index into the struct's names) of `target`. */
type FieldReader<T> = (target: T, field: number, r: MsgpackReader) => void;

/**
 * Walks one msgpack map, dispatching known keys and skipping the rest (Go ignores
 * unknown keys). Keys are compared as bytes where they lie: the same match as
 * decoding each key to a string and looking it up, because the names are ASCII
 * and no other byte sequence decodes to them.
 */
function readStruct<T>(r: MsgpackReader, s: Struct, target: T, read: FieldReader<T>): T {
  const start = r.pos;
  let n: number;
  try {
    n = r.readMapHeader();
  } catch (e) {
    if (e instanceof DecodeError && e.reason === 'malformed') {
      throw new DecodeError('malformed', `${s.what}: body at offset ${start} is not a map`);
    }
    throw e;
  }
  const keys = s.keys;
  for (let i = 0; i < n; i++) {
    const keyAt = r.pos;
    const len = r.readRawHeader();
    if (len < 0) throw new DecodeError('malformed', `${s.what}: nil map key at offset ${keyAt}`);
    const buf = r.buf;
    const p = r.pos;
    r.pos = p + len;
    let field = -1;
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k] as Uint8Array;
      if (key.length !== len) continue;
      let j = 0;
      while (j < len && key[j] === buf[p + j]) j++;
      if (j === len) {
        field = k;
        break;
      }
    }
    if (field < 0) {
      r.skip(1);
      continue;
    }
    try {
      read(target, field, r);
    } catch (e) {
      if (e instanceof DecodeError && e.reason === 'malformed') {
        throw new DecodeError('malformed', `${s.what}.${s.names[field] as string}: ${e.message}`);
      }
      throw e;
    }
  }
  return target;
}

// Field indexes below follow the order of each struct's names.

const PING = struct('ping', ['SeqNo', 'Node', 'SourceAddr', 'SourcePort', 'SourceNode']);
const readPingField: FieldReader<Ping> = (m, f, x) => {
  if (f === 0) m.seqNo = x.readUint(U32);
  else if (f === 1) m.node = x.readString();
  else if (f === 2) m.sourceAddr = x.readBytes();
  else if (f === 3) m.sourcePort = x.readUint(U16);
  else m.sourceNode = x.readString();
};

function readPing(r: MsgpackReader): Ping {
  const m: Ping = { type: 'ping', seqNo: 0, node: '', sourceAddr: null, sourcePort: 0, sourceNode: '' };
  return readStruct(r, PING, m, readPingField);
}

const INDIRECT_PING = struct('indirectPing', ['SeqNo', 'Target', 'Port', 'Node', 'Nack', 'SourceAddr', 'SourcePort', 'SourceNode']);
const readIndirectPingField: FieldReader<IndirectPing> = (m, f, x) => {
  switch (f) {
    case 0:
      m.seqNo = x.readUint(U32);
      break;
    case 1:
      m.target = x.readBytes();
      break;
    case 2:
      m.port = x.readUint(U16);
      break;
    case 3:
      m.node = x.readString();
      break;
    case 4:
      m.nack = x.readBool();
      break;
    case 5:
      m.sourceAddr = x.readBytes();
      break;
    case 6:
      m.sourcePort = x.readUint(U16);
      break;
    default:
      m.sourceNode = x.readString();
  }
};

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
  return readStruct(r, INDIRECT_PING, m, readIndirectPingField);
}

const ACK = struct('ack', ['SeqNo', 'Payload']);
const readAckField: FieldReader<Ack> = (m, f, x) => {
  if (f === 0) m.seqNo = x.readUint(U32);
  else m.payload = x.readBytes();
};

function readAck(r: MsgpackReader): Ack {
  return readStruct<Ack>(r, ACK, { type: 'ack', seqNo: 0, payload: null }, readAckField);
}

const NACK = struct('nack', ['SeqNo']);
const readNackField: FieldReader<Nack> = (m, _f, x) => {
  m.seqNo = x.readUint(U32);
};

function readNack(r: MsgpackReader): Nack {
  return readStruct<Nack>(r, NACK, { type: 'nack', seqNo: 0 }, readNackField);
}

const ACCUSATION_FIELDS = ['Incarnation', 'Node', 'From'];
const SUSPECT = struct('suspect', ACCUSATION_FIELDS);
const DEAD = struct('dead', ACCUSATION_FIELDS);
const readAccusationField: FieldReader<Suspect | Dead> = (m, f, x) => {
  if (f === 0) m.incarnation = x.readUint(U32);
  else if (f === 1) m.node = x.readString();
  else m.from = x.readString();
};

function readAccusation(r: MsgpackReader, type: 'suspect' | 'dead'): Suspect | Dead {
  const m = { type, incarnation: 0, node: '', from: '' } as Suspect | Dead;
  return readStruct(r, type === 'suspect' ? SUSPECT : DEAD, m, readAccusationField);
}

const ALIVE = struct('alive', ['Incarnation', 'Node', 'Addr', 'Port', 'Meta', 'Vsn']);
const readAliveField: FieldReader<Alive> = (m, f, x) => {
  switch (f) {
    case 0:
      m.incarnation = x.readUint(U32);
      break;
    case 1:
      m.node = x.readString();
      break;
    case 2:
      m.addr = x.readBytes();
      break;
    case 3:
      m.port = x.readUint(U16);
      break;
    case 4:
      m.meta = x.readBytes();
      break;
    default:
      m.vsn = x.readBytes();
  }
};

function readAlive(r: MsgpackReader): Alive {
  const m: Alive = { type: 'alive', incarnation: 0, node: '', addr: null, port: 0, meta: null, vsn: null };
  return readStruct(r, ALIVE, m, readAliveField);
}

const ERR_RESP = struct('errResp', ['Error']);
const readErrRespField: FieldReader<ErrResp> = (m, _f, x) => {
  m.error = x.readString();
};

function readErrResp(r: MsgpackReader): ErrResp {
  return readStruct<ErrResp>(r, ERR_RESP, { type: 'err', error: '' }, readErrRespField);
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

function writePushPullHeader(w: MsgpackWriter, h: PushPullHeader): void {
  const nodes = checkUint('nodes', h.nodes, INT);
  const userStateLen = checkUint('userStateLen', h.userStateLen, INT);
  w.writeMapHeader(has(h.join) + 2);
  put(w, K.Join, h.join);
  put(w, K.Nodes, nodes);
  put(w, K.UserStateLen, userStateLen);
}

export function encodePushPullHeader(h: PushPullHeader): Uint8Array {
  const w = begin();
  writePushPullHeader(w, h);
  return done(w);
}

const PUSH_PULL_HEADER = struct('pushPullHeader', ['Nodes', 'UserStateLen', 'Join']);
const readPushPullHeaderField: FieldReader<PushPullHeader> = (h, f, x) => {
  if (f === 0) h.nodes = x.readUint(INT);
  else if (f === 1) h.userStateLen = x.readUint(INT);
  else h.join = x.readBool();
};

export function readPushPullHeader(r: MsgpackReader): PushPullHeader {
  return readStruct<PushPullHeader>(r, PUSH_PULL_HEADER, { nodes: 0, userStateLen: 0, join: false }, readPushPullHeaderField);
}

export function decodePushPullHeader(buf: Uint8Array): PushPullHeader {
  return readPushPullHeader(new MsgpackReader(buf));
}

function writePushNodeState(w: MsgpackWriter, s: PushNodeState): void {
  const incarnation = checkUint('incarnation', s.incarnation, U32);
  const port = checkUint('port', s.port, U16);
  const state = checkUint('state', s.state, INT);
  const vsn = checkVsn(s.vsn);
  w.writeMapHeader(has(s.addr) + 1 + has(s.meta) + has(s.name) + 2 + has(vsn));
  put(w, K.Addr, s.addr);
  put(w, K.Incarnation, incarnation);
  put(w, K.Meta, s.meta);
  put(w, K.Name, s.name);
  put(w, K.Port, port);
  put(w, K.State, state);
  put(w, K.Vsn, vsn);
}

export function encodePushNodeState(s: PushNodeState): Uint8Array {
  const w = begin();
  writePushNodeState(w, s);
  return done(w);
}

/**
 * A whole push/pull as it goes on a stream before any compress/encrypt layer:
 * 06 | header | node states | user state, written once into one buffer.
 */
export function encodePushPullMessage(msg: PushPull): Uint8Array {
  const w = begin(MessageType.pushPull);
  writePushPullHeader(w, { nodes: msg.nodes.length, userStateLen: msg.userState.length, join: msg.join });
  for (const node of msg.nodes) writePushNodeState(w, node);
  w.writeBytes(msg.userState);
  return done(w);
}

/** 08 | userMsgHeader | payload: a user message on a stream. */
export function encodeUserStreamMessage(payload: Uint8Array): Uint8Array {
  const len = checkUint('userMsgLen', payload.length, INT);
  const w = begin(MessageType.user);
  w.writeMapHeader(1);
  put(w, K.UserMsgLen, len);
  w.writeBytes(payload);
  return done(w);
}

const PUSH_NODE_STATE = struct('pushNodeState', ['Name', 'Addr', 'Port', 'Meta', 'Incarnation', 'State', 'Vsn']);
const readPushNodeStateField: FieldReader<PushNodeState> = (s, f, x) => {
  switch (f) {
    case 0:
      s.name = x.readString();
      break;
    case 1:
      s.addr = x.readBytes();
      break;
    case 2:
      s.port = x.readUint(U16);
      break;
    case 3:
      s.meta = x.readBytes();
      break;
    case 4:
      s.incarnation = x.readUint(U32);
      break;
    case 5:
      s.state = x.readUint(INT);
      break;
    default:
      s.vsn = x.readBytes();
  }
};

export function readPushNodeState(r: MsgpackReader): PushNodeState {
  const s: PushNodeState = { name: '', addr: null, port: 0, meta: null, incarnation: 0, state: 0, vsn: null };
  return readStruct(r, PUSH_NODE_STATE, s, readPushNodeStateField);
}

export function decodePushNodeState(buf: Uint8Array): PushNodeState {
  return readPushNodeState(new MsgpackReader(buf));
}

export function encodeUserMsgHeader(userMsgLen: number): Uint8Array {
  const len = checkUint('userMsgLen', userMsgLen, INT);
  const w = begin();
  w.writeMapHeader(1);
  put(w, K.UserMsgLen, len);
  return done(w);
}

const USER_MSG_HEADER = struct('userMsgHeader', ['UserMsgLen']);
const readUserMsgHeaderField: FieldReader<{ len: number }> = (h, _f, x) => {
  h.len = x.readUint(INT);
};

export function readUserMsgHeader(r: MsgpackReader): number {
  return readStruct(r, USER_MSG_HEADER, { len: 0 }, readUserMsgHeaderField).len;
}

export function decodeUserMsgHeader(buf: Uint8Array): number {
  return readUserMsgHeader(new MsgpackReader(buf));
}

/** The msgpack `compress` struct (without the 0x09 type byte). */
export function encodeCompressBody(c: { algo: number; buf: Uint8Array }): Uint8Array {
  const algo = checkUint('algo', c.algo, U8);
  const w = begin();
  w.writeMapHeader(1 + has(c.buf));
  put(w, K.Algo, algo);
  put(w, K.Buf, c.buf);
  return done(w);
}

const COMPRESS = struct('compress', ['Algo', 'Buf']);
const EMPTY = new Uint8Array(0);
const readCompressField: FieldReader<Compress> = (c, f, x) => {
  if (f === 0) c.algo = x.readUint(U8);
  else c.buf = x.readBytes() ?? new Uint8Array(0);
};
// The packet and stream paths hand Buf straight to the decompressor, so a view will do.
const readCompressFieldView: FieldReader<Compress> = (c, f, x) => {
  if (f === 0) c.algo = x.readUint(U8);
  else c.buf = x.readBytesView() ?? EMPTY;
};

export function readCompressBody(r: MsgpackReader): Compress {
  return readStruct<Compress>(r, COMPRESS, { type: 'compress', algo: 0, buf: new Uint8Array(0) }, readCompressField);
}

/** readCompressBody, but `buf` is a view into the reader's buffer (valid while that is). */
export function readCompressBodyView(r: MsgpackReader): Compress {
  return readStruct<Compress>(r, COMPRESS, { type: 'compress', algo: 0, buf: EMPTY }, readCompressFieldView);
}

export function decodeCompressBody(buf: Uint8Array): Compress {
  return readCompressBody(new MsgpackReader(buf));
}
