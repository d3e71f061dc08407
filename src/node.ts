// createNode(): validates the options and composes the sans-IO core (src/swim), the
// RxJS shell (src/shell), the transport, user messages and metrics, and owns their
// lifetimes so that stop() leaves nothing running. No protocol rule lives here.
import { asyncScheduler, auditTime, catchError, EMPTY, firstValueFrom, from, ignoreElements, mergeMap, Observable, race, Subject, Subscription, switchMap, takeUntil, timer } from 'rxjs';
import type { Member, MemberEvent, MemberState, SerfQuery, SerfQueryOptions, SerfQueryReply, SwimNode } from './api.js';
import { clockFromScheduler } from './clock.js';
import type { ProtocolConfig } from './config.js';
import { ForceLeaveError, StateError } from './errors.js';
import { addrFromString, formatHostPort } from './membership/address.js';
import { saveIdentity } from './membership/identity.js';
import { decodeTags, encodeTags } from './membership/tags.js';
import { UserMessaging, type SendOptions, type UserMessage } from './messaging/user-messages.js';
import { RawMessaging, type RawMessage, type RawSendOptions } from './messaging/raw-messages.js';
import { countMemberEvents } from './metrics/member-events.js';
import { NodeMetrics } from './metrics/metrics.js';
import { checkAdvertise, checkMeta, resolveOptions, type NodeOptions, type ResolvedOptions } from './node-options.js';
import type { Keyring } from './security/keyring.js';
import { Connections } from './shell/connections.js';
import { dispatcher } from './shell/dispatch.js';
import type { ShellContext } from './shell/context.js';
import { receivePacket } from './shell/inbound.js';
import { lonePingAnswerer } from './shell/relay.js';
import { Outbound } from './shell/outbound.js';
import { packetBuilderFor } from './shell/packet-builder.js';
import { type AckSignal } from './shell/prober.js';
import { startLoops } from './shell/loops.js';
import { PushPullSync } from './shell/push-pull.js';
import { serveConnection } from './shell/streams.js';
import { BroadcastQueue, takeGossip } from './swim/broadcast-queue.js';
import { SwimCore } from './swim/core.js';
import type { Coordinate } from './serf/coordinate.js';
import { isSerfMessage } from './serf/messages.js';
import type { SerfUserEvent } from './serf/user-events.js';
import { SerfLayer } from './shell/serf-layer.js';
import { NetworkCoordinates } from './serf/network-coordinates.js';
import { CoordinateMetrics } from './metrics/coordinate-metrics.js';
import type { Address, Transport } from './transport/transport.js';
import { createUdpTcpTransport } from './transport/udp-tcp.js';
import { encodeMessage } from './wire/messages.js';

export type { Logger, NodeOptions } from './node-options.js';
export type { SendOptions, UserMessage } from './messaging/user-messages.js';
export type { RawMessage, RawSendOptions } from './messaging/raw-messages.js';
export type { SerfUserEvent } from './serf/user-events.js';
export type { SerfQuery, SerfQueryOptions, SerfQueryReply } from './api.js';
/** the node's class name in earlier releases; the type is SwimNode */
export type RxSwimNode = SwimNode;

/**
 * members a joiner announces itself to, and a leaver tells its leave, directly; beyond
 * that, gossip alone. A bound, not everyone: at 10,000 members telling everyone was
 * 20,000 datagrams from one synchronous loop on leave, and gossip's retransmit limit
 * grows with log N, so the members not told directly are the ones gossip covers best.
 */
export const ANNOUNCE_MAX = 64;


const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

export function createNode(options: NodeOptions): SwimNode {
  return new Node(options);
}

