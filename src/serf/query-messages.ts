// Serf's query messages (serf/messages.go): messageQuery, messageQueryResponse, the
// filters a query carries, messageRelay (a response on its way through another
// member) and messageConflictResponse (the answer to `_serf_conflict`). Same framing
// as Serf's other messages: a type byte, then a msgpack map in go-msgpack's old spec,
// fields in sorted order. Decoders never throw: a broken message comes back as a drop
// reason with a detail; encoders write what Serf writes, byte for byte (checked
// against test/fixtures/serf/query-vectors.json).
import { DecodeError, type DecodeErrorReason } from '../errors.js';
import { encodeMsgpack, MsgpackMap, MsgpackReader, MsgpackWriter, utf8Decode, type DecodedValue } from '../wire/msgpack.js';

const TYPE_QUERY = 4;
const TYPE_RESPONSE = 5;
const TYPE_CONFLICT_RESPONSE = 6;
const TYPE_RELAY = 9;

/** messageQuery's Flags */
export const QueryFlag = {
  /** every member that passes the filters acks at once */
  ack: 1,
  /** receivers do not gossip the query on (it was sent to them directly) */
  noBroadcast: 2,
} as const;

/** filterType: the first byte of each of a query's filters */
export const FilterType = { node: 0, tag: 1 } as const;

export interface SerfQueryMessage {
  type: 'query';
  /** the query clock time it was sent at */
  ltime: bigint;
  /** random per query; with ltime, what a response names */
  id: number;
  /** where responses go (the querier's memberlist address) */
  addr: Uint8Array;
  port: number;
  sourceNode: string;
  /** each a filter type byte and msgpack, kept raw: Serf decodes them only when it filters */
  filters: Uint8Array[];
  flags: number;
  relayFactor: number;
  /** time.Duration, nanoseconds */
  timeoutNs: bigint;
  name: string;
  payload: Uint8Array;
}

export interface SerfQueryResponseMessage {
  type: 'queryResponse';
  ltime: bigint;
  id: number;
  from: string;
  /** QueryFlag.ack: an ack, not a response */
  flags: number;
  payload: Uint8Array;
}

/** messageRelay: the relayHeader (where the wrapped message goes), then the message's own bytes */
export interface SerfRelayMessage {
  type: 'relay';
  destAddr: Uint8Array;
  destPort: number;
  destName: string;
  /** the wrapped message, type byte included, as it is to be sent on */
  inner: Uint8Array;
}

export type SerfQueryFilter = { type: 'node'; nodes: string[] } | { type: 'tag'; tag: string; expr: string };

export type QueryDecoded<T> = { ok: true; message: T } | { ok: false; reason: DecodeErrorReason; detail: string };

const MAX_DEPTH = 4;

function guarded<T>(f: () => QueryDecoded<T>): QueryDecoded<T> {
  try {
    return f();
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, reason: e.reason, detail: e.message };
    // MsgpackReader raises only DecodeError; anything else is a bug worth seeing, but a
    // decoder fed from the network must still not throw.
    return { ok: false, reason: 'malformed', detail: `Serf query message: ${String(e)}` };
  }
}

function body(buf: Uint8Array, type: number, what: string): MsgpackMap {
  if (buf.length === 0) throw new DecodeError('truncated', `${what}: empty`);
  if (buf[0] !== type) throw new DecodeError('unknown_type', `${what}: type byte ${buf[0]}, want ${type}`);
  const v = new MsgpackReader(buf, 1, MAX_DEPTH).readValue();
  if (!(v instanceof MsgpackMap)) throw new DecodeError('malformed', `${what}: body is not a map`);
  return v;
}

function bad(detail: string): { ok: false; reason: DecodeErrorReason; detail: string } {
  return { ok: false, reason: 'malformed', detail };
}

/** a uint of at most `bits` bits, as Go's codec decodes one into a uintN field */
function uint(v: DecodedValue | undefined, bits: 8 | 16 | 32 | 64): bigint | undefined {
  const b = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : undefined;
  if (b === undefined || b < 0n || b >= 1n << BigInt(bits)) return undefined;
  return b;
}

/** bytes or a string; Go writes a nil slice as nil (an empty one then) */
function bytesOrNil(v: DecodedValue | undefined): Uint8Array | undefined {
  if (v instanceof Uint8Array) return v.slice();
  if (v === null || v === undefined) return new Uint8Array(0);
  return undefined;
}

