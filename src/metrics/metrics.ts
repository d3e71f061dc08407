// Prometheus metrics of one node. Each node registers into its own Registry unless
// the application passes one, so two nodes in one process never collide; the node
// name is not a label (that is the scrape's `instance`).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MemberState } from '../api.js';

export interface MetricsSources {
  memberCounts(): Record<MemberState, number>;
  queueDepth(): number;
  userQueueDepth(): number;
  healthScore(): number;
  incarnation(): number;
}

export class NodeMetrics {
  readonly registry: Registry;
  readonly packetsDropped: Counter<'reason'>;
  readonly packetsReceived: Counter<'transport'>;
  readonly packetsSent: Counter<'transport'>;
  readonly bytesReceived: Counter<'transport'>;
  readonly bytesSent: Counter<'transport'>;
  readonly messagesReceived: Counter<'type'>;
  readonly probes: Counter<'outcome'>;
  readonly probeRtt: Histogram;
  readonly indirectPings: Counter<'result'>;
  readonly suspicionsRaised: Counter;
  readonly refutations: Counter;
  readonly memberTransitions: Counter<'to'>;
  readonly pushPulls: Counter<'result'>;
  readonly userMessages: Counter<'via'>;
  readonly broadcastsDropped: Counter;

  constructor(sources: MetricsSources, registry?: Registry) {
    const r = (this.registry = registry ?? new Registry());
    const opt = { registers: [r] };
    this.packetsDropped = new Counter({
      name: 'rxswim_packets_dropped_total',
      help: 'Inbound packets or stream messages dropped, by reason',
      labelNames: ['reason'],
      ...opt,
    });
    this.packetsReceived = new Counter({ name: 'rxswim_packets_received_total', help: 'Packets and streams received', labelNames: ['transport'], ...opt });
    this.packetsSent = new Counter({ name: 'rxswim_packets_sent_total', help: 'Packets and streams sent', labelNames: ['transport'], ...opt });
    this.bytesReceived = new Counter({ name: 'rxswim_bytes_received_total', help: 'Bytes received', labelNames: ['transport'], ...opt });
    this.bytesSent = new Counter({ name: 'rxswim_bytes_sent_total', help: 'Bytes sent', labelNames: ['transport'], ...opt });
    this.messagesReceived = new Counter({ name: 'rxswim_messages_received_total', help: 'Decoded messages received, by type', labelNames: ['type'], ...opt });
    this.probes = new Counter({ name: 'rxswim_probes_total', help: 'Probes by outcome (direct, indirect, tcp, failed)', labelNames: ['outcome'], ...opt });
    this.probeRtt = new Histogram({
      name: 'rxswim_probe_rtt_seconds',
      help: 'Round-trip time of acked probes',
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      ...opt,
    });
    this.indirectPings = new Counter({ name: 'rxswim_indirect_pings_total', help: 'Indirect pings handled for others, by result (acked, nacked, timeout)', labelNames: ['result'], ...opt });
    this.suspicionsRaised = new Counter({ name: 'rxswim_suspicions_raised_total', help: 'Members this node suspected after a failed probe', ...opt });
    this.refutations = new Counter({ name: 'rxswim_refutations_total', help: 'Suspicions or deaths of this node refuted', ...opt });
    this.memberTransitions = new Counter({ name: 'rxswim_member_transitions_total', help: 'Member state changes observed, by new state', labelNames: ['to'], ...opt });
    this.pushPulls = new Counter({ name: 'rxswim_push_pulls_total', help: 'Push-pull exchanges by result', labelNames: ['result'], ...opt });
    this.userMessages = new Counter({ name: 'rxswim_user_messages_received_total', help: 'User messages delivered to the application, by path (broadcast, udp, tcp)', labelNames: ['via'], ...opt });
    this.broadcastsDropped = new Counter({ name: 'rxswim_broadcasts_dropped_total', help: 'User broadcasts dropped because the queue was full', ...opt });
    new Gauge({
      name: 'rxswim_members',
      help: 'Members known, by state (this node included)',
      labelNames: ['state'],
      ...opt,
      collect() {
        for (const [state, n] of Object.entries(sources.memberCounts())) this.set({ state }, n);
      },
    });
    new Gauge({ name: 'rxswim_gossip_queue_depth', help: 'Messages waiting in the broadcast queue', ...opt, collect() { this.set(sources.queueDepth()); } });
    new Gauge({ name: 'rxswim_user_queue_depth', help: 'User broadcasts waiting to be gossiped', ...opt, collect() { this.set(sources.userQueueDepth()); } });
    new Gauge({ name: 'rxswim_local_health_score', help: 'Lifeguard local health score (0 = healthy)', ...opt, collect() { this.set(sources.healthScore()); } });
    new Gauge({ name: 'rxswim_incarnation', help: 'Incarnation number of this node', ...opt, collect() { this.set(sources.incarnation()); } });
  }
}
