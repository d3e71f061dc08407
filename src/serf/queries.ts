// Serf's queries (serf/serf.go Query / handleQuery / handleQueryResponse, query.go,
// event.go Query.Respond, delegate.go's relay case): a request gossiped to every
// member, answered by those that pass its filters with an ack (when asked) and a
// response, each sent straight back to the querier's address as one memberlist
// packet, and, with a relay factor, also through that many other members wrapped in
// a relay message (in case the direct path is lossy). Queries have a Lamport clock of
// their own and a de-duplication ring of QUERY_BUFFER slots by LTime, each holding the
// IDs heard at that time. Sans-IO: time, randomness, timers and sending are injected.
import type { DecodeErrorReason } from '../errors.js';
import { StateError } from '../errors.js';
import { INTERNAL_QUERY_PREFIX, type InternalQueryHandlers } from './internal-queries.js';
import { LamportClock } from './lamport.js';
import {
  decodeQueryFilter, decodeSerfQuery, decodeSerfQueryResponse, decodeSerfRelay, encodeQueryFilter, encodeSerfQuery,
  encodeSerfQueryResponse, encodeSerfRelay, QueryFlag, type SerfQueryFilter, type SerfQueryMessage, type SerfQueryResponseMessage,
} from './query-messages.js';

/** Serf's default QueryBuffer: query times remembered */
export const QUERY_BUFFER = 512;
/** Serf's default QuerySizeLimit: bytes of an encoded query */
export const QUERY_SIZE_LIMIT = 1024;
/** Serf's default QueryResponseSizeLimit: bytes of an encoded response (or relayed response) */
export const QUERY_RESPONSE_SIZE_LIMIT = 1024;
/** Serf's default QueryTimeoutMult */
export const QUERY_TIMEOUT_MULT = 16;
/** memberlist's protocol version that first understood relays (Serf relays only through those) */
const RELAY_MIN_PROTOCOL = 5;

/** DefaultQueryTimeout: GossipInterval × QueryTimeoutMult × ceil(log10(N + 1)), N the members listed */
export function defaultQueryTimeout(gossipIntervalMs: number, members: number, mult = QUERY_TIMEOUT_MULT): number {
  return gossipIntervalMs * mult * Math.ceil(Math.log10(members + 1));
}

/** why a query or a reply that decoded well was not acted on */
export const QUERY_IGNORE_REASONS = [
  // queries
  'duplicate', 'too_old', 'filtered', 'bad_filter', 'unknown_internal',
  // replies
  'no_query', 'id_mismatch', 'finished', 'duplicate_reply', 'ack_unrequested',
] as const;
export type QueryIgnored = (typeof QUERY_IGNORE_REASONS)[number];

/** a query as the application gets it (node.ts wraps it as the public SerfQuery) */
export interface InboundQuery {
  name: string;
  payload: Uint8Array;
  ltime: bigint;
  id: number;
  from: string;
  /** now() at which the querier stops listening */
  deadline: number;
  /** Serf's Query.Respond: RangeError over the size limit, StateError a second time or late */
  respond(payload: Uint8Array): void;
}

export type QueryReply = { type: 'ack'; from: string } | { type: 'response'; from: string; payload: Uint8Array };

export interface QueryParams {
  /** default: defaultTimeoutMs() */
  timeoutMs?: number;
  /** only these members answer */
  nodes?: readonly string[];
  /** only members whose tag matches the regexp answer (Serf: regexp.MatchString, unanchored) */
  tags?: Readonly<Record<string, string>>;
  /** ask for acks (Serf's RequestAck); default true */
  ack?: boolean;
  /** each answer also through this many other members (0-255) */
  relayFactor?: number;
}

export interface QuerySink {
  reply(r: QueryReply): void;
  /** the timeout passed, or we stopped */
  done(): void;
}

/** an address to send one packet to, named as memberlist's Address is */
export interface QueryAddress {
  addr: Uint8Array;
  port: number;
  name: string;
}

export interface RelayCandidate extends QueryAddress {
  alive: boolean;
  protocolMax: number;
}

