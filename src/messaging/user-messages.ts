// User messages in rxswim's envelope: broadcasts gossiped to every member and
// delivered once each (re-gossiped by every receiver, carried in push-pull so a gossip
// miss is repaired), and direct sends by UDP or TCP. Also the push-pull user state,
// which carries the application delegate's bytes beside our recent broadcasts.
import { filter, type Observable, Subject, type SchedulerLike } from 'rxjs';
import type { ProtocolConfig } from '../config.js';
import { DecodeError } from '../errors.js';
import type { NodeMetrics } from '../metrics/metrics.js';
import { BroadcastQueue } from '../swim/broadcast-queue.js';
import { encodeMessage } from '../wire/messages.js';
import { decodeEnvelope, encodeEnvelope, ENVELOPE_MAGIC, type Envelope } from './user-envelope.js';
import { decodePushPullState, encodePushPullState, RecentBroadcasts } from './push-pull-state.js';

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

/** memberlist's delegate for application state carried in push-pull (LocalState / MergeRemoteState) */
export interface Delegate {
  localState?(join: boolean): Uint8Array;
  mergeRemoteState?(state: Uint8Array, join: boolean): void;
}

export interface MessagingDeps {
  name: string;
  config: ProtocolConfig;
  scheduler: SchedulerLike;
  random: () => number;
  metrics: NodeMetrics;
  /** memberlist's n, for the retransmit limit */
  numNodes(): number;
  /** bytes encryption adds to each packet we send now */
  encryptionOverhead(): number;
  /** one user message to a member by UDP, no gossip piggybacked */
  sendPacket(member: string, message: Uint8Array): void;
  /** one user message to a member over its own TCP stream */
  sendStream(member: string, envelope: Uint8Array): Promise<void>;
  delegate?: Delegate;
  /**
   * a user message that is not in our envelope (Serf's own messages, another
   * application's); `inJoinState`: it came in the recent list of a join's push-pull
   */
  foreign?(bytes: Uint8Array, via: 'udp' | 'tcp', inJoinState: boolean): void;
  /** a push-pull user state that is not ours (Serf's state, another application's), before the delegate sees it */
  foreignState?(state: Uint8Array, join: boolean): void;
  /** Serf's Lamport member clock as we know it, carried to other rxswim nodes in push-pull */
  serfClock?(): bigint;
  /** a Serf Lamport time another rxswim node knew */
  serfWitness?(ltime: bigint): void;
  log(level: 'debug', msg: string, fields: Record<string, unknown>): void;
}

/** broadcasts remembered per node so a re-gossiped one is delivered once */
const SEEN_BROADCASTS = 8192;
/** the largest UDP payload we send; bigger direct messages must go reliable (TCP) */
const MAX_DATAGRAM = 65_000;

export class UserMessaging {
  /** user broadcasts waiting to be piggybacked, after memberlist's own */
  readonly queue: BroadcastQueue;
  private readonly subject = new Subject<UserMessage>();
  private readonly seen = new Set<string>();
  private readonly recent = new RecentBroadcasts();
  private seq: number;

  constructor(private readonly deps: MessagingDeps) {
    this.queue = new BroadcastQueue(deps.config.retransmitMult, deps.numNodes, deps.config.userQueueDepth);
    this.seq = Math.floor(deps.random() * 0x7fffffff);
  }

  get messages$(): Observable<UserMessage> {
    return this.subject.asObservable();
  }

  topic(name: string): Observable<UserMessage> {
    return this.subject.pipe(filter((m) => m.topic === name));
  }

  /** queue a broadcast; false when the queue was full and an older one had to be dropped */
  broadcast(payload: Uint8Array, topic: string): boolean {
    const { name, config } = this.deps;
    const id = (this.seq = (this.seq + 1) >>> 0);
    const env = encodeEnvelope({ from: name, id, topic, broadcast: true, payload });
    if (env.length + 3 > config.udpBufferSize - 2 - this.deps.encryptionOverhead()) {
      throw new RangeError(`broadcast(): ${payload.length} bytes do not fit one packet (udpBufferSize ${config.udpBufferSize}); use send(..., { reliable: true })`);
    }
    const key = `${name}:${id}`;
    this.seen.add(key);
    this.recent.add(env, this.deps.scheduler.now());
    const before = this.queue.dropped;
    this.queue.queue({ key, message: encodeMessage({ type: 'user', payload: env }) });
    const dropped = this.queue.dropped - before;
    if (dropped > 0) this.deps.metrics.broadcastsDropped.inc(dropped);
    return dropped === 0;
  }