class Node implements SwimNode {
  readonly name: string;
  readonly config: ProtocolConfig;
  readonly metrics: NodeMetrics;
  readonly keyring: Keyring;
  private readonly o: ResolvedOptions;
  private readonly core: SwimCore;
  private readonly queue: BroadcastQueue;
  private readonly user: UserMessaging;
  private readonly raw: RawMessaging;
  private readonly ctx: ShellContext;
  private readonly out: Outbound;
  private readonly sync: PushPullSync;
  /** Serf's layer (intents, events, queries, its push-pull state); undefined when `serfIntents: false` */
  private readonly serf: SerfLayer | undefined;
  /** Serf's network coordinates; undefined when `coordinates: false` */
  private readonly coords: NetworkCoordinates | undefined;
  /** within join(): a Serf peer's buffered events are from before we joined */
  private joining = false;
  private readonly changes = new Subject<void>();
  private readonly eventsSubject = new Subject<MemberEvent>();
  private readonly acks = new Subject<AckSignal>();
  private readonly nacks = new Subject<{ seqNo: number }>();
  /** something was queued for gossip (either queue): wakes the gossip loop */
  private readonly gossipQueued = new Subject<void>();
  private readonly stopped$ = new Subject<void>();
  private readonly subs = new Subscription();
  private transport: Transport | undefined;
  /** the failure counts of a transport already closed */
  private pastErrors = { send: 0, receive: 0 };
  private phase: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  private seqNo = 0;

  constructor(private readonly options: NodeOptions) {
    const o = (this.o = resolveOptions(options));
    const { name, config } = o;
    this.name = name;
    this.config = config;
    this.keyring = o.keyring;
    const scheduler = options.scheduler ?? asyncScheduler;
    const random = options.random ?? Math.random;
    const log = options.logger ?? silentLogger;
    this.queue = new BroadcastQueue(config.retransmitMult, () => this.core.size);
    this.core = new SwimCore({
      config,
      // Start above anything we announced before a restart.
      local: { name, meta: o.meta, vsn: o.vsn, incarnation: o.stored ? o.stored.incarnation + 1 : 1 },
      now: () => scheduler.now(),
      clock: clockFromScheduler(scheduler),
      random,
      ...(options.inspect ? { inspect: options.inspect } : {}),
      port: {
        gossip: (key, msg, onDone) => this.queue.queue({ key, message: encodeMessage(msg), ...(onDone ? { onDone } : {}) }),
        tell: (member, msg, kind) => {
          const m = this.core.member(member);
          if (!m || member === this.name) return;
          this.metrics.directAnswers.inc({ kind });
          this.out.sendRaw(m, [encodeMessage(msg)]);
        },
        event: (e) => this.eventsSubject.next(e),
        viewChanged: () => this.changes.next(),
        refuted: () => {
          this.metrics.refutations.inc();
          this.persistIdentity();
        },
        confirmed: () => this.metrics.suspicionConfirmations.inc(),
        log: (level, msg, fields) => log[level]({ node: name, ...fields }, msg),
      },
    });
    // After stop() the transport is gone; what it counted stays scrapeable (pastErrors).
    const sources = {
      memberCounts: () => this.core.countByState(),
      queueDepth: () => this.queue.depth,
      userQueueDepth: () => this.user.queue.depth,
      transportErrors: () => this.transportErrors(),
    };
    this.metrics = new NodeMetrics({ ...sources, healthScore: () => this.core.awareness.score,
        incarnation: () => this.core.local.incarnation,
        timeouts: () => {
          const b = this.core.suspicionBounds();
          return { probeTimeout: this.core.probeTimeout(), suspicionMin: b.minMs, suspicionMax: b.maxMs };
        },
      }, options.registry);
    this.subs.add(countMemberEvents(this.eventsSubject, this.metrics));
    this.coords = options.coordinates === false ? undefined : new NetworkCoordinates(name);
    const packets = packetBuilderFor(
      config,
      this.keyring,
      (limit) => takeGossip(this.queue, this.user.queue, limit),
      () => this.queue.depth > 0 || this.user.queue.depth > 0,
      o.labels,
    );
    this.ctx = {
      name, config, scheduler, core: this.core, metrics: this.metrics, log, packets,
      connections: new Connections(),
      stopped$: this.stopped$,
      transport: () => (this.phase === 'running' ? this.transport : undefined),
      rttClock: options.scheduler ? () => scheduler.now() : () => performance.now(),
      nextSeqNo: () => (this.seqNo = (this.seqNo + 1) >>> 0),
      acks$: this.acks,
      gossipQueued$: this.gossipQueued,
      ...(this.coords ? { ping: this.pingDelegate(this.coords) } : {}),
    };
    this.out = new Outbound(this.ctx);
    const serf = (this.serf =
      options.serfIntents === false
        ? undefined
        : new SerfLayer(this.ctx, this.out, {
            random,
            keyring: this.keyring,
            gossip: (key, message) => this.user.queue.queue({ key, message }),
            remember: (message) => this.user.remember(message),
            joining: () => this.joining,
            running: () => this.phase === 'running' && !this.core.local.leaving,
          }));
    this.raw = new RawMessaging({
      metrics: this.metrics,
      queue: () => this.user.queue,
      packetBudget: () => config.udpBufferSize - 2,
      overhead: () => packets.encryptionOverhead() + packets.labelOverhead(),
      sendPacket: (member, message) => this.out.sendRaw(this.core.member(member)!, [message]),
      sendStream: (member, payload) => this.out.sendStream(this.core.member(member)!, { type: 'userStream', payload }),
    });
    this.user = new UserMessaging({
      name, config, scheduler, random, metrics: this.metrics,
      numNodes: () => this.core.size,
      // Everything the packet layer adds around a message, the label header included.
      encryptionOverhead: () => packets.encryptionOverhead() + packets.labelOverhead(),
      sendPacket: (member, message) => this.out.sendRaw(this.core.member(member)!, [message]),
      sendStream: (member, envelope) => this.out.sendStream(this.core.member(member)!, { type: 'userStream', payload: envelope }),
      ...(options.delegate ? { delegate: options.delegate } : {}),
      // Serf's types (0-9) go to Serf's layer while it is on; the rest to rawMessages$.
      foreign: (bytes, via, inJoinState) => (serf && isSerfMessage(bytes) ? serf.receive(bytes, inJoinState) : this.raw.receive(bytes, via)),
      ...(serf
        ? {
            foreignState: (state: Uint8Array, join: boolean) => {
              if (state[0] === 2) serf.receiveState(state, join);
            },
            serfState: () => serf.localState(),
            serfWitness: (ltime: bigint) => serf.witness(ltime),
          }
        : {}),
      log: (level, msg, fields) => log[level]({ node: name, ...fields }, msg),
    });
    this.sync = new PushPullSync(this.ctx, this.out, this.user);
    const wake = () => this.gossipQueued.next();
    this.queue.onQueued = wake;
    this.user.queue.onQueued = wake;
  }