export interface SerfQueriesDeps {
  name: string;
  /** our tags now, for tag filters */
  tags(): Readonly<Record<string, string>>;
  /** the address our queries ask answers at */
  local(): { addr: Uint8Array; port: number };
  /** ms, for deadlines */
  now(): number;
  random(): number;
  /** run `fire` after ms; returns a cancel */
  setTimer(ms: number, fire: () => void): () => void;
  /** gossip a query (each key once) */
  broadcast(key: string, message: Uint8Array): void;
  /** memberlist's SendToAddress: one best-effort packet, whether or not the address is a member */
  sendToAddress(to: QueryAddress, message: Uint8Array): void;
  /** the members listed other than us (relays go through live ones), and how many in all, us included */
  members(): { others: readonly RelayCandidate[]; count: number };
  defaultTimeoutMs(): number;
  /** a user query that passed the filters */
  deliver(q: InboundQuery): void;
  /** internal queries answered here, by full name */
  internal: InternalQueryHandlers;
  ignored?(why: QueryIgnored): void;
  /** what went out: acks, responses, relayed copies, relays forwarded for others */
  sent?(what: 'ack' | 'response' | 'relay' | 'forward'): void;
  received?(what: 'query' | 'ack' | 'response'): void;
  bufferSize?: number;
  responseSizeLimit?: number;
  querySizeLimit?: number;
}

interface Pending {
  id: number;
  ack: boolean;
  deadline: number;
  acks: Set<string>;
  responses: Set<string>;
  sink: QuerySink;
  cancel: () => void;
}

export class SerfQueries {
  readonly clock = new LamportClock();
  private readonly ring: Array<{ ltime: bigint; ids: number[] } | undefined>;
  private readonly pending = new Map<bigint, Pending>();
  private readonly responseLimit: number;
  private readonly queryLimit: number;
  private keys = 0;
  private stopped = false;

  constructor(private readonly deps: SerfQueriesDeps) {
    this.ring = new Array(deps.bufferSize ?? QUERY_BUFFER);
    this.responseLimit = deps.responseSizeLimit ?? QUERY_RESPONSE_SIZE_LIMIT;
    this.queryLimit = deps.querySizeLimit ?? QUERY_SIZE_LIMIT;
    // As Serf: the clock starts at 1.
    this.clock.increment();
  }

  /** queries of ours still open */
  get open(): number {
    return this.pending.size;
  }

  /** a memberlist user message of type query, response or relay; returns a drop reason or undefined */
  receive(bytes: Uint8Array): DecodeErrorReason | undefined {
    if (this.stopped) return undefined;
    switch (bytes[0]) {
      case 4: {
        const d = decodeSerfQuery(bytes);
        if (!d.ok) return d.reason;
        // Serf passes on the very bytes it received.
        if (this.handleQuery(d.message)) this.deps.broadcast(this.key(), bytes.slice());
        return undefined;
      }
      case 5: {
        const d = decodeSerfQueryResponse(bytes);
        if (!d.ok) return d.reason;
        this.handleResponse(d.message);
        return undefined;
      }
      case 9: {
        const d = decodeSerfRelay(bytes);
        if (!d.ok) return d.reason;
        // Serf forwards whatever the relay wraps, unread, to wherever it says.
        this.deps.sendToAddress({ addr: d.message.destAddr, port: d.message.destPort, name: d.message.destName }, d.message.inner);
        this.deps.sent?.('forward');
        return undefined;
      }
      default:
        return 'unknown_type';
    }
  }

  /** a Serf push-pull's QueryLTime: no query was sent at it yet */
  witnessState(queryLTime: bigint): void {
    if (queryLTime > 0n) this.clock.witness(queryLTime - 1n);
  }

