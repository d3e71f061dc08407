// Serf's layer over memberlist on a running node: its member intents, user events,
// queries (internal ones included: ping, conflict, the key queries behind `serf keys`)
// and its push-pull state, composed once here so that node.ts only routes to it. Serf
// speaks through memberlist user messages (a type byte 0-9 before rxswim's envelope
// 0xf5) and through the push-pull user state (type 2), and so does this layer: every
// message it sends is gossiped on the user-message queue or sent as a user message.
import { Observable, Subject } from 'rxjs';
import type { MemberState, SerfQuery, SerfQueryOptions, SerfQueryReply } from '../api.js';
import { addrFromString } from '../membership/address.js';
import { decodeTags } from '../membership/tags.js';
import { KeyQueryMetrics } from '../metrics/key-query-metrics.js';
import type { NodeMetrics } from '../metrics/metrics.js';
import { QueryMetrics } from '../metrics/query-metrics.js';
import type { Keyring } from '../security/keyring.js';
import { conflictHandler, CONFLICT_QUERY, PING_QUERY, serfStatusOf, type InternalQueryHandlers } from '../serf/internal-queries.js';
import { SerfIntents } from '../serf/intents.js';
import { keyQueryHandlers, keyResponseBudget } from '../serf/key-queries.js';
import { decodeSerfMessage, encodeSerfPushPull, SerfMessageType } from '../serf/messages.js';
import type { SerfQueries } from '../serf/queries.js';
import { SerfEvents, type SerfUserEvent } from '../serf/user-events.js';
import { encodeMessage } from '../wire/messages.js';
import type { ShellContext } from './context.js';
import type { Outbound } from './outbound.js';
import { createSerfQueries, runQuery } from './serf-queries.js';

/** Serf's query, query response and relay messages */
const QUERY_TYPES = new Set<number>([SerfMessageType.query, SerfMessageType.queryResponse, SerfMessageType.relay]);

export interface SerfLayerDeps {
  random: () => number;
  keyring: Keyring;
  /** gossip a user message on the user-message queue; a newer one with the same key replaces it */
  gossip(key: string, message: Uint8Array): void;
  /** keep a Serf message for our own push-pull state's recent list (rxswim peers that gossip missed) */
  remember(message: Uint8Array): void;
  /** within join(): a peer's buffered events are from before we joined */
  joining(): boolean;
  /** up and not leaving: an intent saying we leave is then stale, and refuted */
  running(): boolean;
}

export class SerfLayer {
  readonly intents: SerfIntents;
  private readonly events: SerfEvents;
  private readonly queries: SerfQueries;
  private readonly queryMetrics: QueryMetrics;
  /** Serf's internal queries answered here, by name (`_serf_ping`, `_serf_conflict`, the key queries) */
  private readonly internal: InternalQueryHandlers = new Map();
  private readonly eventsSubject = new Subject<SerfUserEvent>();
  private readonly queriesSubject = new Subject<SerfQuery>();

  constructor(
    private readonly ctx: ShellContext,
    out: Outbound,
    private readonly deps: SerfLayerDeps,
  ) {
    const { core, metrics, name } = ctx;
    const gossipSerf = (key: string, message: Uint8Array) => deps.gossip(key, encodeMessage({ type: 'user', payload: message }));
    this.intents = new SerfIntents({
      name,
      leaving: (node, prune) => core.leaveIntent(node, prune),
      staying: (node) => core.joinIntent(node),
      listed: (node): MemberState | undefined => core.member(node)?.state,
      applied: (type) => metrics.serfIntents.inc({ type }),
      rebroadcast: gossipSerf,
      running: deps.running,
    });
    this.events = new SerfEvents({
      deliver: (e) => {
        metrics.serfEventsReceived.inc();
        this.eventsSubject.next(e);
      },
      rebroadcast: (key, message) => {
        gossipSerf(key, message);
        // Carried in our push-pull state too, so an rxswim peer that gossip missed gets it.
        deps.remember(message);
      },
      ignored: (reason) => metrics.serfEventsIgnored.inc({ reason }),
    });
    this.internal.set(PING_QUERY, () => undefined);
    this.internal.set(
      CONFLICT_QUERY,
      conflictHandler(name, (n) => {
        const m = core.member(n);
        return m && { name: m.name, addr: addrFromString(m.address), port: m.port, tags: { ...(m.tags ?? {}) }, status: serfStatusOf(m.state), vsn: m.vsn };
      }),
    );
    this.addKeyQueries();
    this.queryMetrics = new QueryMetrics(metrics.registry);
    this.queries = createSerfQueries(ctx, out, {
      random: deps.random,
      metrics: this.queryMetrics,
      internal: this.internal,
      tags: () => decodeTags(core.local.meta) ?? {},
      gossip: gossipSerf,
      deliver: (q) => this.queriesSubject.next(q),
    });
  }