  private pingDelegate(coords: NetworkCoordinates): NonNullable<ShellContext['ping']> {
    const counts = new CoordinateMetrics(this.metrics.registry, { error: () => coords.coordinate.error, resets: () => coords.stats.resets });
    return {
      ackPayload: () => coords.ackPayload(),
      notifyPingComplete: (member, rttMs, payload) => {
        counts.count(coords.notifyPingComplete(member, rttMs, payload));
        // Members dropped from the list leave their coordinate behind; sweep them when
        // they could be a good part of the cache (amortised over many updates).
        if (coords.size > 2 * this.core.size + 16) void this.coordinates();
      },
    };
  }

  get coordinate(): Coordinate | undefined { return this.coords?.coordinate; }
  coordinateOf(name: string): Coordinate | undefined {
    return this.coords && (name === this.name || this.core.member(name)) ? this.coords.coordinateOf(name) : undefined;
  }
  coordinates(): Array<{ name: string; coordinate: Coordinate }> {
    if (!this.coords) return [];
    const out: Array<{ name: string; coordinate: Coordinate }> = [];
    for (const [name, coordinate] of this.coords.entries()) {
      // Serf forgets a coordinate when it erases the member; we do when it is no longer listed.
      if (name === this.name || this.core.member(name)) out.push({ name, coordinate });
      else this.coords.forget(name);
    }
    return out;
  }