  async send(member: string, payload: Uint8Array, opts: SendOptions): Promise<void> {
    const env = encodeEnvelope({ from: this.deps.name, id: 0, topic: opts.topic ?? '', broadcast: false, payload });
    if (opts.reliable) return this.deps.sendStream(member, env);
    if (env.length + 1 > MAX_DATAGRAM - this.deps.encryptionOverhead()) {
      throw new RangeError(`send(): ${payload.length} bytes do not fit a datagram; use { reliable: true }`);
    }
    this.deps.sendPacket(member, encodeMessage({ type: 'user', payload: env }));
  }

  /** one of our envelopes arrived; a broadcast is delivered once and re-gossiped */
  receive(bytes: Uint8Array, via: 'udp' | 'tcp', inJoinState = false): void {
    let env: Envelope | undefined;
    try {
      env = decodeEnvelope(bytes);
    } catch (e) {
      this.deps.metrics.packetsDropped.inc({ reason: e instanceof DecodeError ? e.reason : 'malformed' });
      return;
    }
    // Not ours: Serf's messages, another memberlist application's.
    if (!env) {
      this.deps.foreign?.(bytes, via, inJoinState);
      return;
    }
    if (env.broadcast) {
      const key = `${env.from}:${env.id}`;
      if (this.seen.has(key)) return;
      this.seen.add(key);
      if (this.seen.size > SEEN_BROADCASTS) this.seen.delete(this.seen.values().next().value!);
      // Infection-style: pass it on so it reaches members the origin never picked,
      // and keep it for anti-entropy in case gossip missed someone.
      const copy = bytes.slice();
      this.queue.queue({ key, message: encodeMessage({ type: 'user', payload: copy }) });
      this.recent.add(copy, this.deps.scheduler.now());
    }
    const how = env.broadcast ? 'broadcast' : via;
    this.deps.metrics.userMessages.inc({ via: how });
    this.subject.next({ from: env.from, topic: env.topic, payload: env.payload.slice(), via: how });
  }

  /** a message not in our envelope (a Serf event) to carry in our push-pull state's recent list */
  remember(bytes: Uint8Array): void {
    this.recent.add(bytes, this.deps.scheduler.now());
  }

  /**
   * The user state of a push-pull we send. `peerState`: when answering, the state the
   * requester sent, which tells whose it is (Serf's starts with its push-pull type).
   */
  localState(join: boolean, peerState?: Uint8Array): Uint8Array {
    const app = this.deps.delegate?.localState?.(join) ?? new Uint8Array(0);
    const recent = this.recent.list(this.deps.scheduler.now());
    const serfLTime = this.deps.serfClock?.() ?? 0n;
    if (recent.length > 0) return encodePushPullState({ app, recent, serfLTime });
    // Serf's clock goes only in an answer to a requester that is not Serf and sent no
    // state of its own, or ours (an rxswim node, joining or syncing), and only when
    // Serf agents are about; otherwise the application's bytes go as they are (nothing
    // at all when there is none, which is what Serf expects of a plain memberlist node).
    const toRxswim = peerState !== undefined && (peerState.length === 0 || peerState[0] === ENVELOPE_MAGIC);
    if (toRxswim && serfLTime > 0n && app.length === 0) return encodePushPullState({ app, recent, serfLTime });
    return app;
  }

  /** the user state of a push-pull we received */
  mergeState(state: Uint8Array, join: boolean, peer: string): void {
    if (state.length === 0) return;
    let ours;
    try {
      ours = decodePushPullState(state);
    } catch (e) {
      this.deps.metrics.packetsDropped.inc({ reason: e instanceof DecodeError ? e.reason : 'malformed' });
      this.deps.log('debug', 'bad push-pull user state', { peer, err: String(e) });
      return;
    }
    if (!ours) {
      this.deps.foreignState?.(state, join);
      this.deps.delegate?.mergeRemoteState?.(state, join);
      return;
    }
    if (ours.serfLTime > 0n) this.deps.serfWitness?.(ours.serfLTime);
    for (const env of ours.recent) this.receive(env, 'udp', join);
    if (ours.app.length > 0) this.deps.delegate?.mergeRemoteState?.(ours.app, join);
  }

  stop(): void {
    this.queue.reset();
    this.subject.complete();
  }
}
