// The public SwimNode: wires the transport, the wire codec, the member table and
// the RxJS pipelines (prober, gossip, periodic push-pull) together, and owns their
// lifetimes so that stop() leaves nothing running.
import {
  asyncScheduler,
  catchError,
  defer,
  EMPTY,
  firstValueFrom,
  from,
  map,
  mergeMap,
  type Observable,
  of,
  race,
  type SchedulerLike,
  Subject,
  Subscription,
  switchMap,
  take,
  takeUntil,
  timer,
  filter,
  finalize,
  repeat,
  toArray,
  timeout,
  throwError,
} from 'rxjs';
import type { Registry } from 'prom-client';
import type { InspectionEvent, Observer } from 'xstate';
import type { Member, MemberState, SwimNode } from './api.js';
import { resolveConfig, type Profile, type ProtocolConfig, type ProtocolOverrides } from './config.js';
import { ConfigError, DecodeError, JoinError, StateError } from './errors.js';
import { addrFromString, addrToString, parseHostPort } from './membership/address.js';
import { MemberTable } from './membership/member-table.js';
import { messageTypeOf, NodeMetrics } from './metrics/metrics.js';
import { Awareness } from './swim/awareness.js';
import { BroadcastQueue } from './swim/broadcast-queue.js';
import { gossip$ } from './shell/gossip.js';
import { prober$, type AckSignal } from './shell/prober.js';
import { protocolIncompatibility } from './swim/push-pull.js';
import { readStreamMessage } from './shell/stream-reader.js';
import type { Address, StreamConn, Transport } from './transport/transport.js';
import { createUdpTcpTransport } from './transport/udp-tcp.js';
import { encodeMessage } from './wire/messages.js';
import { decodePacket, encodePacket, type DecodePacketOptions } from './wire/packet.js';
import { encodeStream } from './wire/stream.js';
import { ENCRYPTION_OVERHEAD_V0, ENCRYPTION_OVERHEAD_V1 } from './wire/crypto.js';
import { Keyring } from './security/keyring.js';
import { loadIdentity, saveIdentity } from './membership/identity.js';
import { encodeTags } from './membership/tags.js';
import { decodeEnvelope, encodeEnvelope, type Envelope } from './messaging/user-envelope.js';
import { reconnect$ } from './shell/reconnect.js';
import { decodePushPullState, encodePushPullState, RecentBroadcasts } from './messaging/push-pull-state.js';
import type { GossipMessage, IndirectPing, PacketMessage, Ping, PushPull, StreamMessage } from './wire/types.js';

/** Structured logger; pino's Logger fits. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface NodeOptions {
  /** unique node name in the cluster; may be omitted when `dataDir` remembers it */
  name?: string;
  /** `host:port` to bind UDP and TCP on; default 0.0.0.0:7946 */
  bind?: string;
  /** `host:port` others should use to reach us; default: the bound address */
  advertise?: string;
  /** memberlist preset: lan (default), wan, local */
  profile?: Profile;
  /** override any protocol setting of the preset */
  config?: ProtocolOverrides;
  /** opaque metadata, at most 512 bytes (Serf puts its tags here) */
  meta?: Uint8Array;
  /**
   * Delegate protocol versions we advertise [min, max, cur]. Serf refuses to merge
   * with nodes whose delegate version it does not understand, so the default matches
   * Serf 0.8's (2, 5, 5).
   */
  delegateVersion?: readonly [number, number, number];
  /** RxJS scheduler for every timer; a VirtualTimeScheduler in simulation */
  scheduler?: SchedulerLike;
  /** supply a transport (the in-memory network); default: real UDP/TCP on `bind` */
  transport?: (bind: Address) => Transport | Promise<Transport>;
  /** random source (seeded in simulation) */
  random?: () => number;
  logger?: Logger;
  /** prom-client registry to register into; default: a registry of this node's own */
  registry?: Registry;
  /** XState inspector for every member actor */
  inspect?: Observer<InspectionEvent> | ((e: InspectionEvent) => void);
  /** Serf-style tags; stored in meta in Serf's encoding (exclusive with `meta`) */
  tags?: Record<string, string>;
  /**
   * Encryption keys (base64 or bytes; 16, 24 or 32 bytes), primary first. Packets
   * and streams are sealed with AES-GCM as memberlist does, so it interoperates with
   * `serf agent -encrypt`.
   */
  keyring?: ReadonlyArray<string | Uint8Array>;
  /**
   * Directory that keeps this node's name and last incarnation, so a restarted node
   * announces itself above its old death at once instead of waiting to be forgotten.
   */
  dataDir?: string;
  /** application state exchanged on join and anti-entropy (memberlist's LocalState/MergeRemoteState) */
  delegate?: {
    localState?(join: boolean): Uint8Array;
    mergeRemoteState?(state: Uint8Array, join: boolean): void;
  };
}

/** A user message as delivered to messages$. */
export interface UserMessage {
  /** name of the node that sent it (for a broadcast: its origin, not the relay) */
  from: string;
  topic: string;
  payload: Uint8Array;
  via: 'broadcast' | 'udp' | 'tcp';
}

