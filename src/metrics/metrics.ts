// Prometheus metrics of one node. Each node registers into its own Registry unless
// the application passes one, so two nodes in one process never collide; the node
// name is not a label (that is the scrape's `instance`). Label values that are known
// up front are initialised to 0, so that dashboards and alerts see a series from the
// first scrape instead of "no data" until the first event.
import { DECODE_ERROR_REASONS } from '../errors.js';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MemberState } from '../api.js';

export interface MetricsSources {
  memberCounts(): Record<MemberState, number>;
  queueDepth(): number;
  userQueueDepth(): number;
  healthScore(): number;
  incarnation(): number;
  /** the probe timeout and suspicion bounds in force now, ms (measured under `adaptive`) */
  timeouts?(): { probeTimeout: number; suspicionMin: number; suspicionMax: number };
  /** the transport's failure counts so far (zero before it is bound) */
  transportErrors?(): { send: number; receive: number };
}

const MEMBER_STATES = ['alive', 'suspect', 'dead', 'left'] as const;
const TRANSPORTS = ['udp', 'tcp'] as const;
/** message types as labelled in rxswim_messages_*_total */
export const MESSAGE_TYPES = ['ping', 'indirectPing', 'ack', 'nack', 'suspect', 'alive', 'dead', 'user', 'pushPull', 'userStream', 'err'] as const;
/** every decode failure, plus what can go wrong after decoding */
export const DROP_REASONS = [...DECODE_ERROR_REASONS, 'stream_error', 'handler_error'] as const;

/**
 * A labelled counter for the paths that count every packet and message. prom-client
 * hashes and validates the label object on each inc, which cost more than the rest of
 * handling a ping when the code runs cold at one probe a second; here an inc is one Map
 * lookup by the label values and an add, and prom-client is handed the totals when it is
 * scraped (its collect hook). Scrapes, `get()` and dashboards see the same series.
 */
export class TallyCounter<L extends string> {
  /** one level of Map per label, in labelNames order; the leaves hold the totals */
  private readonly root = new Map<string, unknown>();
  private readonly totals: Array<{ labels: Record<L, string>; n: number }> = [];

  constructor(
    name: string,
    help: string,
    private readonly labelNames: readonly L[],
    init: ReadonlyArray<Record<L, string>>,
    registers: Registry[],
  ) {
    for (const labels of init) this.inc(labels, 0);
    const totals = this.totals;
    new Counter<L>({
      name,
      help,
      labelNames: labelNames as L[],
      registers,
      collect() {
        this.reset();
        for (const t of totals) this.inc(t.labels, t.n);
      },
    });
  }

  inc(labels: Record<L, string>, value = 1): void {
    this.series(labels).n += value;
  }

  /**
   * The running total of one label set, to add to directly: the per-packet paths hold
   * theirs (UdpSeries), so counting a datagram is an add, not a lookup per label.
   */
  series(labels: Record<L, string>): TallySeries {
    const names = this.labelNames;
    let level = this.root;
    for (let i = 0; i < names.length - 1; i++) {
      const v = labels[names[i]!];
      let next = level.get(v) as Map<string, unknown> | undefined;
      if (!next) level.set(v, (next = new Map()));
      level = next;
    }
    const last = labels[names[names.length - 1]!];
    let t = level.get(last) as TallySeries | undefined;
    if (!t) {
      const entry = { labels: { ...labels }, n: 0 };
      level.set(last, entry);
      this.totals.push(entry);
      t = entry;
    }
    return t;
  }
}

/** one series of a TallyCounter: add to `n` */
export interface TallySeries {
  n: number;
}

/** The series every UDP datagram touches, resolved once per node. */
export class UdpSeries {
  readonly packetsSent: TallySeries;
  readonly bytesSent: TallySeries;
  readonly packetsReceived: TallySeries;
  readonly bytesReceived: TallySeries;
  readonly outcome: Record<'decoded' | 'partial' | 'dropped', TallySeries>;
  private readonly sentByType = new Map<string, TallySeries>();
  private readonly receivedByType = new Map<string, TallySeries>();