  get events$(): Observable<SerfUserEvent> { return this.eventsSubject.asObservable(); }
  get queries$(): Observable<SerfQuery> { return this.queriesSubject.asObservable(); }

  /** a memberlist user message whose first byte is one of Serf's types (0-9) */
  receive(bytes: Uint8Array, inJoinState: boolean): void {
    const t = bytes[0]!;
    this.drop(
      QUERY_TYPES.has(t)
        ? this.queries.receive(bytes)
        : t === SerfMessageType.userEvent
          ? this.events.receive(bytes, inJoinState && this.deps.joining())
          : this.intents.receive(bytes),
    );
  }

  /** a push-pull user state that begins with Serf's push-pull type: decoded once, read by each part */
  receiveState(state: Uint8Array, join: boolean): void {
    const d = decodeSerfMessage(state);
    if (!d.ok) return this.drop(d.reason);
    if (d.message.type !== 'pushPull') return this.drop('unknown_type');
    this.intents.mergeState(d.message);
    this.events.mergeState(d.message, join && this.deps.joining());
    this.queries.witnessState(d.message.queryLTime);
  }

  /** Serf's LocalState: what a Serf agent reads first in our push-pull user state */
  localState(): Uint8Array {
    return encodeSerfPushPull({ ltime: this.intents.clock.time(), ...this.intents.statusTimes(), ...this.events.state(), queryLTime: this.queries.clock.time() });
  }

  /** a Serf Lamport time an older rxswim node carried in its own state */
  witness(ltime: bigint): void {
    this.intents.clock.witness(ltime - 1n);
  }

  /** Serf's UserEvent; returns its event time */
  sendEvent(name: string, payload: Uint8Array, coalesce: boolean): bigint {
    const ltime = this.events.send(name, payload, coalesce);
    this.ctx.metrics.serfEventsSent.inc();
    return ltime;
  }

  /** Serf's Query: replies until the timeout, replayed to late subscribers */
  query(name: string, payload: Uint8Array, opts: SerfQueryOptions): Observable<SerfQueryReply> {
    return runQuery(this.queries, this.queryMetrics, name, payload, opts);
  }

  /** Serf's broadcastJoin, after a join anyone answered */
  announceJoin(): void {
    this.gossipIntent(this.ctx.name, this.intents.joinIntent());
  }

  /** Serf's RemoveFailedNode: a leave intent for `node`, applied here and gossiped */
  forceLeave(node: string, prune: boolean): bigint {
    const { ltime, message } = this.intents.forceLeave(node, prune);
    this.gossipIntent(node, message);
    return ltime;
  }

  /** our leave intent as a user message, at a time above everything we have seen */
  leaveIntent(): Uint8Array {
    return encodeMessage({ type: 'user', payload: this.intents.leaveIntent() });
  }

  /** the gossip key of the intents about `node`: a newer one replaces the older in the queue */
  intentKey(node: string): string {
    return `serf:${node}`;
  }

  stop(): void {
    this.queries.stop();
    this.eventsSubject.complete();
    this.queriesSubject.complete();
  }

  private gossipIntent(node: string, message: Uint8Array): void {
    this.deps.gossip(this.intentKey(node), encodeMessage({ type: 'user', payload: message }));
  }

  // Serf's key queries (`serf keys -install/-use/-remove/-list`), answered from our keyring.
  private addKeyQueries(): void {
    const { name, metrics } = this.ctx;
    const log = this.ctx.log;
    const counts = new KeyQueryMetrics(metrics.registry);
    const handlers = keyQueryHandlers(this.deps.keyring, {
      maxPayload: keyResponseBudget(name),
      answered: (a) => {
        counts.count(a.op, a.result);
        const fields = { node: name, event: 'key_query', op: a.op, result: a.result, from: a.from, ...(a.message ? { message: a.message } : {}) };
        log[a.result === 'ok' ? 'info' : 'warn'](fields, `serf key query ${a.op} from ${a.from}: ${a.result}`);
      },
    });
    for (const [query, handler] of handlers) this.internal.set(query, handler);
  }

  private drop(reason: string | undefined): void {
    if (reason) this.ctx.metrics.packetsDropped.inc({ reason });
  }
}