export interface SendOptions {
  /** TCP instead of UDP: delivered in order or not at all, no size limit short of 20 MiB */
  reliable?: boolean;
  topic?: string;
}

const META_MAX = 512;
const STREAM_MAX_BYTES = 20 * 1024 * 1024;
/** broadcasts remembered per node so a re-gossiped one is delivered once */
const SEEN_BROADCASTS = 8192;
/** the largest UDP payload we send; bigger direct messages must go reliable (TCP) */
const MAX_DATAGRAM = 65_000;
const FLAP_WINDOW_MS = 60_000;
const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

type Phase = 'new' | 'starting' | 'running' | 'stopped';

export function createNode(options: NodeOptions): SwimNode & RxSwimNode {
  return new RxSwimNode(options);
}

export class RxSwimNode implements SwimNode {
  readonly name: string;
  readonly config: ProtocolConfig;
  readonly metrics: NodeMetrics;
  private readonly scheduler: SchedulerLike;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly options: NodeOptions;
  private readonly bindAddr: Address;
  private readonly awareness: Awareness;
  private readonly queue: BroadcastQueue;
  private readonly table: MemberTable;
  private readonly acks = new Subject<AckSignal>();
  private readonly nacks = new Subject<{ seqNo: number }>();
  private readonly stopped$ = new Subject<void>();
  private readonly subs = new Subscription();
  private readonly openConns = new Set<StreamConn>();
  private readonly userQueue: BroadcastQueue;
  private readonly messagesSubject = new Subject<UserMessage>();
  private readonly seen = new Set<string>();
  private readonly recent = new RecentBroadcasts();
  private userSeq: number;
  /** the node's keyring; empty means no encryption */
  readonly keyring: Keyring;
  private transport: Transport | undefined;
  private phase: Phase = 'new';
  private seqNo = 0;
  /** sub-millisecond on real time; the scheduler's own clock in simulation */
  private readonly rttClock: () => number;

  constructor(options: NodeOptions) {
    const stored = options?.dataDir !== undefined ? loadIdentity(options.dataDir) : undefined;
    const name = options?.name ?? stored?.name;
    if (typeof name !== 'string' || name.length === 0 || name.length > 255) {
      throw new ConfigError('name', 'must be a non-empty string of at most 255 characters');
    }
    if (stored && stored.name !== name) {
      throw new ConfigError('name', `data dir ${options.dataDir} belongs to node ${JSON.stringify(stored.name)}, not ${JSON.stringify(name)}`);
    }
    this.options = options;
    this.name = name;
    this.config = resolveConfig(options.profile ?? 'lan', options.config ?? {});
    this.bindAddr = parseHostPort(options.bind ?? '0.0.0.0:7946', 'bind');
    if (options.advertise !== undefined) parseHostPort(options.advertise, 'advertise');
    if (options.meta !== undefined && options.tags !== undefined) throw new ConfigError('tags', 'give either meta or tags, not both');
    const meta = options.tags !== undefined ? encodeTags(options.tags) : (options.meta ?? new Uint8Array(0));
    if (!(meta instanceof Uint8Array) || meta.length > META_MAX) {
      throw new ConfigError('meta', `must be a Uint8Array of at most ${META_MAX} bytes`);
    }
    this.keyring = new Keyring((options.keyring ?? []).map((k, i) => Keyring.parseKey(k, `keyring[${i}]`)));
    const dv = options.delegateVersion ?? [2, 5, 5];
    if (dv.length !== 3 || dv.some((v) => !Number.isInteger(v) || v < 0 || v > 255) || dv[0]! > dv[1]! || dv[2]! < dv[0]! || dv[2]! > dv[1]!) {
      throw new ConfigError('delegateVersion', 'must be [min, max, cur] integers 0-255 with min <= cur <= max');
    }
    this.scheduler = options.scheduler ?? asyncScheduler;
    const sched = this.scheduler;
    this.rttClock = options.scheduler ? () => sched.now() : () => performance.now();
    this.random = options.random ?? Math.random;
    this.log = options.logger ?? silentLogger;
    this.awareness = new Awareness(this.config.awarenessMaxMultiplier);
    this.queue = new BroadcastQueue(this.config.retransmitMult, () => this.table.size);
    this.table = new MemberTable({
      scheduler: this.scheduler,
      config: this.config,
      random: this.random,
      local: {
        name: this.name,
        addr: new Uint8Array(0),
        port: 0,
        meta,
        // We understand memberlist protocols 1..5 and speak the configured one.
        vsn: Uint8Array.of(1, 5, this.config.protocolVersion, dv[0]!, dv[1]!, dv[2]!),
        // Start above anything we announced before a restart.
        incarnation: stored ? stored.incarnation + 1 : 1,
      },
      broadcast: (key, msg) => this.queue.queue({ key, message: encodeMessage(msg) }),
      onConfirmation: () => this.metrics.suspicionConfirmations.inc(),
      onRefute: () => {
        this.awareness.apply(1);
        this.metrics.refutations.inc();
        this.persistIdentity();
      },
      log: (level, msg, fields) => this.log[level]({ node: this.name, ...fields }, msg),
      ...(options.inspect ? { inspect: options.inspect } : {}),
    });
    this.metrics = new NodeMetrics(
      {
        memberCounts: () => this.table.countByState(),
        queueDepth: () => this.queue.depth,
        userQueueDepth: () => this.userQueue.depth,
        healthScore: () => this.awareness.score,
        incarnation: () => this.table.local.incarnation,
      },
      options.registry,
    );
    const failedAt = new Map<string, number>();
    this.subs.add(
      this.table.events$.subscribe((e) => {
        this.metrics.memberTransitions.inc({ to: e.member.state });
        // A flap: declared failed, then back within a minute — usually a sign of a
        // struggling network or host rather than of real failures.
        if (e.type === 'failed') failedAt.set(e.member.name, e.at);
        else if (e.type === 'joined' && failedAt.has(e.member.name)) {
          if (e.at - failedAt.get(e.member.name)! <= FLAP_WINDOW_MS) this.metrics.flaps.inc();
          failedAt.delete(e.member.name);
        }
      }),
    );
    this.userQueue = new BroadcastQueue(this.config.retransmitMult, () => this.table.size, this.config.userQueueDepth);
    this.userSeq = Math.floor(this.random() * 0x7fffffff);
    this.persistIdentity();
  }

