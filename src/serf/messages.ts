// Serf's own messages (serf/messages.go), which Serf sends as memberlist user
// messages and as its push-pull user state: one type byte, then a msgpack map (old
// spec: strings as raw, as Go's codec writes them). Only what rxswim uses is read
// here: the join and leave intents that tie a member's status to a Lamport time, user
// events, and the Lamport times, left members and recent events of Serf's push-pull
// state. Decoding never
// throws: bytes that are not Serf's come back as `undefined`, broken ones as a drop
// reason the caller counts.
import { DecodeError, type DecodeErrorReason } from '../errors.js';
import { encodeMsgpack, MsgpackMap, MsgpackReader, utf8Decode, type DecodedValue } from '../wire/msgpack.js';
import { decodeSerfQuery, decodeSerfQueryResponse, decodeSerfRelay, type SerfQueryMessage, type SerfQueryResponseMessage, type SerfRelayMessage } from './query-messages.js';

/** serf's messageType: the first byte of each of its user messages */
export const SerfMessageType = {
  leave: 0,
  join: 1,
  pushPull: 2,
  userEvent: 3,
  query: 4,
  queryResponse: 5,
  conflictResponse: 6,
  keyRequest: 7,
  keyResponse: 8,
  relay: 9,
} as const;

const LAST_TYPE = SerfMessageType.relay;

/** messageJoin / messageLeave: a member's status change at a Lamport time */
export interface SerfIntent {
  type: 'join' | 'leave';
  ltime: bigint;
  node: string;
  /** leave only: Serf ≥ 0.8.2 force-leave with -prune */
  prune: boolean;
}

/** messageUserEvent: an application event, ordered by Serf's event clock */
export interface SerfUserEventMessage {
  type: 'userEvent';
  ltime: bigint;
  name: string;
  payload: Uint8Array;
  /** CC, "can coalesce": a handler may see only the latest of a burst with this name */
  cc: boolean;
}

/** Serf's userEvents: the events it heard at one event time (one slot of its buffer) */
export interface SerfEventSlot {
  ltime: bigint;
  events: Array<{ name: string; payload: Uint8Array }>;
}

/** what rxswim reads of messagePushPull */
export interface SerfPushPull {
  type: 'pushPull';
  ltime: bigint;
  statusLTimes: Map<string, bigint>;
  leftMembers: string[];
  /** the sender's event clock (0: none sent) */
  eventLTime: bigint;
  /** the sender's event buffer, empty slots left out */
  events: SerfEventSlot[];
  /** the sender's query clock (0: none sent) */
  queryLTime: bigint;
  /** bytes the message took, its type byte included: an rxswim node's own state may follow */
  size: number;
}

/** any other Serf message (conflict and key messages): recognised, not read here */
export interface SerfOther {
  type: 'other';
  messageType: number;
}

export type SerfMessage = SerfIntent | SerfUserEventMessage | SerfPushPull | SerfQueryMessage | SerfQueryResponseMessage | SerfRelayMessage | SerfOther;

export type SerfDecoded = { ok: true; message: SerfMessage } | { ok: false; reason: DecodeErrorReason; detail: string };

/** whether bytes carry a Serf message at all (its type byte); rxswim's own envelope is 0xf5 */
export function isSerfMessage(buf: Uint8Array): boolean {
  return buf.length > 0 && buf[0]! <= LAST_TYPE;
}

/** Serf's maps nest a few levels (push-pull → Events → userEvents → Events → userEvent) */
const MAX_DEPTH = 8;

export function decodeSerfMessage(buf: Uint8Array): SerfDecoded {
  if (!isSerfMessage(buf)) return { ok: false, reason: 'unknown_type', detail: `not a Serf message type: ${buf[0]}` };
  const t = buf[0]!;
  // Queries have a codec of their own (query-messages.ts), with the same reasons.
  if (t === SerfMessageType.query) return decodeSerfQuery(buf);
  if (t === SerfMessageType.queryResponse) return decodeSerfQueryResponse(buf);
  if (t === SerfMessageType.relay) return decodeSerfRelay(buf);
  if (t !== SerfMessageType.leave && t !== SerfMessageType.join && t !== SerfMessageType.pushPull && t !== SerfMessageType.userEvent) {
    return { ok: true, message: { type: 'other', messageType: t } };
  }
  try {
    const reader = new MsgpackReader(buf, 1, MAX_DEPTH);
    const v = reader.readValue();
    if (!(v instanceof MsgpackMap)) return bad('Serf message body is not a map');
    if (t === SerfMessageType.pushPull) return decodePushPull(v, reader.pos);
    if (t === SerfMessageType.userEvent) return decodeUserEvent(v);
    const ltime = lamport(v.get('LTime'));
    const node = v.get('Node');
    if (ltime === undefined || !(node instanceof Uint8Array)) return bad(`Serf ${t === 0 ? 'leave' : 'join'} intent has missing or mistyped LTime/Node`);
    const prune = v.get('Prune');
    return { ok: true, message: { type: t === SerfMessageType.leave ? 'leave' : 'join', ltime, node: utf8Decode(node), prune: prune === true } };
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, reason: e.reason, detail: e.message };
    throw e;
  }
}

