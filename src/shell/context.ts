// What every shell pipeline shares: the core it feeds, the transport it talks through,
// the node's scheduler and metrics, and the signal that the node stopped. node.ts
// builds one of these; pipelines take it instead of reaching into the node.
import type { Observable, SchedulerLike } from 'rxjs';
import type { ProtocolConfig } from '../config.js';
import type { NodeMetrics } from '../metrics/metrics.js';
import type { Logger } from '../api.js';
import type { SwimCore } from '../swim/core.js';
import type { Transport } from '../transport/transport.js';
import type { Connections } from './connections.js';
import type { PacketBuilder } from './packet-builder.js';
import type { AckSignal } from './prober.js';

/**
 * memberlist's PingDelegate: what goes in the ack of every ping we answer, and what
 * to do with the payload of a direct ack (with the RTT the prober measured).
 */
export interface PingDelegate {
  ackPayload(): Uint8Array;
  notifyPingComplete(member: string, rttMs: number, payload: Uint8Array): void;
}

export interface ShellContext {
  readonly name: string;
  readonly config: ProtocolConfig;
  readonly scheduler: SchedulerLike;
  readonly core: SwimCore;
  readonly metrics: NodeMetrics;
  readonly log: Logger;
  readonly packets: PacketBuilder;
  /** every TCP stream we opened or accepted, torn down on stop */
  readonly connections: Connections;
  /** emits once when the node stops */
  readonly stopped$: Observable<void>;
  /** the transport while running; undefined before start and after stop */
  transport(): Transport | undefined;
  /** sub-millisecond on real time; the scheduler's own clock in simulation */
  rttClock(): number;
  nextSeqNo(): number;
  /** acks as they arrive, stamped with rttClock() */
  readonly acks$: Observable<AckSignal>;
  /** emits when something is queued for gossip: the gossip loop sleeps while nothing is */
  readonly gossipQueued$: Observable<void>;
  /** Serf's network coordinates; undefined: acks carry no payload */
  readonly ping?: PingDelegate;
}