  private persistIdentity(): void {
    if (this.options.dataDir === undefined) return;
    saveIdentity(this.options.dataDir, { name: this.name, incarnation: this.table.local.incarnation });
  }

  /** user messages addressed to us or broadcast to all; completes on stop */
  get messages$(): Observable<UserMessage> {
    return this.messagesSubject.asObservable();
  }

  /** messages and publishing on one topic */
  topic(name: string): { messages$: Observable<UserMessage>; publish(payload: Uint8Array | string): boolean } {
    return {
      messages$: this.messagesSubject.pipe(filter((m) => m.topic === name)),
      publish: (payload) => this.broadcast(payload, name),
    };
  }

  /**
   * Gossip a message to every member, piggybacked on protocol traffic and
   * re-gossiped by each receiver (delivered once each). Returns false when the
   * queue was full and the oldest, most-sent message had to be dropped for it.
   */
  broadcast(payload: Uint8Array | string, topic = ''): boolean {
    if (this.phase !== 'running') throw new StateError(`broadcast(): node ${this.name} is ${this.phase}`);
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const id = (this.userSeq = (this.userSeq + 1) >>> 0);
    const env = encodeEnvelope({ from: this.name, id, topic, broadcast: true, payload: bytes });
    if (env.length + 3 > this.config.udpBufferSize - 2 - this.encryptionOverhead()) {
      throw new RangeError(`broadcast(): ${bytes.length} bytes do not fit one packet (udpBufferSize ${this.config.udpBufferSize}); use send(..., { reliable: true })`);
    }
    this.seen.add(`${this.name}:${id}`);
    this.recent.add(env, this.scheduler.now());
    const before = this.userQueue.dropped;
    this.userQueue.queue({ key: `${this.name}:${id}`, message: encodeMessage({ type: 'user', payload: env }) });
    const dropped = this.userQueue.dropped - before;
    if (dropped > 0) this.metrics.broadcastsDropped.inc(dropped);
    return dropped === 0;
  }

  /** send to one member: best effort by UDP, or reliably by TCP */
  async send(member: string, payload: Uint8Array | string, opts: SendOptions = {}): Promise<void> {
    if (this.phase !== 'running') throw new StateError(`send(): node ${this.name} is ${this.phase}`);
    const m = this.table.get(member);
    if (!m || m.name === this.name) throw new StateError(`send(): ${JSON.stringify(member)} is not a known remote member`);
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const env = encodeEnvelope({ from: this.name, id: 0, topic: opts.topic ?? '', broadcast: false, payload: bytes });
    const to = { host: m.address, port: m.port };
    if (!opts.reliable) {
      if (env.length + 1 > MAX_DATAGRAM - this.encryptionOverhead()) {
        throw new RangeError(`send(): ${bytes.length} bytes do not fit a datagram; use { reliable: true }`);
      }
      this.sendRaw(m, [encodeMessage({ type: 'user', payload: env })]);
      return;
    }
    await firstValueFrom(
      this.dial(to).pipe(
        map((conn) => {
          this.writeStream(conn, { type: 'userStream', payload: env });
          conn.end();
        }),
        takeUntil(this.stopped$),
      ),
      { defaultValue: undefined },
    );
  }

  /** replace our metadata and announce it with a higher incarnation */
  setMeta(meta: Uint8Array): void {
    if (!(meta instanceof Uint8Array) || meta.length > META_MAX) throw new ConfigError('meta', `must be a Uint8Array of at most ${META_MAX} bytes`);
    this.table.local.meta = meta;
    const alive = this.table.bumpIncarnation();
    this.persistIdentity();
    if (this.phase === 'running') this.queue.queue({ key: this.name, message: encodeMessage(alive) });
  }

  /** replace our tags (Serf's encoding) */
  setTags(tags: Record<string, string>): void {
    this.setMeta(encodeTags(tags));
  }

  get members$(): Observable<readonly Member[]> {
    return this.table.members$;
  }

