// rxswim's envelope inside memberlist user messages. memberlist user messages carry
// raw bytes and no sender, and a gossiped packet comes from whoever relayed it, so we
// add who sent it, a per-sender id (to deliver a re-gossiped broadcast once) and a
// topic. The leading byte keeps it apart from Serf's own user messages (types 0-9),
// which Serf ignores if it sees ours ("unknown message type") and we ignore if we see
// theirs.
import { DecodeError } from '../errors.js';
import { encodeMsgpack, MsgpackMap, MsgpackReader, utf8Decode } from '../wire/msgpack.js';

export const ENVELOPE_MAGIC = 0xf5;
const VERSION = 1;

export interface Envelope {
  from: string;
  /** per-sender message id; (from, id) is unique for a broadcast */
  id: number;
  topic: string;
  /** true for a broadcast: receivers deliver once and re-gossip it */
  broadcast: boolean;
  payload: Uint8Array;
}

export function encodeEnvelope(e: Envelope): Uint8Array {
  const head = encodeMsgpack({ B: e.broadcast, From: e.from, ID: e.id, Topic: e.topic });
  const out = new Uint8Array(2 + head.length + e.payload.length);
  out[0] = ENVELOPE_MAGIC;
  out[1] = VERSION;
  out.set(head, 2);
  out.set(e.payload, 2 + head.length);
  return out;
}

/** undefined when the bytes are not ours (another application's user message) */
export function decodeEnvelope(buf: Uint8Array): Envelope | undefined {
  if (buf.length < 2 || buf[0] !== ENVELOPE_MAGIC) return undefined;
  if (buf[1] !== VERSION) throw new DecodeError('malformed', `user envelope version ${buf[1]} is not supported`);
  const r = new MsgpackReader(buf, 2, 4);
  const head = r.readValue();
  if (!(head instanceof MsgpackMap)) throw new DecodeError('malformed', 'user envelope header is not a map');
  const from = head.get('From');
  const id = head.get('ID');
  const topic = head.get('Topic');
  const b = head.get('B');
  if (!(from instanceof Uint8Array) || typeof id !== 'number' || !(topic instanceof Uint8Array || topic === null) || typeof b !== 'boolean') {
    throw new DecodeError('malformed', 'user envelope header has missing or mistyped fields');
  }
  return {
    from: utf8Decode(from),
    id,
    topic: topic ? utf8Decode(topic) : '',
    broadcast: b,
    payload: buf.subarray(r.pos),
  };
}