  get localMember(): Member { return this.core.local.toMember(); }
  get healthScore(): number { return this.core.awareness.score; }
  get queueDepth(): number { return this.queue.depth; }
  get address(): Address | undefined { return this.transport?.address; }
  get events$(): Observable<MemberEvent> { return this.eventsSubject.asObservable(); }
  get messages$(): Observable<UserMessage> { return this.user.messages$; }
  get rawMessages$(): Observable<RawMessage> { return this.raw.messages$; }
  // With Serf's layer off, nothing ever arrives; they still complete on stop, as documented.
  get serfEvents$(): Observable<SerfUserEvent> { return this.serf?.events$ ?? this.stopped$.pipe(ignoreElements()); }
  get serfQueries$(): Observable<SerfQuery> { return this.serf?.queries$ ?? this.stopped$.pipe(ignoreElements()); }
  members(): Member[] { return this.core.members(); }
  member(name: string): Member | undefined { return this.core.member(name); }
  countByState(): Record<MemberState, number> { return this.core.countByState(); }

  /**
   * The list on subscribe, then one list per burst of changes: a push-pull can change
   * thousands of members at once, and a list per change would cost O(n²). The list is
   * built once the burst is over (auditTime 0 on the node's scheduler), only for subscribers.
   */
  get members$(): Observable<readonly Member[]> {
    return new Observable<readonly Member[]>((sub) => {
      sub.next(this.core.members());
      return this.changes.pipe(auditTime(0, this.ctx.scheduler)).subscribe({ next: () => sub.next(this.core.members()), complete: () => sub.complete() });
    });
  }

  topic(name: string) {
    return { messages$: this.user.topic(name), publish: (payload: Uint8Array | string) => this.broadcast(payload, name) };
  }

  broadcast(payload: Uint8Array | string, topic = ''): boolean {
    this.mustRun('broadcast()');
    return this.user.broadcast(typeof payload === 'string' ? Buffer.from(payload) : payload, topic);
  }

  async send(member: string, payload: Uint8Array | string, opts: SendOptions = {}): Promise<void> {
    this.mustRun('send()');
    if (member === this.name || !this.core.member(member)) throw new StateError(`send(): ${JSON.stringify(member)} is not a known remote member`);
    return this.user.send(member, typeof payload === 'string' ? Buffer.from(payload) : payload, opts);
  }

  broadcastRaw(payload: Uint8Array | string): boolean {
    this.mustRun('broadcastRaw()');
    return this.raw.broadcast(typeof payload === 'string' ? Buffer.from(payload) : payload);
  }

  async sendRaw(member: string, payload: Uint8Array | string, opts: RawSendOptions = {}): Promise<void> {
    this.mustRun('sendRaw()');
    if (member === this.name || !this.core.member(member)) throw new StateError(`sendRaw(): ${JSON.stringify(member)} is not a known remote member`);
    return this.raw.send(member, typeof payload === 'string' ? Buffer.from(payload) : payload, opts);
  }

  serfEvent(name: string, payload: Uint8Array | string = new Uint8Array(0), opts: { coalesce?: boolean } = {}): bigint {
    this.mustRun('serfEvent()');
    if (!this.serf) throw new StateError('serfEvent(): Serf\'s layer is off (serfIntents: false)');
    return this.serf.sendEvent(name, typeof payload === 'string' ? Buffer.from(payload) : payload, opts.coalesce ?? false);
  }

  serfQuery(name: string, payload: Uint8Array | string = new Uint8Array(0), opts: SerfQueryOptions = {}): Observable<SerfQueryReply> {
    this.mustRun('serfQuery()');
    if (!this.serf) throw new StateError('serfQuery(): Serf\'s layer is off (serfIntents: false)');
    return this.serf.query(name, typeof payload === 'string' ? Buffer.from(payload) : payload, opts);
  }

  setMeta(meta: Uint8Array): void {
    this.core.setMeta(checkMeta(meta), this.phase === 'running');
    this.persistIdentity();
  }

  setTags(tags: Record<string, string>): void { this.setMeta(encodeTags(tags)); }