  get events$() {
    return this.table.events$;
  }

  get localMember(): Member {
    return this.table.localMember();
  }

  /** Lifeguard local health score (0 = healthy) */
  get healthScore(): number {
    return this.awareness.score;
  }

  /** messages waiting in the gossip queue */
  get queueDepth(): number {
    return this.queue.depth;
  }

  /** the address actually bound (after start) */
  get address(): Address | undefined {
    return this.transport?.address;
  }

  members(): Member[] {
    return this.table.list();
  }

  /** one member by name (this node included), or undefined */
  member(name: string): Member | undefined {
    return this.table.get(name);
  }

  /** how many members are in each state, this node included */
  countByState(): Record<MemberState, number> {
    return this.table.countByState();
  }

  async start(): Promise<void> {
    if (this.phase !== 'new') throw new StateError(`start(): node ${this.name} is ${this.phase}, it can start only once`);
    this.phase = 'starting';
    try {
      this.transport = await (this.options.transport ?? defaultTransport)(this.bindAddr);
    } catch (e) {
      this.phase = 'stopped';
      this.table.stop();
      throw e;
    }
    const bound = this.transport.address;
    const adv = this.options.advertise ? parseHostPort(this.options.advertise, 'advertise') : bound;
    if (adv.host === '0.0.0.0' || adv.host === '::') {
      // A wildcard bind gives peers nothing to reach us on; memberlist picks a private
      // interface address, we ask for it to be explicit.
      await this.transport.close();
      this.phase = 'stopped';
      this.table.stop();
      throw new ConfigError('advertise', `must be set to a reachable address when binding to ${bound.host}`);
    }
    const local = this.table.local;
    local.addr = addrFromString(adv.host);
    local.port = adv.port === 0 ? bound.port : adv.port;
    this.phase = 'running';

    const t = this.transport;
    this.subs.add(t.packets$.subscribe((d) => this.onPacket(d.from, d.data)));
    this.subs.add(t.connections$.subscribe((c) => this.onConnection(c)));
    const cfg = this.config;
    this.subs.add(
      prober$({
        scheduler: this.scheduler,
        probeInterval: cfg.probeInterval,
        probeTimeout: cfg.probeTimeout,
        awareness: this.awareness,
        now: this.rttClock,
        initialDelayMs: Math.floor(this.random() * cfg.probeInterval),
        nextTarget: () => this.table.nextProbeTarget(),
        helpers: (target) => this.table.randomMembers(cfg.indirectChecks, ['alive'], new Set([target.name])),
        nextSeqNo: () => this.nextSeqNo(),
        acks$: this.acks,
        nacks$: this.nacks,
        sendPing: (target, seqNo) => this.sendProbePing(target, seqNo),
        sendIndirectPing: (helper, target, seqNo) => {
          const nack = (this.table.vsnOf(helper.name)?.[1] ?? 0) >= 4;
          const req: IndirectPing = {
            type: 'indirectPing',
            seqNo,
            target: addrFromString(target.address),
            port: target.port,
            node: target.name,
            nack,
            ...this.source(),
          };
          this.sendTo(helper, [encodeMessage(req)]);
          this.metrics.indirectProbesSent.inc();
          return nack;
        },
        tcpPing: (target, seqNo, deadline) => this.tcpPing(target, seqNo, deadline),
        onFailed: (target) => {
          this.metrics.suspicionsRaised.inc();
          this.log.info({ node: this.name, member: target.name }, 'probe failed; suspecting member');
          this.table.suspectLocally(target.name);
        },
      }).subscribe((r) => {
        this.metrics.probes.inc({ outcome: r.outcome });
        if (r.outcome === 'indirect') this.metrics.indirectProbesAnswered.inc();
        if (r.rttMs !== undefined) this.metrics.probeRtt.observe(r.rttMs / 1000);
      }),
    );
    this.subs.add(
      gossip$({
        scheduler: this.scheduler,
        gossipInterval: cfg.gossipInterval,
        gossipNodes: cfg.gossipNodes,
        targets: (k) => this.table.gossipTargets(k),
        fill: () => this.takeBroadcasts(cfg.udpBufferSize - 2 - this.encryptionOverhead()),
        send: (target, msgs) => this.sendRaw(target, msgs),
      }).subscribe(),
    );
    if (cfg.pushPullInterval > 0) this.subs.add(this.periodicPushPull$().subscribe());
    if (cfg.reconnectInterval > 0) {
      this.subs.add(
        reconnect$({
          scheduler: this.scheduler,
          interval: cfg.reconnectInterval,
          random: this.random,
          failed: () => this.table.failedMembers(),
          aliveCount: () => this.table.aliveCount,
          attempt: (m) =>
            this.pushPull({ host: m.address, port: m.port }, true).pipe(
              catchError((e: unknown) => {
                this.log.debug({ node: this.name, member: m.name, err: String(e) }, 'reconnect attempt failed');
                return EMPTY;
              }),
            ),
        }).subscribe((m) => this.log.info({ node: this.name, member: m.name }, 'reconnecting to failed member')),
      );
    }
  }