  /**
   * Serf's Query: our query at the query clock's time, handled here first (we answer
   * our own queries too), then gossiped. Replies go to `sink` until the timeout.
   * RangeError when the encoded query is over the size limit.
   */
  query(name: string, payload: Uint8Array, params: QueryParams, sink: QuerySink): { ltime: bigint; id: number; timeoutMs: number; deadline: number } {
    if (this.stopped) throw new StateError('query(): stopped');
    const timeoutMs = params.timeoutMs ?? this.deps.defaultTimeoutMs();
    const filters: SerfQueryFilter[] = [];
    if (params.nodes && params.nodes.length > 0) filters.push({ type: 'node', nodes: [...params.nodes] });
    for (const [tag, expr] of Object.entries(params.tags ?? {})) filters.push({ type: 'tag', tag, expr });
    const local = this.deps.local();
    const q: SerfQueryMessage = {
      type: 'query',
      ltime: this.clock.time(),
      // rand.Int31: never negative
      id: Math.floor(this.deps.random() * 0x80000000) >>> 0,
      addr: local.addr,
      port: local.port,
      sourceNode: this.deps.name,
      filters: filters.map(encodeQueryFilter),
      flags: params.ack === false ? 0 : QueryFlag.ack,
      relayFactor: params.relayFactor ?? 0,
      timeoutNs: BigInt(Math.round(timeoutMs * 1e6)),
      name,
      payload: payload.slice(),
    };
    const raw = encodeSerfQuery(q);
    if (raw.length > this.queryLimit) throw new RangeError(`serfQuery(): the query is ${raw.length} bytes encoded, over Serf's limit of ${this.queryLimit} (QuerySizeLimit)`);
    const deadline = this.deps.now() + timeoutMs;
    const p: Pending = { id: q.id, ack: params.ack !== false, deadline, acks: new Set(), responses: new Set(), sink, cancel: () => {} };
    this.pending.set(q.ltime, p);
    p.cancel = this.deps.setTimer(timeoutMs, () => this.close(q.ltime, p));
    this.handleQuery(q);
    this.deps.broadcast(this.key(), raw);
    return { ltime: q.ltime, id: q.id, timeoutMs, deadline };
  }

  /** Serf's handleQuery; true when the query was new and is to be gossiped on */
  handleQuery(q: SerfQueryMessage): boolean {
    this.clock.witness(q.ltime);
    const size = BigInt(this.ring.length);
    const now = this.clock.time();
    if (now > size && q.ltime < now - size) return this.ignore('too_old');
    const idx = Number(q.ltime % size);
    let slot = this.ring[idx];
    if (slot && slot.ltime === q.ltime) {
      if (slot.ids.includes(q.id)) return this.ignore('duplicate');
    } else {
      slot = { ltime: q.ltime, ids: [] };
      this.ring[idx] = slot;
    }
    slot.ids.push(q.id);
    this.deps.received?.('query');
    const rebroadcast = (q.flags & QueryFlag.noBroadcast) === 0;
    // Even a query not for us is passed on: it is the first time we heard it.
    const pass = this.passes(q.filters);
    if (pass !== true) {
      this.ignore(pass);
      return rebroadcast;
    }
    const to: QueryAddress = { addr: q.addr, port: q.port, name: q.sourceNode };
    if ((q.flags & QueryFlag.ack) !== 0) {
      // Acked at once, before anyone answers.
      const ack: Omit<SerfQueryResponseMessage, 'type'> = { ltime: q.ltime, id: q.id, from: this.deps.name, flags: QueryFlag.ack, payload: new Uint8Array(0) };
      this.reply(to, ack, q.relayFactor, 'ack');
    }
    let responded = false;
    const deadline = this.deps.now() + Number(q.timeoutNs / 1_000_000n);
    const respond = (payload: Uint8Array) => {
      const resp = { ltime: q.ltime, id: q.id, from: this.deps.name, flags: 0, payload: payload.slice() };
      const size = encodeSerfQueryResponse(resp).length;
      if (size > this.responseLimit) throw new RangeError(`respond(): the response is ${size} bytes encoded, over Serf's limit of ${this.responseLimit} (QueryResponseSizeLimit)`);
      if (responded) throw new StateError(`respond(): query ${q.name} was already answered`);
      if (this.stopped) throw new StateError(`respond(): the node stopped`);
      if (this.deps.now() > deadline) throw new StateError(`respond(): query ${q.name} is past its deadline`);
      responded = true;
      this.reply(to, resp, q.relayFactor, 'response');
    };
    if (q.name.startsWith(INTERNAL_QUERY_PREFIX)) {
      const h = this.deps.internal.get(q.name);
      if (!h) {
        this.ignore('unknown_internal');
        return rebroadcast;
      }
      const answer = h({ name: q.name, payload: q.payload, from: q.sourceNode });
      if (answer !== undefined) {
        try {
          respond(answer);
        } catch {
          // As Serf: an internal answer that cannot be sent (too big, too late) is logged, not raised.
        }
      }
      return rebroadcast;
    }
    this.deps.deliver({ name: q.name, payload: q.payload.slice(), ltime: q.ltime, id: q.id, from: q.sourceNode, deadline, respond });
    return rebroadcast;
  }