  constructor(private readonly m: Pick<NodeMetrics, 'packetsSent' | 'bytesSent' | 'packetsReceived' | 'bytesReceived' | 'udpPackets' | 'messagesSent' | 'messagesReceived'>) {
    const udp = { transport: 'udp' } as const;
    this.packetsSent = m.packetsSent.series(udp);
    this.bytesSent = m.bytesSent.series(udp);
    this.packetsReceived = m.packetsReceived.series(udp);
    this.bytesReceived = m.bytesReceived.series(udp);
    this.outcome = { decoded: m.udpPackets.series({ outcome: 'decoded' }), partial: m.udpPackets.series({ outcome: 'partial' }), dropped: m.udpPackets.series({ outcome: 'dropped' }) };
  }

  /** rxswim_messages_sent_total{type, transport="udp"} */
  sent(type: string): TallySeries {
    let s = this.sentByType.get(type);
    if (!s) this.sentByType.set(type, (s = this.m.messagesSent.series({ type, transport: 'udp' })));
    return s;
  }

  /** rxswim_messages_received_total{type, transport="udp"} */
  received(type: string): TallySeries {
    let s = this.receivedByType.get(type);
    if (!s) this.receivedByType.set(type, (s = this.m.messagesReceived.series({ type, transport: 'udp' })));
    return s;
  }
}

export class NodeMetrics {
  readonly registry: Registry;
  readonly packetsDropped: Counter<'reason'>;
  readonly packetsReceived: TallyCounter<'transport'>;
  readonly udpPackets: TallyCounter<'outcome'>;
  readonly packetsSent: TallyCounter<'transport'>;
  readonly bytesReceived: TallyCounter<'transport'>;
  readonly bytesSent: TallyCounter<'transport'>;
  readonly messagesReceived: TallyCounter<'type' | 'transport'>;
  readonly messagesSent: TallyCounter<'type' | 'transport'>;
  /** the UDP series above, resolved once: what sending and receiving a datagram count */
  readonly udp: UdpSeries;
  readonly probes: Counter<'outcome'>;
  readonly probeRtt: Histogram;
  readonly indirectProbesSent: Counter;
  readonly indirectProbesAnswered: Counter;
  readonly nacksReceived: Counter;
  readonly indirectPings: Counter<'result'>;
  readonly suspicionsRaised: Counter;
  readonly suspicionsReceived: Counter;
  readonly suspicionConfirmations: Counter;
  readonly refutations: Counter;
  readonly memberTransitions: Counter<'to'>;
  readonly flaps: Counter;
  readonly pushPulls: Counter<'result'>;
  readonly pushPullDuration: Histogram;
  readonly userMessages: Counter<'via'>;
  readonly broadcastsDropped: Counter;
  readonly rawMessages: Counter<'via'>;
  readonly serfIntents: Counter<'type'>;
  readonly serfEventsReceived: Counter;
  readonly serfEventsSent: Counter;
  readonly serfEventsIgnored: Counter<'reason'>;
  readonly directAnswers: Counter<'kind'>;

  constructor(sources: MetricsSources, registry?: Registry) {
    const r = (this.registry = registry ?? new Registry());
    const registers = [r];
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = [], init: Array<Partial<Record<L, string>>> = []) => {
      const c = new Counter<L>({ name, help, labelNames: labelNames as L[], registers });
      for (const labels of init) c.inc(labels as Record<L, string>, 0);
      if (labelNames.length === 0) c.inc(0);
      return c;
    };
    const tally = <L extends string>(name: string, help: string, labelNames: readonly L[], init: ReadonlyArray<Record<L, string>>) =>
      new TallyCounter<L>(name, help, labelNames, init, registers);
    const each = <L extends string>(label: L, values: readonly string[]) => values.map((v) => ({ [label]: v }) as Record<L, string>);
    const cross = (types: readonly string[]) => types.flatMap((type) => TRANSPORTS.map((transport) => ({ type, transport })));