  async join(seeds: readonly string[]): Promise<number> {
    if (this.phase !== 'running') throw new StateError(`join(): node ${this.name} is ${this.phase}; call start() first`);
    if (seeds.length === 0) throw new JoinError([]);
    const parsed = seeds.map((s) => {
      const slash = s.indexOf('/');
      return { seed: s, addr: parseHostPort(slash >= 0 ? s.slice(slash + 1) : s, 'seeds') };
    });
    const results = await firstValueFrom(
      from(parsed).pipe(
        mergeMap(({ seed, addr }) =>
          this.pushPull(addr, true).pipe(
            map(() => ({ seed, ok: true as const })),
            catchError((e: unknown) => of({ seed, ok: false as const, reason: e instanceof Error ? e.message : String(e) })),
          ),
        ),
        toArray(),
      ),
    );
    const ok = results.filter((r) => r.ok).length;
    for (const r of results) if (!r.ok) this.log.warn({ node: this.name, seed: r.seed, reason: r.reason }, 'join: seed failed');
    if (ok === 0) throw new JoinError(results.map((r) => ({ seed: r.seed, reason: r.ok ? '' : r.reason })));
    return ok;
  }

  async leave(timeoutMs = this.config.leaveTimeout): Promise<void> {
    if (this.phase !== 'running') {
      await this.stop();
      return;
    }
    this.table.setLeaving();
    const self = this.table.local;
    const others = this.table.aliveCount - 1;
    if (others > 0) {
      // memberlist's Leave: gossip dead-about-self from self and wait (bounded) until
      // it has used its retransmits, so peers record "left" rather than "failed".
      const done = new Subject<void>();
      const message = encodeMessage({ type: 'dead', incarnation: self.incarnation, node: self.name, from: self.name });
      // Beyond memberlist: also tell every live member directly. With a small retransmit
      // limit (2 in `local`) gossip alone can miss a member, which then probes us,
      // finds us gone and records a failure instead of a leave.
      for (const m of this.table.remote()) {
        if (m.state === 'alive' || m.state === 'suspect') this.sendRaw(m, [message]);
      }
      this.queue.queue({ key: self.name, message, onDone: () => done.next() });
      await firstValueFrom(race(done, timer(timeoutMs, this.scheduler)).pipe(takeUntil(this.stopped$)), { defaultValue: undefined });
    }
    await this.stop();
  }

  async stop(): Promise<void> {
    if (this.phase === 'stopped') return;
    this.phase = 'stopped';
    this.stopped$.next();
    this.stopped$.complete();
    this.subs.unsubscribe();
    for (const c of this.openConns) c.destroy();
    this.openConns.clear();
    this.queue.reset();
    this.userQueue.reset();
    this.messagesSubject.complete();
    this.table.stop();
    this.acks.complete();
    this.nacks.complete();
    await this.transport?.close();
  }

  // ---- sending ----

  private nextSeqNo(): number {
    this.seqNo = (this.seqNo + 1) >>> 0;
    return this.seqNo;
  }

  private source(): Pick<Ping, 'sourceAddr' | 'sourcePort' | 'sourceNode'> {
    const l = this.table.local;
    return { sourceAddr: l.addr, sourcePort: l.port, sourceNode: l.name };
  }

  private sendProbePing(target: Member, seqNo: number): void {
    const ping = encodeMessage({ type: 'ping', seqNo, node: target.name, ...this.source() });
    if (target.state === 'suspect') {
      // Buddy system: tell a suspect member it is suspected so it can refute at once.
      const suspect = encodeMessage({ type: 'suspect', incarnation: target.incarnation, node: target.name, from: this.name });
      this.sendRaw(target, [ping, suspect]);
    } else this.sendTo(target, [ping]);
  }

  /** bytes encryption adds to a packet we send */
  private encryptionOverhead(): number {
    if (!this.keyring.enabled || !this.config.gossipVerifyOutgoing) return 0;
    return this.config.protocolVersion === 1 ? ENCRYPTION_OVERHEAD_V0 : ENCRYPTION_OVERHEAD_V1;
  }

  private decodeOptions(): DecodePacketOptions {
    return this.keyring.enabled ? { keyring: this.keyring.keys, verifyIncoming: this.config.gossipVerifyIncoming } : {};
  }

  private encodeOptions() {
    const encrypt = this.keyring.enabled && this.config.gossipVerifyOutgoing;
    return {
      compress: this.config.enableCompression,
      ...(encrypt ? { keyring: [this.keyring.primary!], encryptionVersion: this.config.protocolVersion === 1 ? (0 as const) : (1 as const) } : {}),
    };
  }

  /**
   * Fill `limit` bytes with gossip: memberlist's own broadcasts first, then user
   * broadcasts (each framed as a user message) when more than 3 bytes are left.
   */
  private takeBroadcasts(limit: number): Uint8Array[] {
    const sys = this.queue.take(2, limit);
    const used = sys.reduce((n, m) => n + m.length + 2, 0);
    if (limit - used <= 3) return sys;
    return [...sys, ...this.userQueue.take(2, limit - used)];
  }