  async start(): Promise<void> {
    if (this.phase !== 'new') throw new StateError(`start(): node ${this.name} is ${this.phase}, it can start only once`);
    try {
      checkAdvertise(this.o);
      this.phase = 'starting';
      this.transport = await (this.options.transport ?? createUdpTcpTransport)(this.o.bind);
    } catch (e) {
      await this.stop();
      throw e;
    }
    const bound = this.transport.address;
    const adv = this.o.advertise ?? bound;
    this.core.setAddress(addrFromString(adv.host), adv.port === 0 ? bound.port : adv.port);
    this.phase = 'running';
    // Only once bound: a failed start must not claim the data dir for this name.
    this.persistIdentity();
    const { ctx, out } = this;
    const handle = dispatcher(ctx, out, { acks: this.acks, nacks: this.nacks, user: this.user, subs: this.subs });
    const lonePing = lonePingAnswerer(ctx, out);
    this.subs.add(this.transport.packets$.subscribe((d) => receivePacket(ctx, d.from, d.data, handle, lonePing)));
    this.subs.add(
      this.transport.connections$.subscribe((c) => {
        if (this.phase !== 'running') return c.destroy();
        this.subs.add(serveConnection(ctx, out, c, { pushPull: (m, peer) => this.sync.answer(m, peer), userStream: (p) => this.user.receive(p, 'tcp') }));
      }),
    );
    this.subs.add(startLoops(ctx, out, this.sync, this.nacks, this.options.random ?? Math.random));
  }

  async join(seeds: readonly string[]): Promise<number> {
    this.mustRun('join()', '; call start() first');
    this.joining = true;
    let answered: Address[];
    try {
      answered = await this.sync.join(seeds);
    } finally {
      this.joining = false;
    }
    if (this.phase === 'running') this.afterJoin(seeds, answered);
    // Serf's Join: a join intent once anyone answered, at the clock the join's
    // push-pull moved on, gossiped as Serf gossips it.
    if (this.serf && this.phase === 'running' && answered.length > 0) this.serf.announceJoin();
    return answered.length;
  }

  /**
   * Serf's RemoveFailedNode (`serf force-leave`): a leave intent for `name` at our
   * clock, applied here and gossiped; Serf agents then list it left, and with `prune`
   * erase it. Refuses our own name (leave() is how we go) and a name we do not list.
   */
  forceLeave(name: string, opts: { prune?: boolean } = {}): bigint {
    this.mustRun('forceLeave()');
    if (!this.serf) throw new StateError("forceLeave(): Serf's layer is off (serfIntents: false)");
    if (name === this.name) throw new ForceLeaveError('self', `forceLeave(): ${JSON.stringify(name)} is this node; use leave()`);
    if (!this.core.member(name)) throw new ForceLeaveError('unknown', `forceLeave(): ${JSON.stringify(name)} is not a member this node lists`);
    return this.serf.forceLeave(name, opts.prune ?? false);
  }

  /**
   * Gossip carries a join to everyone with high probability, not certainly: each
   * member passes it to random members a bounded number of times, and under load a
   * member can miss every copy until a push-pull repairs it, 30 s or more later. So,
   * with memberlist's own messages: the joiner announces itself once, directly, to
   * the members it just learned (up to ANNOUNCE_MAX, at random), and a probe interval
   * later push-pulls with one more random member (not a seed), whose view may hold
   * members that joined at the same time as we did and that the seed did not know yet.
   * When several seeds answered, each saw only us in our join's push-pull (all were
   * sent at once, before any reply), so what one seed told us reaches the others only
   * by our gossip, whose few retransmits may be spent before we even knew them (two
   * clusters merged through one joiner; seeds that had not met). So each answering
   * seed gets a second push-pull with our merged view, right away.
   */
  private afterJoin(seeds: readonly string[], answered: readonly Address[]): void {
    const alive = encodeMessage(this.core.local.alive());
    for (const m of this.core.randomMembers(ANNOUNCE_MAX, ['alive', 'suspect'])) this.out.sendRaw(m, [alive]);
    if (answered.length > 1) {
      const again$ = from(answered).pipe(
        mergeMap((seed) => this.sync.exchange(seed, false).pipe(catchError(() => EMPTY))),
        takeUntil(this.stopped$),
      );
      this.subs.add(again$.subscribe());
    }
    const seedAddrs = new Set(seeds.map((s) => s.slice(s.indexOf('/') + 1)));
    const second$ = timer(this.config.probeInterval, this.ctx.scheduler).pipe(
      switchMap(() => {
        const peer = this.core.randomMembers(8, ['alive']).find((m) => !seedAddrs.has(formatHostPort(m.address, m.port)));
        return peer ? this.sync.exchange({ host: peer.address, port: peer.port }, false).pipe(catchError(() => EMPTY)) : EMPTY;
      }),
      takeUntil(this.stopped$),
    );
    this.subs.add(second$.subscribe());
  }

