// Typed shapes of memberlist 0.2.x messages. Field names follow the Go structs
// (which are also the msgpack map keys) in lowerCamelCase; byte fields stay bytes
// because Addr, Meta, Vsn, Payload and Buf carry arbitrary binary data.

export const MessageType = {
  ping: 0,
  indirectPing: 1,
  ack: 2,
  suspect: 3,
  alive: 4,
  dead: 5,
  pushPull: 6,
  compound: 7,
  user: 8,
  compress: 9,
  encrypt: 10,
  nack: 11,
  hasCrc: 12,
  err: 13,
} as const;
export type MessageTypeName = keyof typeof MessageType;
export type MessageTypeValue = (typeof MessageType)[MessageTypeName];

/** Node states as numbered on the wire (pushNodeState.State). */
export const WireState = { alive: 0, suspect: 1, dead: 2, left: 3 } as const;
export type WireStateValue = (typeof WireState)[keyof typeof WireState];

export interface Ping {
  type: 'ping';
  seqNo: number;
  node: string;
  /** omitted on the wire when empty */
  sourceAddr?: Uint8Array | null;
  sourcePort?: number;
  sourceNode?: string;
}

export interface IndirectPing {
  type: 'indirectPing';
  seqNo: number;
  target: Uint8Array | null;
  port: number;
  node: string;
  nack: boolean;
  sourceAddr?: Uint8Array | null;
  sourcePort?: number;
  sourceNode?: string;
}

export interface Ack {
  type: 'ack';
  seqNo: number;
  payload: Uint8Array | null;
}

export interface Nack {
  type: 'nack';
  seqNo: number;
}

export interface Suspect {
  type: 'suspect';
  incarnation: number;
  node: string;
  from: string;
}

export interface Dead {
  type: 'dead';
  incarnation: number;
  node: string;
  from: string;
}

export interface Alive {
  type: 'alive';
  incarnation: number;
  node: string;
  addr: Uint8Array | null;
  port: number;
  meta: Uint8Array | null;
  /** exactly 6 bytes when well-formed: PMin PMax PCur DMin DMax DCur */
  vsn: Uint8Array | null;
}

export interface User {
  type: 'user';
  payload: Uint8Array;
}

export interface ErrResp {
  type: 'err';
  error: string;
}

/** A compressed wrapper around one complete inner message (type byte included). */
export interface Compress {
  type: 'compress';
  algo: number;
  buf: Uint8Array;
}

/** A compound of complete messages (each with its type byte). */
export interface Compound {
  type: 'compound';
  parts: Uint8Array[];
  /** parts dropped because their declared length ran past the buffer */
  truncated: number;
}

export interface PushPullHeader {
  nodes: number;
  userStateLen: number;
  join: boolean;
}

export interface PushNodeState {
  name: string;
  addr: Uint8Array | null;
  port: number;
  meta: Uint8Array | null;
  incarnation: number;
  state: number;
  vsn: Uint8Array | null;
}

export interface PushPull {
  type: 'pushPull';
  join: boolean;
  nodes: PushNodeState[];
  userState: Uint8Array;
}

/** Reliable user message on a TCP stream: 08 | userMsgHeader | bytes. */
export interface UserStream {
  type: 'userStream';
  payload: Uint8Array;
}

/** Messages that may arrive in a UDP packet (after unwrapping CRC/compress/compound). */
export type PacketMessage = Ping | IndirectPing | Ack | Nack | Suspect | Alive | Dead | User;

/** Messages that may arrive on a TCP stream (after unwrapping encrypt/compress). */
export type StreamMessage = PushPull | Ping | Ack | UserStream | ErrResp;

export type GossipMessage = Alive | Suspect | Dead;