  /** send messages to a member with gossip piggybacked up to the UDP buffer size */
  private sendTo(target: Member | Address, msgs: Uint8Array[]): void {
    const used = msgs.reduce((n, m) => n + m.length + 2, 0);
    const extra = this.takeBroadcasts(this.config.udpBufferSize - 2 - used - this.encryptionOverhead());
    this.sendRaw(target, [...msgs, ...extra]);
  }

  private sendRaw(target: Member | Address, msgs: Uint8Array[]): void {
    const t = this.transport;
    if (!t || this.phase !== 'running' || msgs.length === 0) return;
    const to: Address = 'address' in target ? { host: target.address, port: target.port } : target;
    // CRC only when the peer's PMax says it understands it (protocol 5).
    const pmax = 'name' in target ? (this.table.vsnOf(target.name)?.[1] ?? 0) : 0;
    const packets: Uint8Array[] = [];
    // A compound holds at most 255 parts.
    for (let i = 0; i < msgs.length; i += 255) {
      packets.push(encodePacket(msgs.slice(i, i + 255), { ...this.encodeOptions(), crc: pmax >= 5 }));
    }
    for (const m of msgs) this.metrics.messagesSent.inc({ type: messageTypeOf(m), transport: 'udp' });
    for (const p of packets) {
      this.metrics.packetsSent.inc({ transport: 'udp' });
      this.metrics.bytesSent.inc({ transport: 'udp' }, p.length);
      t.sendPacket(to, p);
    }
  }

  // ---- receiving ----

  private onPacket(from: Address, data: Uint8Array): void {
    this.metrics.packetsReceived.inc({ transport: 'udp' });
    this.metrics.bytesReceived.inc({ transport: 'udp' }, data.length);
    let decoded: { messages: PacketMessage[]; errors: DecodeError[] };
    try {
      decoded = decodePacket(data, this.decodeOptions());
    } catch (e) {
      // decodePacket promises not to throw; if it ever does, the packet is still just dropped.
      decoded = { messages: [], errors: [new DecodeError('malformed', String(e))] };
    }
    this.metrics.udpPackets.inc({ outcome: decoded.messages.length === 0 ? 'dropped' : decoded.errors.length > 0 ? 'partial' : 'decoded' });
    for (const err of decoded.errors) {
      this.metrics.packetsDropped.inc({ reason: err.reason });
      this.log.debug({ node: this.name, from: `${from.host}:${from.port}`, reason: err.reason, err: err.message }, 'dropped packet');
    }
    for (const m of decoded.messages) {
      this.metrics.messagesReceived.inc({ type: m.type, transport: 'udp' });
      try {
        this.handleMessage(from, m);
      } catch (e) {
        this.metrics.packetsDropped.inc({ reason: 'handler_error' });
        this.log.error({ node: this.name, err: String(e), type: m.type }, 'message handler failed');
      }
    }
  }

  private handleMessage(from: Address, m: PacketMessage): void {
    switch (m.type) {
      case 'ping':
        return this.onPing(from, m);
      case 'indirectPing':
        return this.onIndirectPing(from, m);
      case 'ack':
        return this.acks.next({ seqNo: m.seqNo, at: this.rttClock() });
      case 'nack':
        this.metrics.nacksReceived.inc();
        return this.nacks.next({ seqNo: m.seqNo });
      case 'alive':
        return this.table.handleAlive(m);
      case 'suspect':
        if (m.from !== this.name) this.metrics.suspicionsReceived.inc();
        return this.table.handleSuspect(m);
      case 'dead':
        return this.table.handleDead(m);
      case 'user':
        return this.onUserMessage(m.payload, 'udp');
    }
  }

  /** deliver one of our envelopes; a broadcast is delivered once and re-gossiped */
  private onUserMessage(bytes: Uint8Array, via: 'udp' | 'tcp'): void {
    let env: Envelope | undefined;
    try {
      env = decodeEnvelope(bytes);
    } catch (e) {
      this.metrics.packetsDropped.inc({ reason: e instanceof DecodeError ? e.reason : 'malformed' });
      return;
    }
    // Not ours (Serf's events, another memberlist application): counted as received only.
    if (!env) return;
    if (env.broadcast) {
      const key = `${env.from}:${env.id}`;
      if (this.seen.has(key)) return;
      this.seen.add(key);
      if (this.seen.size > SEEN_BROADCASTS) this.seen.delete(this.seen.values().next().value!);
      // Infection-style: pass it on so it reaches members the origin never picked,
      // and keep it for anti-entropy in case gossip missed someone.
      const copy = bytes.slice();
      this.userQueue.queue({ key, message: encodeMessage({ type: 'user', payload: copy }) });
      this.recent.add(copy, this.scheduler.now());
    }
    this.metrics.userMessages.inc({ via: env.broadcast ? 'broadcast' : via });
    this.messagesSubject.next({ from: env.from, topic: env.topic, payload: env.payload.slice(), via: env.broadcast ? 'broadcast' : via });
  }

  private replyAddress(from: Address, m: { sourceAddr?: Uint8Array | null; sourcePort?: number }): Address {
    if (m.sourceAddr && m.sourceAddr.length > 0 && m.sourcePort) {
      return { host: addrToString(m.sourceAddr), port: m.sourcePort };
    }
    return from;
  }

