// A cluster of real rxswim nodes on the in-memory network under virtual time.
// Everything a node does runs inside scheduler.flush(); awaiting between steps lets
// the few promise-based APIs (start, join) settle. The same seed gives the same run.
import type { InspectionEvent } from 'xstate';
import type { MemberEvent } from '../api.js';
import type { ProtocolOverrides, Profile } from '../config.js';
import { createNode, type RxSwimNode } from '../node.js';
import { MemoryNetwork } from '../transport/memory.js';
import { createRandom } from './random.js';
import { StallableScheduler } from './stall-scheduler.js';
import { HeapVirtualScheduler } from './virtual-scheduler.js';

export interface VirtualClusterOptions {
  size: number;
  seed: number;
  profile?: Profile;
  config?: ProtocolOverrides;
  latencyMs?: number;
  loss?: number;
  /** per-node overrides, e.g. Lifeguard off on one node */
  configFor?: (i: number) => ProtocolOverrides;
  /** XState inspector for node i's member actors */
  inspectFor?: (i: number) => ((e: InspectionEvent) => void) | undefined;
}

export interface ObservedEvent extends MemberEvent {
  observer: string;
}

export class VirtualCluster {
  readonly scheduler = new HeapVirtualScheduler();
  readonly network: MemoryNetwork;
  readonly nodes = new Map<string, RxSwimNode>();
  /** each node's own view of time, which a stall (a blocked event loop) can hold back */
  readonly clocks = new Map<string, StallableScheduler>();
  readonly events: ObservedEvent[] = [];
  /**
   * Whether member events go into `events`. A boot of N nodes makes N² joined events
   * (250,000 at 500 nodes) that an experiment measuring after the boot never reads.
   */
  recordEvents = true;
  private readonly random: () => number;

  constructor(private readonly opts: VirtualClusterOptions) {
    this.random = createRandom(opts.seed);
    this.network = new MemoryNetwork({
      scheduler: this.scheduler,
      random: this.random,
      latencyMs: opts.latencyMs ?? 1,
      loss: opts.loss ?? 0,
    });
  }

  get now(): number {
    return this.scheduler.now();
  }

  static hostOf(i: number): string {
    return `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`;
  }

  /** create and start node i (not joined yet) */
  async add(i: number, host = VirtualCluster.hostOf(i)): Promise<RxSwimNode> {
    const clock = new StallableScheduler(this.scheduler);
    this.clocks.set(`node-${i}`, clock);
    const node = createNode({
      name: `node-${i}`,
      bind: `${host}:7946`,
      profile: this.opts.profile ?? 'lan',
      config: { ...this.opts.config, ...this.opts.configFor?.(i) },
      scheduler: clock,
      random: this.random,
      transport: (addr) => this.network.createTransport(addr),
      ...(this.opts.inspectFor?.(i) ? { inspect: this.opts.inspectFor(i)! } : {}),
    });
    node.events$.subscribe((e) => {
      if (this.recordEvents) this.events.push({ ...e, observer: node.name });
    });
    this.nodes.set(node.name, node);
    await node.start();
    return node;
  }

  /** start every node and join each to node-0, then let the cluster settle */
  async boot(settleMs = 5_000): Promise<void> {
    for (let i = 0; i < this.opts.size; i++) await this.add(i);
    const seed = `${VirtualCluster.hostOf(0)}:7946`;
    for (let i = 1; i < this.opts.size; i++) {
      const joined = this.nodes.get(`node-${i}`)!.join([seed]);
      await this.advance(50);
      await joined;
    }
    await this.advance(settleMs);
  }

  /** run the protocol for ms of virtual time */
  async advance(ms: number, stepMs = 10): Promise<void> {
    const end = this.scheduler.now() + ms;
    while (this.scheduler.now() < end) {
      const t = Math.min(end, this.scheduler.now() + stepMs);
      this.scheduler.advanceTo(t);
      // let promise continuations (join, leave) run between steps
      await Promise.resolve();
    }
  }

  /** advance until pred holds or the deadline passes; returns the time it held, or undefined */
  async until(pred: () => boolean, maxMs: number, stepMs = 10): Promise<number | undefined> {
    const end = this.scheduler.now() + maxMs;
    while (this.scheduler.now() < end) {
      if (pred()) return this.scheduler.now();
      await this.advance(stepMs, stepMs);
    }
    return pred() ? this.scheduler.now() : undefined;
  }

  /** how node `observer` sees `member` */
  stateOf(observer: string, member: string): string | undefined {
    return this.nodes.get(observer)?.member(member)?.state;
  }

  /**
   * Block node i's event loop for ms, as a long GC pause or a busy loop would: none of
   * its timers run and inbound packets wait in its socket buffer until it resumes.
   */
  block(i: number, ms: number): void {
    const name = `node-${i}`;
    const host = `${VirtualCluster.hostOf(i)}:7946`;
    const until = this.scheduler.now() + ms;
    this.clocks.get(name)!.stall(until);
    this.network.pause(host);
    this.scheduler.schedule(() => this.network.resume(host), ms);
  }

  /** crash: the node stops without a word, as under kill -9 */
  async crash(name: string): Promise<void> {
    const node = this.nodes.get(name)!;
    this.nodes.delete(name);
    await node.stop();
  }

  async stopAll(): Promise<void> {
    for (const n of this.nodes.values()) await n.stop();
    this.nodes.clear();
  }
}
