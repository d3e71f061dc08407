// The `adaptive` profile's timeouts: memberlist's are fixed by the preset (lan waits
// 500 ms for an ack and at least 4 s × log10 n before declaring a suspect dead), tuned
// for any network; here they follow what this node measures, inside bounds that keep
// the protocol's guarantees. Pure: samples in, timeouts out.
//
// - Probe timeout: PROBE_RTT_MULT × the p99 of the last RTT_WINDOW direct-probe round
//   trips, at least PROBE_FLOOR_MS and at most the preset's probeTimeout. A probe then
//   fails once the indirect probes had INDIRECT_MULT probe timeouts to come back (a
//   relayed ack is two hops), never later than the end of the probe interval as in
//   memberlist.
// - Suspicion timeout (memberlist's min; Lifeguard's max stays suspicionMaxTimeoutMult ×
//   min): REFUTE_MULT × the p99 of the last REFUTE_WINDOW refutations seen (from the
//   moment we suspected a member to its refuting alive), never below the refutation
//   floor and never above the preset's own minimum. The floor is how long a healthy
//   member needs to refute in the worst case the protocol allows: the suspicion reaches
//   it within a probe timeout and a gossip round, its alive needs at most
//   1 + ceil(log_fanout n) more gossip rounds to reach every member:
//     floor = probeTimeout + (2 + ceil(log_gossipNodes n)) × gossipInterval
//   so a member that answers at all answers in time, whatever the estimate says. Before
//   any refutation has been seen, NO_SAMPLE_MULT × the floor.
// The probe timeout keeps the preset's value until MIN_RTT_SAMPLES round trips are in.

export interface AdaptiveSettings {
  probeTimeout: number;
  probeInterval: number;
  gossipInterval: number;
  gossipNodes: number;
}

export const RTT_WINDOW = 64;
export const REFUTE_WINDOW = 32;
/** RTT samples before the probe timeout adapts */
export const MIN_RTT_SAMPLES = 8;
export const PROBE_RTT_MULT = 4;
export const PROBE_FLOOR_MS = 50;
export const INDIRECT_MULT = 3;
export const REFUTE_MULT = 3;
export const NO_SAMPLE_MULT = 1.5;

/** a fixed-size ring of the latest samples, with a percentile over them */
class Window {
  private readonly xs: number[] = [];
  private next = 0;

  constructor(private readonly size: number) {}

  get count(): number {
    return this.xs.length;
  }

  add(x: number): void {
    if (this.xs.length < this.size) this.xs.push(x);
    else this.xs[this.next] = x;
    this.next = (this.next + 1) % this.size;
  }

  /** the nearest-rank percentile, p in (0, 1] */
  percentile(p: number): number {
    const sorted = [...this.xs].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  }
}

export class AdaptiveTimeouts {
  private readonly rtts = new Window(RTT_WINDOW);
  private readonly refutes = new Window(REFUTE_WINDOW);
  /** computed on change, read on every probe */
  private probe: number;
  /** the refutations' p99, computed when one arrives: read on every suspect message judged */
  private refuteP99 = 0;

  constructor(private readonly cfg: AdaptiveSettings) {
    this.probe = cfg.probeTimeout;
  }

  /** a direct probe's ping → ack round trip */
  observeRtt(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    this.rtts.add(ms);
    if (this.rtts.count >= MIN_RTT_SAMPLES) {
      this.probe = Math.min(this.cfg.probeTimeout, Math.max(PROBE_FLOOR_MS, Math.ceil(PROBE_RTT_MULT * this.rtts.percentile(0.99))));
    }
  }

  /** how long a member we suspected took to refute (suspicion start → its alive) */
  observeRefutation(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    this.refutes.add(ms);
    this.refuteP99 = this.refutes.percentile(0.99);
  }

  get rttSamples(): number {
    return this.rtts.count;
  }

  get refutationSamples(): number {
    return this.refutes.count;
  }

  /** how long to wait for a direct ack */
  probeTimeout(): number {
    return this.probe;
  }

  /**
   * From the probe's start, when an unanswered probe fails, before Lifeguard's health
   * scaling; the prober also never waits past the (scaled) probe interval.
   */
  probeDeadline(): number {
    return this.probe * (1 + INDIRECT_MULT);
  }

  /** the least time a healthy member can need to refute a suspicion of it, in a cluster of n */
  refutationFloor(n: number): number {
    const rounds = 2 + Math.ceil(Math.log(Math.max(2, n)) / Math.log(Math.max(2, this.cfg.gossipNodes)));
    return this.probe + rounds * this.cfg.gossipInterval;
  }

  /** the suspicion timeout's minimum for n members, given the preset's own minimum `presetMinMs` */
  suspicionMin(n: number, presetMinMs: number): number {
    const floor = this.refutationFloor(n);
    if (this.refutes.count === 0) return Math.min(presetMinMs, Math.ceil(NO_SAMPLE_MULT * floor));
    return Math.min(presetMinMs, Math.max(floor, Math.ceil(REFUTE_MULT * this.refuteP99)));
  }
}
