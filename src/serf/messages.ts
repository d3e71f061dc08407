// Serf's own messages (serf/messages.go), which Serf sends as memberlist user
// messages and as its push-pull user state: one type byte, then a msgpack map (old
// spec: strings as raw, as Go's codec writes them). Only what rxswim uses is read
// here: the join and leave intents that tie a member's status to a Lamport time, and
// the Lamport times and left members of Serf's push-pull state. Decoding never
// throws: bytes that are not Serf's come back as `undefined`, broken ones as a drop
// reason the caller counts.
import { DecodeError, type DecodeErrorReason } from '../errors.js';
import { encodeMsgpack, MsgpackMap, MsgpackReader, utf8Decode, type DecodedValue } from '../wire/msgpack.js';

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

/** what rxswim reads of messagePushPull */
export interface SerfPushPull {
  type: 'pushPull';
  ltime: bigint;
  statusLTimes: Map<string, bigint>;
  leftMembers: string[];
}

/** any other Serf message (events, queries, keys, relays): recognised, not read yet */
export interface SerfOther {
  type: 'other';
  messageType: number;
}

export type SerfMessage = SerfIntent | SerfPushPull | SerfOther;

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
  if (t !== SerfMessageType.leave && t !== SerfMessageType.join && t !== SerfMessageType.pushPull) {
    return { ok: true, message: { type: 'other', messageType: t } };
  }
  try {
    const v = new MsgpackReader(buf, 1, MAX_DEPTH).readValue();
    if (!(v instanceof MsgpackMap)) return bad('Serf message body is not a map');
    if (t === SerfMessageType.pushPull) return decodePushPull(v);
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

function decodePushPull(v: MsgpackMap): SerfDecoded {
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
  return { ok: true, message: { type: 'pushPull', ltime, statusLTimes, leftMembers } };
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