  private onPing(from: Address, p: Ping): void {
    // A ping for another name: a probe meant for a node that used to live here.
    if (p.node !== '' && p.node !== this.name) return;
    this.sendTo(this.replyAddress(from, p), [encodeMessage({ type: 'ack', seqNo: p.seqNo, payload: null })]);
  }

  private onIndirectPing(from: Address, req: IndirectPing): void {
    if (!req.target || (req.target.length !== 4 && req.target.length !== 16)) {
      this.metrics.packetsDropped.inc({ reason: 'malformed' });
      return;
    }
    const requester = this.replyAddress(from, req);
    const target: Address = { host: addrToString(req.target), port: req.port === 0 ? this.table.local.port : req.port };
    const seqNo = this.nextSeqNo();
    const acked$ = this.acks.pipe(
      filter((a) => a.seqNo === seqNo),
      take(1),
      map(() => true),
    );
    this.subs.add(
      race(acked$, timer(this.config.probeTimeout, this.scheduler).pipe(map(() => false)))
        .pipe(takeUntil(this.stopped$))
        .subscribe((ok) => {
          if (ok) {
            this.metrics.indirectPings.inc({ result: 'acked' });
            this.sendTo(requester, [encodeMessage({ type: 'ack', seqNo: req.seqNo, payload: null })]);
          } else if (req.nack) {
            this.metrics.indirectPings.inc({ result: 'nacked' });
            this.sendTo(requester, [encodeMessage({ type: 'nack', seqNo: req.seqNo })]);
          } else this.metrics.indirectPings.inc({ result: 'timeout' });
        }),
    );
    this.sendTo(target, [encodeMessage({ type: 'ping', seqNo, node: req.node, ...this.source() })]);
  }

  // ---- streams: push-pull and TCP ping ----

  private readOne(conn: StreamConn): Observable<StreamMessage> {
    return readStreamMessage(conn, {
      ...(this.keyring.enabled ? { keyring: this.keyring.keys, verifyIncoming: this.config.gossipVerifyIncoming } : {}),
      maxBytes: STREAM_MAX_BYTES,
      timeoutMs: this.config.tcpTimeout,
      scheduler: this.scheduler,
    });
  }

  private writeStream(conn: StreamConn, msg: StreamMessage): void {
    const bytes = encodeStream(msg, this.encodeOptions());
    this.metrics.packetsSent.inc({ transport: 'tcp' });
    this.metrics.messagesSent.inc({ type: msg.type, transport: 'tcp' });
    this.metrics.bytesSent.inc({ transport: 'tcp' }, bytes.length);
    conn.write(bytes);
  }

  private onConnection(conn: StreamConn): void {
    if (this.phase !== 'running') return conn.destroy();
    this.openConns.add(conn);
    this.metrics.packetsReceived.inc({ transport: 'tcp' });
    const peer = `${conn.remote.host}:${conn.remote.port}`;
    this.subs.add(
      this.readOne(conn)
        .pipe(
          takeUntil(this.stopped$),
          finalize(() => {
            this.openConns.delete(conn);
            conn.end();
          }),
        )
        .subscribe({
          next: (msg) => {
            this.metrics.messagesReceived.inc({ type: msg.type, transport: 'tcp' });
            switch (msg.type) {
              case 'pushPull':
                // Reply first, then merge: exactly memberlist's order.
                this.writeStream(conn, this.localPushPull(msg.join));
                try {
                  this.mergePushPull(msg, peer);
                } catch (e) {
                  this.log.warn({ node: this.name, peer, err: (e as Error).message }, 'push-pull merge refused');
                }
                return;
              case 'userStream':
                this.onUserMessage(msg.payload, 'tcp');
                return;
              case 'ping':
                if (msg.node === '' || msg.node === this.name) {
                  this.writeStream(conn, { type: 'ack', seqNo: msg.seqNo, payload: null });
                }
                return;
              default:
                this.metrics.packetsDropped.inc({ reason: 'unknown_type' });
                this.log.debug({ node: this.name, peer, type: msg.type }, 'unexpected stream message');
            }
          },
          error: (e: unknown) => {
            const reason = e instanceof DecodeError ? e.reason : 'stream_error';
            this.metrics.packetsDropped.inc({ reason });
            this.log.warn({ node: this.name, peer, err: e instanceof Error ? e.message : String(e) }, 'dropped stream');
            // Close for good, as memberlist does: a half-close (finalize's end()) would let a
            // peer that sent garbage, or too slowly, keep the socket open as long as it likes.
            conn.destroy();
          },
        }),
    );
  }

  /** open a stream, giving up after TCPTimeout (memberlist's DialTimeout): a dial into a partition may never be answered */
  private dial(to: Address): Observable<StreamConn> {
    if (!this.transport) return throwError(() => new StateError('not started'));
    return this.transport.dial(to).pipe(
      timeout({
        first: this.config.tcpTimeout,
        scheduler: this.scheduler,
        with: () => throwError(() => new Error(`connect to ${to.host}:${to.port} timed out after ${this.config.tcpTimeout} ms`)),
      }),
    );
  }