export function decodeSerfQuery(buf: Uint8Array): QueryDecoded<SerfQueryMessage> {
  return guarded(() => {
    const m = body(buf, TYPE_QUERY, 'Serf query');
    const ltime = uint(m.get('LTime'), 64);
    const id = uint(m.get('ID'), 32);
    const port = uint(m.get('Port'), 16);
    const flags = uint(m.get('Flags') ?? 0, 32);
    const relayFactor = uint(m.get('RelayFactor') ?? 0, 8);
    const addr = bytesOrNil(m.get('Addr'));
    const src = m.get('SourceNode');
    const name = m.get('Name');
    const payload = bytesOrNil(m.get('Payload'));
    const t = m.get('Timeout') ?? 0;
    const timeout = typeof t === 'bigint' ? t : typeof t === 'number' && Number.isInteger(t) ? BigInt(t) : undefined;
    if (ltime === undefined || id === undefined) return bad('Serf query has missing or mistyped LTime/ID');
    if (port === undefined || addr === undefined) return bad('Serf query has a mistyped Addr/Port');
    if (!(name instanceof Uint8Array) || !(src instanceof Uint8Array || src === undefined || src === null)) return bad('Serf query has a missing or mistyped Name/SourceNode');
    if (flags === undefined || relayFactor === undefined || timeout === undefined) return bad('Serf query has mistyped Flags/RelayFactor/Timeout');
    if (payload === undefined) return bad('Serf query Payload is not bytes');
    const rawFilters = m.get('Filters');
    const filters: Uint8Array[] = [];
    if (Array.isArray(rawFilters)) {
      for (const f of rawFilters) {
        if (!(f instanceof Uint8Array) || f.length === 0) return bad('Serf query Filters has an entry that is not a filter');
        filters.push(f.slice());
      }
    } else if (rawFilters !== null && rawFilters !== undefined) return bad('Serf query Filters is not an array');
    return {
      ok: true,
      message: {
        type: 'query', ltime, id: Number(id), addr, port: Number(port), sourceNode: src instanceof Uint8Array ? utf8Decode(src) : '',
        filters, flags: Number(flags), relayFactor: Number(relayFactor), timeoutNs: timeout < 0n ? 0n : timeout, name: utf8Decode(name), payload,
      },
    };
  });
}

export function decodeSerfQueryResponse(buf: Uint8Array): QueryDecoded<SerfQueryResponseMessage> {
  return guarded(() => {
    const m = body(buf, TYPE_RESPONSE, 'Serf query response');
    const ltime = uint(m.get('LTime'), 64);
    const id = uint(m.get('ID'), 32);
    const flags = uint(m.get('Flags') ?? 0, 32);
    const from = m.get('From');
    const payload = bytesOrNil(m.get('Payload'));
    if (ltime === undefined || id === undefined || flags === undefined) return bad('Serf query response has missing or mistyped LTime/ID/Flags');
    if (!(from instanceof Uint8Array)) return bad('Serf query response has a missing or mistyped From');
    if (payload === undefined) return bad('Serf query response Payload is not bytes');
    return { ok: true, message: { type: 'queryResponse', ltime, id: Number(id), from: utf8Decode(from), flags: Number(flags), payload } };
  });
}

export function decodeSerfRelay(buf: Uint8Array): QueryDecoded<SerfRelayMessage> {
  return guarded(() => {
    if (buf.length === 0) return { ok: false, reason: 'truncated', detail: 'Serf relay: empty' };
    if (buf[0] !== TYPE_RELAY) return { ok: false, reason: 'unknown_type', detail: `Serf relay: type byte ${buf[0]}` };
    const r = new MsgpackReader(buf, 1, MAX_DEPTH);
    const h = r.readValue();
    if (!(h instanceof MsgpackMap)) return bad('Serf relay header is not a map');
    const dest = h.get('DestAddr');
    const name = h.get('DestName');
    if (!(dest instanceof MsgpackMap)) return bad('Serf relay DestAddr is not a UDPAddr');
    const ip = dest.get('IP');
    const port = uint(dest.get('Port'), 16);
    if (!(ip instanceof Uint8Array) || (ip.length !== 4 && ip.length !== 16) || port === undefined) return bad('Serf relay DestAddr has a mistyped IP/Port');
    if (!(name instanceof Uint8Array || name === undefined || name === null)) return bad('Serf relay DestName is not a string');
    const inner = buf.slice(r.pos);
    if (inner.length === 0) return { ok: false, reason: 'truncated', detail: 'Serf relay carries no message' };
    return { ok: true, message: { type: 'relay', destAddr: ip.slice(), destPort: Number(port), destName: name instanceof Uint8Array ? utf8Decode(name) : '', inner } };
  });
}

