// memberlist user messages as a plain memberlist application sends them: bytes with
// no envelope, no sender and no topic. They are what a Go program's Delegate sees in
// NotifyMsg and hands out in GetBroadcasts, so rxswim can talk to one as it is. Unlike
// rxswim's envelope broadcasts, a raw broadcast is memberlist's: piggybacked on gossip
// a bounded number of times by the sender alone, never passed on by a receiver (a
// receiver could not tell a copy it already delivered from a new message) and not
// carried in push-pull.
import { Observable, Subject } from 'rxjs';
import type { NodeMetrics } from '../metrics/metrics.js';
import type { BroadcastQueue } from '../swim/broadcast-queue.js';
import { encodeMessage } from '../wire/messages.js';

/** a user message that is not in rxswim's envelope, as memberlist's NotifyMsg gets it */
export interface RawMessage {
  payload: Uint8Array;
  /** udp: a datagram (a direct send or a gossiped broadcast, memberlist does not tell which); tcp: a userMsg stream */
  via: 'udp' | 'tcp';
}

export interface RawSendOptions {
  /** a TCP userMsg stream (memberlist's SendReliable) instead of one datagram (SendBestEffort) */
  reliable?: boolean;
}

export interface RawMessagingDeps {
  metrics: NodeMetrics;
  /** the user broadcast queue, piggybacked after memberlist's own gossip (GetBroadcasts) */
  queue(): BroadcastQueue;
  /** the most a user message may take of one gossip packet */
  packetBudget(): number;
  /** bytes the packet layer adds (encryption, label) */
  overhead(): number;
  sendPacket(member: string, message: Uint8Array): void;
  sendStream(member: string, payload: Uint8Array): Promise<void>;
}

/** the largest UDP payload we send; bigger direct messages must go reliable (TCP) */
const MAX_DATAGRAM = 65_000;

export class RawMessaging {
  private readonly subject = new Subject<RawMessage>();
  private seq = 0;

  constructor(private readonly deps: RawMessagingDeps) {}

  get messages$(): Observable<RawMessage> {
    return this.subject.asObservable();
  }

  /** queue a broadcast; false when the queue was full and an older one had to be dropped */
  broadcast(payload: Uint8Array): boolean {
    // 1 byte of message type, 3 of compound length, as the packet builder counts them
    if (payload.length + 4 > this.deps.packetBudget() - this.deps.overhead()) {
      throw new RangeError(`broadcastRaw(): ${payload.length} bytes do not fit one packet; use sendRaw(..., { reliable: true })`);
    }
    const q = this.deps.queue();
    const before = q.dropped;
    // Each its own key: memberlist's delegate queue is the application's, and a
    // plain broadcast invalidates nothing.
    q.queue({ key: `raw:${(this.seq = (this.seq + 1) >>> 0)}`, message: encodeMessage({ type: 'user', payload: payload.slice() }) });
    const dropped = q.dropped - before;
    if (dropped > 0) this.deps.metrics.broadcastsDropped.inc(dropped);
    return dropped === 0;
  }

  send(member: string, payload: Uint8Array, opts: RawSendOptions): Promise<void> {
    if (opts.reliable) return this.deps.sendStream(member, payload);
    if (payload.length + 1 > MAX_DATAGRAM - this.deps.overhead()) {
      throw new RangeError(`sendRaw(): ${payload.length} bytes do not fit a datagram; use { reliable: true }`);
    }
    this.deps.sendPacket(member, encodeMessage({ type: 'user', payload }));
    return Promise.resolve();
  }

  /** a user message that was neither our envelope nor (with Serf's intents on) Serf's */
  receive(bytes: Uint8Array, via: 'udp' | 'tcp'): void {
    this.deps.metrics.rawMessages.inc({ via });
    this.subject.next({ payload: bytes.slice(), via });
  }

  stop(): void {
    this.subject.complete();
  }
}