  private localPushPull(join: boolean): PushPull {
    const app = this.options.delegate?.localState?.(join) ?? new Uint8Array(0);
    const recent = this.recent.list(this.scheduler.now());
    // Without recent broadcasts, send the application's bytes as they are (nothing at
    // all when there is none, which is what Serf expects of a plain memberlist node).
    const userState = recent.length > 0 ? encodePushPullState({ app, recent }) : app;
    return { type: 'pushPull', join, nodes: this.table.pushPullState(), userState };
  }

  private mergePushPull(msg: PushPull, peer: string): void {
    const why = protocolIncompatibility(msg.nodes, this.table.pushPullState());
    if (why) throw new IncompatibleError(`push-pull with ${peer} refused: ${why}`);
    for (const r of msg.nodes) this.table.mergeRemote(r);
    if (msg.userState.length > 0) this.mergeUserState(msg.userState, msg.join, peer);
  }

  private mergeUserState(state: Uint8Array, join: boolean, peer: string): void {
    let ours;
    try {
      ours = decodePushPullState(state);
    } catch (e) {
      this.metrics.packetsDropped.inc({ reason: e instanceof DecodeError ? e.reason : 'malformed' });
      this.log.debug({ node: this.name, peer, err: String(e) }, 'bad push-pull user state');
      return;
    }
    if (!ours) {
      this.options.delegate?.mergeRemoteState?.(state, join);
      return;
    }
    for (const env of ours.recent) this.onUserMessage(env, 'udp');
    if (ours.app.length > 0) this.options.delegate?.mergeRemoteState?.(ours.app, join);
  }

  /** push-pull with one address; completes after merging, errors with a reason */
  private pushPull(to: Address, join: boolean): Observable<void> {
    const peer = `${to.host}:${to.port}`;
    let started = 0;
    return defer(() => {
      if (!this.transport) throw new StateError('not started');
      started = this.scheduler.now();
      return this.dial(to);
    }).pipe(
      switchMap((conn) => {
        this.openConns.add(conn);
        this.writeStream(conn, this.localPushPull(join));
        return this.readOne(conn).pipe(
          take(1),
          map((msg) => {
            if (msg.type === 'err') throw new Error(`remote error: ${msg.error}`);
            if (msg.type !== 'pushPull') throw new Error(`expected a push-pull reply, got ${msg.type}`);
            this.mergePushPull(msg, peer);
            this.metrics.pushPulls.inc({ result: 'ok' });
            this.metrics.pushPullDuration.observe((this.scheduler.now() - started) / 1000);
          }),
          finalize(() => {
            this.openConns.delete(conn);
            conn.destroy();
          }),
        );
      }),
      catchError((e: unknown) => {
        this.metrics.pushPulls.inc({ result: e instanceof IncompatibleError ? 'incompatible' : 'failed' });
        throw e;
      }),
      takeUntil(this.stopped$),
    );
  }

  /** memberlist's periodic push-pull, slower beyond 32 nodes */
  private periodicPushPull$(): Observable<void> {
    const scaled = () => {
      const n = this.table.size;
      const mult = n <= 32 ? 1 : Math.ceil(Math.log2(n) - Math.log2(32)) + 1;
      return this.config.pushPullInterval * mult;
    };
    const once$ = defer(() => {
      const [peer] = this.table.randomMembers(1, ['alive']);
      if (!peer) return EMPTY;
      return this.pushPull({ host: peer.address, port: peer.port }, false).pipe(
        catchError((e: unknown) => {
          this.log.debug({ node: this.name, member: peer.name, err: String(e) }, 'periodic push-pull failed');
          return EMPTY;
        }),
      );
    });
    return timer(Math.floor(this.random() * this.config.pushPullInterval), this.scheduler).pipe(
      switchMap(() => once$.pipe(repeat({ delay: () => timer(scaled(), this.scheduler) }))),
    );
  }

  /** TCP fallback ping for targets speaking protocol ≥ 3 (memberlist §8.2) */
  private tcpPing(target: Member, seqNo: number, deadlineMs: number): Observable<boolean> {
    const pmax = this.table.vsnOf(target.name)?.[1] ?? 0;
    if (this.config.disableTcpPings || pmax < 3 || !this.transport) return of(false);
    const attempt$ = this.dial({ host: target.address, port: target.port }).pipe(
      switchMap((conn) => {
        this.openConns.add(conn);
        this.writeStream(conn, { type: 'ping', seqNo, node: target.name, ...this.source() });
        return this.readOne(conn).pipe(
          map((m) => m.type === 'ack' && m.seqNo === seqNo),
          finalize(() => {
            this.openConns.delete(conn);
            conn.destroy();
          }),
        );
      }),
      catchError(() => of(false)),
    );
    return race(attempt$, timer(deadlineMs, this.scheduler).pipe(map(() => false))).pipe(take(1), takeUntil(this.stopped$));
  }
}

/** the peer's protocol versions cannot work with ours (memberlist's verifyProtocol) */
class IncompatibleError extends Error {
  override readonly name = 'IncompatibleError';
}

async function defaultTransport(bind: Address): Promise<Transport> {
  return createUdpTcpTransport({ host: bind.host, port: bind.port });
}