/** one filter of a query, as shouldProcessQuery reads it; Serf treats one it cannot read as a mismatch */
export function decodeQueryFilter(f: Uint8Array): { ok: true; filter: SerfQueryFilter } | { ok: false; detail: string } {
  try {
    const v = new MsgpackReader(f, 1, MAX_DEPTH).readValue();
    if (f[0] === FilterType.node) {
      if (!Array.isArray(v) && v !== null) return { ok: false, detail: 'node filter is not a list' };
      const nodes: string[] = [];
      for (const n of v ?? []) {
        if (!(n instanceof Uint8Array)) return { ok: false, detail: 'node filter has a non-string entry' };
        nodes.push(utf8Decode(n));
      }
      return { ok: true, filter: { type: 'node', nodes } };
    }
    if (f[0] === FilterType.tag) {
      if (!(v instanceof MsgpackMap)) return { ok: false, detail: 'tag filter is not a map' };
      const tag = v.get('Tag');
      const expr = v.get('Expr');
      if (!(tag instanceof Uint8Array) || !(expr instanceof Uint8Array)) return { ok: false, detail: 'tag filter has a mistyped Tag/Expr' };
      return { ok: true, filter: { type: 'tag', tag: utf8Decode(tag), expr: utf8Decode(expr) } };
    }
    return { ok: false, detail: `unknown filter type ${f[0]}` };
  } catch (e) {
    return { ok: false, detail: String(e instanceof Error ? e.message : e) };
  }
}

function framed(type: number, value: Parameters<typeof encodeMsgpack>[0]): Uint8Array {
  const b = encodeMsgpack(value);
  const out = new Uint8Array(1 + b.length);
  out[0] = type;
  out.set(b, 1);
  return out;
}

/** Go writes an empty (nil) []byte as nil */
function nilIfEmpty(b: Uint8Array): Uint8Array | null {
  return b.length === 0 ? null : b;
}

export function encodeQueryFilter(f: SerfQueryFilter): Uint8Array {
  return f.type === 'node' ? framed(FilterType.node, f.nodes) : framed(FilterType.tag, { Expr: f.expr, Tag: f.tag });
}

export function encodeSerfQuery(q: Omit<SerfQueryMessage, 'type'>): Uint8Array {
  return framed(TYPE_QUERY, {
    Addr: nilIfEmpty(q.addr),
    Filters: q.filters.length === 0 ? null : q.filters,
    Flags: q.flags,
    ID: q.id,
    LTime: q.ltime,
    Name: q.name,
    Payload: nilIfEmpty(q.payload),
    Port: q.port,
    RelayFactor: q.relayFactor,
    SourceNode: q.sourceNode,
    Timeout: q.timeoutNs,
  });
}

export function encodeSerfQueryResponse(r: Omit<SerfQueryResponseMessage, 'type'>): Uint8Array {
  return framed(TYPE_RESPONSE, { Flags: r.flags, From: r.from, ID: r.id, LTime: r.ltime, Payload: nilIfEmpty(r.payload) });
}

/** encodeRelayMessage: the header (a net.UDPAddr and a name), then the wrapped message as it is */
export function encodeSerfRelay(r: Omit<SerfRelayMessage, 'type'>): Uint8Array {
  const w = new MsgpackWriter();
  w.writeByte(TYPE_RELAY);
  w.write({ DestAddr: { IP: r.destAddr, Port: r.destPort, Zone: '' }, DestName: r.destName });
  w.writeBytes(r.inner);
  return w.finish();
}

/** what `_serf_conflict` answers with: the member Serf knows by that name (serf.Member), or nil */
export interface ConflictMember {
  name: string;
  addr: Uint8Array;
  port: number;
  tags: Record<string, string>;
  /** serf.MemberStatus: 0 none, 1 alive, 2 leaving, 3 left, 4 failed */
  status: number;
  /** memberlist's vsn: [PMin, PMax, PCur, DMin, DMax, DCur] */
  vsn: readonly number[];
}

export function encodeConflictResponse(m: ConflictMember | undefined): Uint8Array {
  if (!m) return framed(TYPE_CONFLICT_RESPONSE, null);
  const v = (i: number) => m.vsn[i] ?? 0;
  return framed(TYPE_CONFLICT_RESPONSE, {
    Addr: nilIfEmpty(m.addr),
    DelegateCur: v(5), DelegateMax: v(4), DelegateMin: v(3),
    Name: m.name,
    Port: m.port,
    ProtocolCur: v(2), ProtocolMax: v(1), ProtocolMin: v(0),
    Status: m.status,
    Tags: m.tags,
  });
}