function decodePushPull(v: MsgpackMap, size: number): SerfDecoded {
  const ltime = lamport(v.get('LTime'));
  const status = v.get('StatusLTimes');
  const left = v.get('LeftMembers');
  if (ltime === undefined) return bad('Serf push-pull state has no LTime');
  const statusLTimes = new Map<string, bigint>();
  if (status instanceof MsgpackMap) {
    for (const [k, t] of status.entries) {
      const lt = lamport(t);
      if (!(k instanceof Uint8Array) || lt === undefined) return bad('Serf push-pull StatusLTimes has a mistyped entry');
      statusLTimes.set(utf8Decode(k), lt);
    }
  } else if (status !== null && status !== undefined) return bad('Serf push-pull StatusLTimes is not a map');
  const leftMembers: string[] = [];
  if (Array.isArray(left)) {
    for (const n of left) {
      if (!(n instanceof Uint8Array)) return bad('Serf push-pull LeftMembers has a non-string entry');
      leftMembers.push(utf8Decode(n));
    }
  } else if (left !== null && left !== undefined) return bad('Serf push-pull LeftMembers is not an array');
  const evLTime = v.get('EventLTime');
  const eventLTime = evLTime === undefined || evLTime === null ? 0n : lamport(evLTime);
  if (eventLTime === undefined) return bad('Serf push-pull EventLTime is mistyped');
  const events: SerfEventSlot[] = [];
  const slots = v.get('Events');
  if (Array.isArray(slots)) {
    // Serf sends its whole buffer, one slot per event time, nil where none was heard.
    for (const slot of slots) {
      if (slot === null) continue;
      const ok = slot instanceof MsgpackMap ? eventSlot(slot) : undefined;
      if (!ok) return bad('Serf push-pull Events has a mistyped slot');
      events.push(ok);
    }
  } else if (slots !== null && slots !== undefined) return bad('Serf push-pull Events is not an array');
  const qLTime = v.get('QueryLTime');
  const queryLTime = qLTime === undefined || qLTime === null ? 0n : lamport(qLTime);
  if (queryLTime === undefined) return bad('Serf push-pull QueryLTime is mistyped');
  return { ok: true, message: { type: 'pushPull', ltime, statusLTimes, leftMembers, eventLTime, events, queryLTime, size } };
}

/** userEvents {LTime, Events: [userEvent {Name, Payload}]}; undefined when mistyped */
function eventSlot(m: MsgpackMap): SerfEventSlot | undefined {
  const ltime = lamport(m.get('LTime'));
  const list = m.get('Events');
  if (ltime === undefined || !(Array.isArray(list) || list === null)) return undefined;
  const events: SerfEventSlot['events'] = [];
  for (const e of list ?? []) {
    if (!(e instanceof MsgpackMap)) return undefined;
    const name = e.get('Name');
    const payload = e.get('Payload');
    if (!(name instanceof Uint8Array) || !(payload instanceof Uint8Array || payload === null || payload === undefined)) return undefined;
    events.push({ name: utf8Decode(name), payload: payload ?? new Uint8Array(0) });
  }
  return { ltime, events };
}

function decodeUserEvent(v: MsgpackMap): SerfDecoded {
  const ltime = lamport(v.get('LTime'));
  const name = v.get('Name');
  const payload = v.get('Payload');
  const cc = v.get('CC');
  if (ltime === undefined || !(name instanceof Uint8Array)) return bad('Serf user event has missing or mistyped LTime/Name');
  // Go writes a nil []byte as nil, and Serf 0.1 sent no CC at all.
  if (!(payload instanceof Uint8Array || payload === null || payload === undefined)) return bad('Serf user event Payload is not bytes');
  if (!(typeof cc === 'boolean' || cc === null || cc === undefined)) return bad('Serf user event CC is not a boolean');
  return { ok: true, message: { type: 'userEvent', ltime, name: utf8Decode(name), payload: payload ? payload.slice() : new Uint8Array(0), cc: cc === true } };
}

function lamport(v: DecodedValue | undefined): bigint | undefined {
  if (typeof v === 'bigint') return v >= 0n ? v : undefined;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return BigInt(v);
  return undefined;
}

function bad(detail: string): SerfDecoded {
  return { ok: false, reason: 'malformed', detail };
}

/** messageLeave or messageJoin as Serf encodes it: type byte, then {LTime, Node[, Prune]} */
export function encodeSerfIntent(i: Omit<SerfIntent, 'prune'> & { prune?: boolean }): Uint8Array {
  const body = encodeMsgpack(i.type === 'leave' ? { LTime: i.ltime, Node: i.node, Prune: i.prune ?? false } : { LTime: i.ltime, Node: i.node });
  const out = new Uint8Array(1 + body.length);
  out[0] = i.type === 'leave' ? SerfMessageType.leave : SerfMessageType.join;
  out.set(body, 1);
  return out;
}

/** messageUserEvent as Serf encodes it: type byte, then {CC, LTime, Name, Payload} (Go's codec sorts the fields) */
export function encodeSerfUserEvent(e: Omit<SerfUserEventMessage, 'type'>): Uint8Array {
  const body = encodeMsgpack({ CC: e.cc, LTime: e.ltime, Name: e.name, Payload: e.payload });
  const out = new Uint8Array(1 + body.length);
  out[0] = SerfMessageType.userEvent;
  out.set(body, 1);
  return out;
}

/**
 * messagePushPull as Serf's LocalState writes it: {Events, EventLTime, LeftMembers,
 * LTime, QueryLTime, StatusLTimes}. Serf sends its whole event ring with nil for empty
 * slots; only the slots that hold events are sent here (Serf skips nils when merging).
 */
export function encodeSerfPushPull(s: Omit<SerfPushPull, 'type' | 'size'>): Uint8Array {
  const body = encodeMsgpack({
    Events: s.events.map((slot) => ({ LTime: slot.ltime, Events: slot.events.map((e) => ({ Name: e.name, Payload: e.payload })) })),
    EventLTime: s.eventLTime,
    LeftMembers: s.leftMembers,
    LTime: s.ltime,
    QueryLTime: s.queryLTime,
    StatusLTimes: s.statusLTimes,
  });
  const out = new Uint8Array(1 + body.length);
  out[0] = SerfMessageType.pushPull;
  out.set(body, 1);
  return out;
}