  async leave(timeoutMs = this.config.leaveTimeout): Promise<void> {
    if (this.phase === 'running' && this.core.aliveCount > 1) {
      const deadline = this.ctx.scheduler.now() + timeoutMs;
      // a fresh random sample for each message: with more than ANNOUNCE_MAX members,
      // more of them hear one of the two directly
      const live = () => this.core.randomMembers(ANNOUNCE_MAX, ['alive', 'suspect']);
      // Serf's Leave: its leave intent goes first, and memberlist's leave only once the
      // intent has been gossiped out (or half the time is spent), so Serf agents record
      // "left", not "failed" (they do only when the intent came first).
      if (this.serf) {
        const intent = this.serf.leaveIntent();
        for (const m of live()) this.out.sendRaw(m, [intent]);
        await this.queueAndWait(this.user.queue, this.serf.intentKey(this.name), intent, timeoutMs / 2);
      }
      // memberlist's Leave: gossip dead-about-self from self and wait (bounded) until it
      // has used its retransmits, so peers record "left" rather than "failed".
      const message = encodeMessage(this.core.leave());
      // Beyond memberlist: also tell live members directly (up to ANNOUNCE_MAX). With a
      // small retransmit limit (2 in `local`) gossip alone can miss a member, which then
      // probes us, finds us gone and records a failure instead of a leave.
      for (const m of live()) this.out.sendRaw(m, [message]);
      await this.queueAndWait(this.queue, this.name, message, Math.max(0, deadline - this.ctx.scheduler.now()));
    } else if (this.phase === 'running') this.core.leave();
    await this.stop();
  }

  /** queue a broadcast and wait until it has used its retransmits, at most `ms` (or until stopped) */
  private async queueAndWait(queue: BroadcastQueue, key: string, message: Uint8Array, ms: number): Promise<void> {
    const done = new Subject<void>();
    queue.queue({ key, message, onDone: () => done.next() });
    await firstValueFrom(race(done, timer(ms, this.ctx.scheduler)).pipe(takeUntil(this.stopped$)), { defaultValue: undefined });
  }

  async stop(): Promise<void> {
    if (this.phase === 'stopped') return;
    this.phase = 'stopped';
    this.stopped$.next();
    this.stopped$.complete();
    this.subs.unsubscribe();
    this.ctx.connections.close();
    this.queue.reset();
    this.user.stop();
    this.raw.stop();
    this.core.stop();
    for (const s of [this.changes, this.eventsSubject, this.acks, this.nacks, this.gossipQueued]) s.complete();
    this.serf?.stop();
    const t = this.transport;
    this.pastErrors = this.transportErrors();
    this.transport = undefined;
    await t?.close();
  }

  /** what every transport this node had counted: those closed, and the open one */
  private transportErrors(): { send: number; receive: number } {
    const t = this.transport;
    return { send: this.pastErrors.send + (t?.sendErrors ?? 0), receive: this.pastErrors.receive + (t?.receiveErrors ?? 0) };
  }

  private mustRun(what: string, hint = ''): void {
    if (this.phase !== 'running') throw new StateError(`${what}: node ${this.name} is ${this.phase}${hint}`);
  }

  private persistIdentity(): void {
    if (this.options.dataDir === undefined || this.phase !== 'running') return;
    saveIdentity(this.options.dataDir, { name: this.name, incarnation: this.core.local.incarnation });
  }
}