    this.packetsDropped = counter('rxswim_packets_dropped_total', 'Inbound packets, messages or streams dropped, by reason', ['reason'], each('reason', DROP_REASONS));
    this.packetsReceived = tally('rxswim_packets_received_total', 'UDP packets and TCP streams received', ['transport'], each('transport', TRANSPORTS));
    // One count per datagram (packets_dropped_total counts problems, several per packet at times),
    // so that received == decoded + partial + dropped holds exactly.
    this.udpPackets = tally(
      'rxswim_udp_packets_total',
      'UDP packets received, by decode outcome: decoded (every part), partial (some messages, some parts dropped), dropped (nothing usable)',
      ['outcome'],
      each('outcome', ['decoded', 'partial', 'dropped']),
    );
    this.packetsSent = tally('rxswim_packets_sent_total', 'UDP packets and TCP streams sent', ['transport'], each('transport', TRANSPORTS));
    this.bytesReceived = tally('rxswim_bytes_received_total', 'Bytes received, by transport', ['transport'], each('transport', TRANSPORTS));
    this.bytesSent = tally('rxswim_bytes_sent_total', 'Bytes sent, by transport', ['transport'], each('transport', TRANSPORTS));
    this.messagesReceived = tally('rxswim_messages_received_total', 'Decoded messages received, by type and transport', ['type', 'transport'], cross(MESSAGE_TYPES));
    this.messagesSent = tally('rxswim_messages_sent_total', 'Messages sent (compound parts counted one by one), by type and transport', ['type', 'transport'], cross(MESSAGE_TYPES));
    this.udp = new UdpSeries(this);
    this.probes = counter('rxswim_probes_total', 'Probes by outcome: direct ack, indirect ack, TCP ping, failed', ['outcome'], each('outcome', ['direct', 'indirect', 'tcp', 'failed']));
    this.probeRtt = new Histogram({
      name: 'rxswim_probe_rtt_seconds',
      help: 'Round-trip time of acked probes (direct or through a helper)',
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.indirectProbesSent = counter('rxswim_indirect_probes_sent_total', 'Indirect ping requests sent to helpers after a direct probe got no ack');
    this.indirectProbesAnswered = counter('rxswim_indirect_probes_answered_total', 'Probes acked in the indirect phase (relayed by a helper or late)');
    this.nacksReceived = counter('rxswim_nacks_received_total', 'Nacks received from helpers (the helper was up but the target did not answer it)');
    this.indirectPings = counter('rxswim_indirect_pings_total', 'Indirect pings handled for other members, by result', ['result'], each('result', ['acked', 'nacked', 'timeout']));
    this.suspicionsRaised = counter('rxswim_suspicions_raised_total', 'Members this node suspected after a failed probe');
    this.suspicionsReceived = counter('rxswim_suspicions_received_total', 'Suspect messages received from other members');
    this.suspicionConfirmations = counter('rxswim_suspicion_confirmations_total', 'Independent confirmations of a suspicion (Lifeguard shortens the timeout with each)');
    this.refutations = counter('rxswim_refutations_total', 'Suspicions or deaths of this node refuted');
    this.memberTransitions = counter('rxswim_member_transitions_total', 'Member state changes observed, by new state', ['to'], each('to', MEMBER_STATES));
    this.flaps = counter('rxswim_flaps_total', 'Members that were declared failed and came back within 60 s');
    this.pushPulls = counter('rxswim_push_pulls_total', 'Push-pull exchanges we started, by result', ['result'], each('result', ['ok', 'failed', 'incompatible']));
    this.pushPullDuration = new Histogram({
      name: 'rxswim_push_pull_duration_seconds',
      help: 'Duration of push-pull exchanges we started (connect, send, receive, merge)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.userMessages = counter('rxswim_user_messages_received_total', 'User messages delivered to the application, by path', ['via'], each('via', ['broadcast', 'udp', 'tcp']));
    this.broadcastsDropped = counter('rxswim_broadcasts_dropped_total', 'User broadcasts dropped because the queue was full');
    this.rawMessages = counter('rxswim_raw_messages_received_total', "User messages not in rxswim's envelope (a plain memberlist application's) delivered to rawMessages$, by path", ['via'], each('via', ['udp', 'tcp']));
    this.serfIntents = counter('rxswim_serf_intents_received_total', "Serf's join and leave intents that were new to us (applied and passed on)", ['type'], each('type', ['join', 'leave']));
    this.serfEventsReceived = counter('rxswim_serf_events_received_total', "Serf user events delivered to the application (each once; our own included)");
    this.serfEventsSent = counter('rxswim_serf_events_sent_total', 'Serf user events this node sent (serfEvent(), POST /v1/event)');
    this.serfEventsIgnored = counter('rxswim_serf_events_ignored_total', 'Serf user events heard again (duplicate), older than the event buffer (too_old), or from before we joined (before_join)', ['reason'], each('reason', ['duplicate', 'too_old', 'before_join']));
    this.directAnswers = counter('rxswim_direct_answers_total', 'Members told directly what gossip could miss: the leave of a member they accused (kind=leave), our alive refuting their accusation of us (kind=refute), a death we declared (kind=death, adaptive only)', ['kind'], each('kind', ['leave', 'refute', 'death']));
    new Gauge({
      name: 'rxswim_members',
      help: 'Members listed, by state (this node included)',
      labelNames: ['state'],
      registers,
      collect() {
        for (const [state, n] of Object.entries(sources.memberCounts())) this.set({ state }, n);
      },
    });
    new Gauge({ name: 'rxswim_gossip_queue_depth', help: 'Membership messages waiting in the broadcast queue', registers, collect() { this.set(sources.queueDepth()); } });
    new Gauge({ name: 'rxswim_user_queue_depth', help: 'User broadcasts waiting to be gossiped', registers, collect() { this.set(sources.userQueueDepth()); } });
    new Gauge({
      name: 'rxswim_timeout_seconds',
      help: 'The probe timeout and the suspicion timeout bounds in force now (measured under the adaptive profile, fixed otherwise)',
      labelNames: ['timeout'],
      registers,
      collect() {
        const t = sources.timeouts?.();
        if (!t) return;
        this.set({ timeout: 'probe' }, t.probeTimeout / 1000);
        this.set({ timeout: 'suspicion_min' }, t.suspicionMin / 1000);
        this.set({ timeout: 'suspicion_max' }, t.suspicionMax / 1000);
      },
    });
    new Counter({
      name: 'rxswim_transport_errors_total',
      help: 'Datagrams the transport failed to send (direction=send), errors its receiving socket reported (direction=receive)',
      labelNames: ['direction'],
      registers,
      collect() {
        const e = sources.transportErrors?.() ?? { send: 0, receive: 0 };
        this.reset();
        this.inc({ direction: 'send' }, e.send);
        this.inc({ direction: 'receive' }, e.receive);
      },
    });
    new Gauge({ name: 'rxswim_local_health_score', help: 'Lifeguard local health score (0 = healthy)', registers, collect() { this.set(sources.healthScore()); } });
    new Gauge({ name: 'rxswim_incarnation', help: 'Incarnation number of this node', registers, collect() { this.set(sources.incarnation()); } });
  }
}

const TYPE_BY_BYTE: Record<number, string> = { 0: 'ping', 1: 'indirectPing', 2: 'ack', 3: 'suspect', 4: 'alive', 5: 'dead', 8: 'user', 11: 'nack' };

/** metric label of an encoded packet message (its first byte) */
export function messageTypeOf(encoded: Uint8Array): string {
  return TYPE_BY_BYTE[encoded[0] ?? -1] ?? 'other';
}