  /** Serf's handleQueryResponse: each member's ack and response once, while the query is open */
  handleResponse(r: SerfQueryResponseMessage): void {
    const p = this.pending.get(r.ltime);
    if (!p) return void this.ignore('no_query');
    if (p.id !== r.id) return void this.ignore('id_mismatch');
    if (this.deps.now() > p.deadline) return void this.ignore('finished');
    if ((r.flags & QueryFlag.ack) !== 0) {
      // Serf has no ack channel for a query that asked for none, and drops these.
      if (!p.ack) return void this.ignore('ack_unrequested');
      if (p.acks.has(r.from)) return void this.ignore('duplicate_reply');
      p.acks.add(r.from);
      this.deps.received?.('ack');
      p.sink.reply({ type: 'ack', from: r.from });
    } else {
      if (p.responses.has(r.from)) return void this.ignore('duplicate_reply');
      p.responses.add(r.from);
      this.deps.received?.('response');
      p.sink.reply({ type: 'response', from: r.from, payload: r.payload.slice() });
    }
  }

  /** every open query ends now (their sinks told), and nothing more is sent */
  stop(): void {
    this.stopped = true;
    for (const [ltime, p] of [...this.pending]) this.close(ltime, p);
  }

  /** shouldProcessQuery: every filter must name us or match our tag; one we cannot read fails */
  private passes(filters: readonly Uint8Array[]): true | 'filtered' | 'bad_filter' {
    for (const raw of filters) {
      const d = decodeQueryFilter(raw);
      if (!d.ok) return 'bad_filter';
      const f = d.filter;
      if (f.type === 'node') {
        if (!f.nodes.includes(this.deps.name)) return 'filtered';
      } else {
        const re = goRegExp(f.expr);
        if (!re) return 'bad_filter';
        // A tag we do not have is matched as the empty string, as Go's map read gives.
        if (!re.test(this.deps.tags()[f.tag] ?? '')) return 'filtered';
      }
    }
    return true;
  }

  /** an ack or response to the querier, and through relayFactor other members */
  private reply(to: QueryAddress, r: Omit<SerfQueryResponseMessage, 'type'>, relayFactor: number, what: 'ack' | 'response'): void {
    const raw = encodeSerfQueryResponse(r);
    const l = this.deps.local();
    // Our own query: the answer needs no trip through the network.
    if (to.name === this.deps.name && to.port === l.port && bytesEqual(to.addr, l.addr)) this.handleResponse({ type: 'queryResponse', ...r });
    else this.deps.sendToAddress(to, raw);
    this.deps.sent?.(what);
    this.relay(to, raw, relayFactor);
  }

  /** Serf's relayResponse */
  private relay(to: QueryAddress, raw: Uint8Array, relayFactor: number): void {
    if (relayFactor === 0) return;
    const { others, count } = this.deps.members();
    // Only worth it with at least relayFactor other members.
    if (count < relayFactor + 1) return;
    const wrapped = encodeSerfRelay({ destAddr: to.addr, destPort: to.port, destName: to.name, inner: raw });
    if (wrapped.length > this.responseLimit) return;
    const eligible = others.filter((m) => m.alive && m.protocolMax >= RELAY_MIN_PROTOCOL && m.name !== this.deps.name);
    for (const m of pick(eligible, relayFactor, this.deps.random)) {
      this.deps.sendToAddress(m, wrapped);
      this.deps.sent?.('relay');
    }
  }

  private close(ltime: bigint, p: Pending): void {
    if (this.pending.get(ltime) !== p) return;
    this.pending.delete(ltime);
    p.cancel();
    p.sink.done();
  }

  private ignore(why: QueryIgnored): false {
    this.deps.ignored?.(why);
    return false;
  }

  private key(): string {
    return `serf-query:${++this.keys}`;
  }
}

/** k distinct members at random (Serf's kRandomMembers, without its retry bound: we filter first) */
function pick<T>(xs: readonly T[], k: number, random: () => number): T[] {
  const a = [...xs];
  const n = Math.min(k, a.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (a.length - i));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, n);
}

/**
 * A Go (RE2) expression as a JavaScript RegExp, for the syntax both share; Go's
 * leading flag group `(?i)` / `(?s)` / `(?m)` becomes the RegExp's flags. Undefined
 * when it does not compile, which Serf treats as a mismatch.
 */
export function goRegExp(expr: string): RegExp | undefined {
  let flags = '';
  const m = /^\(\?([ims]+)\)/.exec(expr);
  if (m) {
    flags = [...new Set(m[1]!)].join('');
    expr = expr.slice(m[0].length);
  }
  try {
    return new RegExp(expr, flags);
  } catch {
    return undefined;
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
