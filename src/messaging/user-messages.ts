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
import { MsgpackReader } from '../wire/msgpack.js';
import { decodeEnvelope, encodeEnvelope, ENVELOPE_MAGIC, type Envelope } from './user-envelope.js';
import { decodePushPullState, encodePushPullState, RecentBroadcasts } from './push-pull-state.js';

/** the first byte of Serf's push-pull state (serf's messagePushPullType) */
const SERF_PUSH_PULL = 2;

/** where the one msgpack value after Serf's type byte ends; undefined when it does not */
function serfStateEnd(state: Uint8Array): number | undefined {
  try {
    const r = new MsgpackReader(state, 1, 8);
    r.readValue();
    return r.pos;
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
  }
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
  /** Serf's push-pull state as we hold it (messagePushPull); with Serf's layer on */
  serfState?(): Uint8Array;
  /** a Serf Lamport time an rxswim node of an older version carried in its own state */
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
   * The user state of a push-pull we send. With Serf's layer on, Serf's own state goes
   * first, so that Serf agents learn our Lamport times, who left and our events, and
   * ours follows it when we have any (recent broadcasts, the delegate's bytes): Serf
   * decodes one msgpack value and ignores the bytes after it, and rxswim reads both.
   * Without Serf's layer: our state, or the application's bytes as they are (nothing at
   * all when there is none, which is what a plain memberlist node expects).
   */
  localState(join: boolean): Uint8Array {
    const app = this.deps.delegate?.localState?.(join) ?? new Uint8Array(0);
    const recent = this.recent.list(this.deps.scheduler.now());
    const ours = recent.length > 0 ? encodePushPullState({ app, recent, serfLTime: 0n }) : app.length > 0 ? app : undefined;
    const serf = this.deps.serfState?.();
    if (!serf) return ours ?? new Uint8Array(0);
    if (!ours) return serf;
    // A bare delegate state after Serf's could not be told from ours: wrap it.
    const tail = ours === app ? encodePushPullState({ app, recent, serfLTime: 0n }) : ours;
    const out = new Uint8Array(serf.length + tail.length);
    out.set(serf, 0);
    out.set(tail, serf.length);
    return out;
  }

  /** the user state of a push-pull we received */
  mergeState(state: Uint8Array, join: boolean, peer: string): void {
    if (state.length === 0) return;
    let own = state;
    if (state[0] === SERF_PUSH_PULL && this.deps.foreignState) {
      // Serf's state, and from an rxswim node ours after it.
      const end = serfStateEnd(state);
      this.deps.foreignState(end === undefined ? state : state.subarray(0, end), join);
      if (end === undefined || end === state.length) {
        this.deps.delegate?.mergeRemoteState?.(state, join);
        return;
      }
      own = state.subarray(end);
    }
    let ours;
    try {
      ours = decodePushPullState(own);
    } catch (e) {
      this.deps.metrics.packetsDropped.inc({ reason: e instanceof DecodeError ? e.reason : 'malformed' });
      this.deps.log('debug', 'bad push-pull user state', { peer, err: String(e) });
      return;
    }
    if (!ours) {
      if (own !== state) {
        this.deps.metrics.packetsDropped.inc({ reason: 'malformed' });
        this.deps.log('debug', 'bytes after Serf\'s push-pull state are not rxswim\'s', { peer });
        return;
      }
      this.deps.foreignState?.(state, join);
      this.deps.delegate?.mergeRemoteState?.(state, join);
      return;
    }
    // From rxswim nodes before Serf's state led ours.
    if (ours.serfLTime > 0n) this.deps.serfWitness?.(ours.serfLTime);
    for (const env of ours.recent) this.receive(env, 'udp', join);
    if (ours.app.length > 0) this.deps.delegate?.mergeRemoteState?.(ours.app, join);
  }

  stop(): void {
    this.queue.reset();
    this.subject.complete();
  }
}
