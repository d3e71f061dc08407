// The member table: one XState actor per remote member, plus the rules that sit
// around the machine in memberlist (wire spec §11): unknown names, messages about
// ourselves (refutation), address conflicts and reclaim, reaping the dead. It turns
// actor snapshots into members$ / events$ and tells the node what to gossip.
import { Observable, Subject, type SchedulerLike } from 'rxjs';
import { createActor, type Actor, type InspectionEvent, type Observer } from 'xstate';
import type { Member, MemberEvent, MemberState } from '../api.js';
import { clockFromScheduler } from '../clock.js';
import type { ProtocolConfig } from '../config.js';
import { memberMachine, type MemberEmitted } from '../../machines/member.js';
import { suspicionBounds } from '../swim/formulas.js';
import type { Alive, Dead, GossipMessage, PushNodeState, Suspect } from '../wire/types.js';
import { WireState } from '../wire/types.js';
import { addrToString } from './address.js';

type MemberActor = Actor<typeof memberMachine>;

interface Entry {
  actor: MemberActor;
  state: MemberState;
}

export interface LocalNode {
  name: string;
  addr: Uint8Array;
  port: number;
  meta: Uint8Array;
  vsn: Uint8Array;
  incarnation: number;
}

export interface TableDeps {
  scheduler: SchedulerLike;
  config: ProtocolConfig;
  local: LocalNode;
  random: () => number;
  /** queue a gossip message about `key` (a node name) */
  broadcast: (key: string, msg: GossipMessage) => void;
  /** a refutation or a self-accusation: Lifeguard raises the local health score */
  onRefute: () => void;
  /** an independent confirmation of a suspicion we hold */
  onConfirmation?: () => void;
  log: (level: 'debug' | 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;
  inspect?: Observer<InspectionEvent> | ((e: InspectionEvent) => void);
}

const EMPTY = new Uint8Array(0);

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  const x = a ?? EMPTY;
  const y = b ?? EMPTY;
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** memberlist ignores an alive whose Vsn is malformed (§10.2); we also refuse short ones. */
export function vsnIsValid(vsn: Uint8Array | null): boolean {
  if (!vsn || vsn.length === 0) return true;
  if (vsn.length !== 6) return false;
  const [pmin, pmax] = vsn as unknown as [number, number];
  return !(pmin === 0 || pmax === 0 || pmin > pmax);
}

export class MemberTable {
  private readonly entries = new Map<string, Entry>();
  /**
   * Members memberlist has already forgotten (reaped after GossipToTheDeadTime) but
   * that Serf keeps: failed ones until ReconnectTimeout (and retried meanwhile), left
   * ones until TombstoneTimeout. Listed, never probed or gossiped to.
   */
  private readonly departed = new Map<string, Member>();
  private probeOrder: string[] = [];
  private probeIndex = 0;
  private leaving = false;
  private readonly changes = new Subject<void>();
  private readonly eventsSubject = new Subject<MemberEvent>();
  /**
   * The list at subscription, then after every change. Built only for subscribers:
   * a 500-node simulation changes each table thousands of times while booting, and
   * an O(n) list per change that nobody reads would dominate its cost.
   */
  readonly members$ = new Observable<readonly Member[]>((sub) => {
    sub.next(this.list());
    return this.changes.subscribe({ next: () => sub.next(this.list()), complete: () => sub.complete() });
  });
  readonly events$ = this.eventsSubject.asObservable();
  private readonly clock;

  constructor(private readonly deps: TableDeps) {
    this.clock = clockFromScheduler(deps.scheduler);
    this.publish();
  }

  get local(): LocalNode {
    return this.deps.local;
  }

  /** entries in the table, self and not-yet-reaped dead included: memberlist's n */
  get size(): number {
    return this.entries.size + 1;
  }

  /** members per state, this node and departed ones included, without building lists */
  countByState(): Record<MemberState, number> {
    const c: Record<MemberState, number> = { alive: 0, suspect: 0, dead: 0, left: 0 };
    c[this.leaving ? 'left' : 'alive']++;
    for (const e of this.entries.values()) c[e.state]++;
    for (const m of this.departed.values()) c[m.state]++;
    return c;
  }

  /** failed members worth a reconnect attempt: dead in the table or departed, not left */
  failedMembers(): Member[] {
    const out = [...this.entries.values()].filter((e) => e.state === 'dead').map((e) => this.toMember(e));
    for (const m of this.departed.values()) if (m.state === 'dead') out.push(m);
    return out;
  }

  get aliveCount(): number {
    let n = 1;
    for (const e of this.entries.values()) if (e.state === 'alive' || e.state === 'suspect') n++;
    return n;
  }

  isLeaving(): boolean {
    return this.leaving;
  }

  setLeaving(): void {
    this.leaving = true;
  }

  get(name: string): Member | undefined {
    if (name === this.deps.local.name) return this.localMember();
    const e = this.entries.get(name);
    return e ? this.toMember(e) : this.departed.get(name);
  }

  /** raw vsn of a known node, for protocol feature checks (CRC, nack, TCP ping) */
  vsnOf(name: string): Uint8Array | undefined {
    return this.entries.get(name)?.actor.getSnapshot().context.vsn;
  }

  list(): Member[] {
    return [this.localMember(), ...this.remote()];
  }

  /** every remote member we list: in the table, or departed but not yet forgotten */
  remote(): Member[] {
    return [...[...this.entries.values()].map((e) => this.toMember(e)), ...this.departed.values()];
  }

  localMember(): Member {
    const l = this.deps.local;
    return {
      name: l.name,
      address: addrToString(l.addr),
      port: l.port,
      state: this.leaving ? 'left' : 'alive',
      incarnation: l.incarnation,
      meta: l.meta,
      vsn: [...l.vsn],
      stateChangedAt: 0,
    };
  }

  /** the alive message that announces us */
  localAlive(): Alive {
    const l = this.deps.local;
    return { type: 'alive', incarnation: l.incarnation, node: l.name, addr: l.addr, port: l.port, meta: l.meta, vsn: l.vsn };
  }

  /** every node we know, self included, as push-pull records */
  pushPullState(): PushNodeState[] {
    const l = this.deps.local;
    const out: PushNodeState[] = [
      { name: l.name, addr: l.addr, port: l.port, meta: l.meta, incarnation: l.incarnation, state: WireState.alive, vsn: l.vsn },
    ];
    for (const [name, e] of this.entries) {
      const c = e.actor.getSnapshot().context;
      out.push({ name, addr: c.addr, port: c.port, meta: c.meta, incarnation: c.incarnation, state: WireState[e.state], vsn: c.vsn });
    }
    return out;
  }

  // ---- probe order: randomized round robin, reshuffled at every wrap ----

  /** next member to probe, or undefined when there is nobody to probe */
  nextProbeTarget(): Member | undefined {
    for (let checked = 0; checked <= this.probeOrder.length; checked++) {
      if (this.probeIndex >= this.probeOrder.length) {
        this.reapAndShuffle();
        this.probeIndex = 0;
        if (this.probeOrder.length === 0) return undefined;
      }
      const name = this.probeOrder[this.probeIndex++]!;
      const e = this.entries.get(name);
      if (e && (e.state === 'alive' || e.state === 'suspect')) return this.toMember(e);
    }
    return undefined;
  }

  /** up to k random members in the given states, excluding some names */
  randomMembers(k: number, states: readonly MemberState[], exclude: ReadonlySet<string> = new Set()): Member[] {
    const pool: Entry[] = [];
    for (const [name, e] of this.entries) if (states.includes(e.state) && !exclude.has(name)) pool.push(e);
    return this.sample(pool, k).map((e) => this.toMember(e));
  }

  /** gossip targets: alive, suspect, or dead/left for less than GossipToTheDeadTime */
  gossipTargets(k: number): Member[] {
    const now = this.deps.scheduler.now();
    const { live, departing } = this.byLiveness();
    const recent = departing.filter((e) => now - e.actor.getSnapshot().context.stateChangedAt < this.deps.config.gossipToTheDeadTime);
    const n = live.length + recent.length;
    // Rejection sampling of k indexes: k is tiny (GossipNodes) and n may be large.
    const picked = new Set<number>();
    const out: Member[] = [];
    while (out.length < Math.min(k, n)) {
      const i = Math.floor(this.deps.random() * n);
      if (picked.has(i)) continue;
      picked.add(i);
      out.push(this.toMember(i < live.length ? live[i]! : recent[i - live.length]!));
    }
    return out;
  }

  // ---- message handling (§11) ----

  handleAlive(a: Alive): void {
    const { local } = this.deps;
    if (a.node === local.name && this.leaving) return;
    if (!vsnIsValid(a.vsn)) {
      this.deps.log('debug', 'ignoring alive with invalid vsn', { member: a.node });
      return;
    }
    const addr = a.addr ?? EMPTY;
    const port = a.port === 0 ? local.port : a.port;
    if (a.node === local.name) {
      if (!sameBytes(addr, local.addr) || port !== local.port) {
        this.deps.log('warn', 'another node claims our name', { member: a.node, address: addrToString(addr), port });
        return;
      }
      if (a.incarnation < local.incarnation) return;
      if (a.incarnation === local.incarnation && sameBytes(a.meta, local.meta) && sameBytes(a.vsn, local.vsn)) return;
      this.refute(a.incarnation);
      return;
    }
    const info = { addr, port, meta: a.meta ?? EMPTY, vsn: a.vsn ?? EMPTY };
    const now = this.deps.scheduler.now();
    const e = this.entries.get(a.node);
    if (!e) {
      // memberlist first stores an unknown node as dead with incarnation 0, so an alive
      // with incarnation 0 never creates a member.
      if (a.incarnation === 0) return;
      this.create(a.node, { ...info, incarnation: a.incarnation, at: now });
      this.deps.broadcast(a.node, { ...a, addr, port });
      return;
    }
    const ctx = e.actor.getSnapshot().context;
    // Most alives are re-gossiped copies of what we hold. The machine would refuse them
    // (aliveIsNewer); skipping the actor round trip keeps large clusters cheap.
    if (a.incarnation <= ctx.incarnation && sameBytes(ctx.addr, addr) && ctx.port === port) return;
    let replace = false;
    if (!sameBytes(ctx.addr, addr) || ctx.port !== port) {
      const reclaim = this.deps.config.deadNodeReclaimTime;
      const deadLongEnough = e.state === 'dead' && reclaim > 0 && now - ctx.stateChangedAt > reclaim;
      if (e.state === 'left' || deadLongEnough) {
        replace = true;
      } else {
        this.deps.log('warn', 'conflicting address for member', {
          member: a.node,
          known: `${addrToString(ctx.addr)}:${ctx.port}`,
          claimed: `${addrToString(addr)}:${port}`,
        });
        return;
      }
    }
    if (this.send(e, { type: 'ALIVE', incarnation: a.incarnation, at: now, replace, ...info })) {
      this.deps.broadcast(a.node, { ...a, addr, port });
    }
  }

  handleSuspect(s: Suspect): void {
    const { local } = this.deps;
    if (s.node === local.name) {
      if (s.incarnation < local.incarnation) return;
      this.refute(s.incarnation);
      return;
    }
    const e = this.entries.get(s.node);
    if (!e) return;
    const now = this.deps.scheduler.now();
    const bounds = suspicionBounds(this.deps.config, this.size);
    const wasSuspect = e.state === 'suspect';
    if (this.send(e, { type: 'SUSPECT', incarnation: s.incarnation, from: s.from, at: now, bounds })) {
      if (wasSuspect) this.deps.onConfirmation?.();
      this.deps.broadcast(s.node, s);
    }
  }

  handleDead(d: Dead): void {
    const { local } = this.deps;
    if (d.node === local.name) {
      if (d.incarnation < local.incarnation) return;
      if (this.leaving) return;
      this.refute(d.incarnation);
      return;
    }
    const e = this.entries.get(d.node);
    if (!e) return;
    if (this.send(e, { type: 'DEAD', incarnation: d.incarnation, from: d.from, at: this.deps.scheduler.now() })) {
      this.deps.broadcast(d.node, d);
    }
  }

  /** merge a push-pull record (§8.1): a remote "dead" only ever makes us suspect */
  mergeRemote(r: PushNodeState): void {
    const base = { incarnation: r.incarnation, node: r.name };
    switch (r.state) {
      case WireState.alive:
        this.handleAlive({ type: 'alive', ...base, addr: r.addr, port: r.port, meta: r.meta, vsn: r.vsn });
        break;
      case WireState.left:
        this.handleDead({ type: 'dead', ...base, from: r.name });
        break;
      case WireState.dead:
      case WireState.suspect:
        this.handleSuspect({ type: 'suspect', ...base, from: this.deps.local.name });
        break;
      default:
        this.deps.log('debug', 'ignoring push-pull record with unknown state', { member: r.name, state: r.state });
    }
  }

  /** our own probe failed: suspect the member as if we had received the message */
  suspectLocally(name: string): void {
    const e = this.entries.get(name);
    if (!e) return;
    const inc = e.actor.getSnapshot().context.incarnation;
    this.handleSuspect({ type: 'suspect', incarnation: inc, node: name, from: this.deps.local.name });
  }

  /** raise our incarnation above an accusation and gossip alive (§11.4) */
  refute(accused: number): void {
    const local = this.deps.local;
    let inc = local.incarnation + 1;
    if (accused >= inc) inc = accused + 1;
    local.incarnation = inc;
    this.deps.onRefute();
    this.deps.broadcast(local.name, this.localAlive());
    this.publish();
  }

  /** re-announce ourselves with a higher incarnation (metadata change, restart) */
  bumpIncarnation(): Alive {
    this.deps.local.incarnation++;
    this.publish();
    return this.localAlive();
  }

  stop(): void {
    for (const e of this.entries.values()) e.actor.stop();
    this.entries.clear();
    this.departed.clear();
    this.probeOrder = [];
    this.changes.complete();
    this.eventsSubject.complete();
  }

  // ---- internals ----

  private create(name: string, input: { addr: Uint8Array; port: number; meta: Uint8Array; vsn: Uint8Array; incarnation: number; at: number }): void {
    const actor = createActor(memberMachine, {
      input: { name, ...input },
      clock: this.clock,
      systemId: `member:${name}`,
      ...(this.deps.inspect ? { inspect: this.deps.inspect } : {}),
    });
    const entry: Entry = { actor, state: 'alive' };
    this.entries.set(name, entry);
    this.departed.delete(name);
    actor.on('suspicionExpired', (ev: Extract<MemberEmitted, { type: 'suspicionExpired' }>) => {
      // The timer fired inside the actor; gossip the verdict as memberlist does.
      this.deps.broadcast(name, { type: 'dead', incarnation: ev.incarnation, node: name, from: this.deps.local.name });
    });
    actor.subscribe((snap) => this.onSnapshot(entry, snap.value as MemberState));
    actor.start();
    // Insert at a random position so a newcomer is probed within one pass.
    const pos = Math.floor(this.deps.random() * (this.probeOrder.length + 1));
    this.probeOrder.splice(pos, 0, name);
    if (pos < this.probeIndex) this.probeIndex++;
    this.emitEvent('joined', entry);
    this.publish();
  }

  /** send an event; true when the machine accepted it (so it should be re-gossiped) */
  private send(e: Entry, event: Parameters<MemberActor['send']>[0]): boolean {
    let accepted: Extract<MemberEmitted, { type: 'accepted' }> | undefined;
    const sub = e.actor.on('accepted', (ev) => {
      accepted = ev;
    });
    const before = e.state;
    e.actor.send(event);
    sub.unsubscribe();
    if (!accepted) return false;
    if (accepted.message === 'alive' && before === 'alive' && e.state === 'alive' && (accepted.metaChanged || accepted.addressChanged)) {
      this.emitEvent('updated', e);
    }
    this.publish();
    return true;
  }

  private onSnapshot(e: Entry, next: MemberState): void {
    const prev = e.state;
    if (prev === next) return;
    e.state = next;
    const type =
      next === 'suspect' ? 'suspected'
      : next === 'dead' ? 'failed'
      : next === 'left' ? 'left'
      : prev === 'suspect' ? 'recovered'
      : 'joined';
    this.emitEvent(type, e);
    this.publish();
  }

  private emitEvent(type: MemberEvent['type'], e: Entry): void {
    this.eventsSubject.next({ type, member: this.toMember(e), at: this.deps.scheduler.now() });
  }

  private reapAndShuffle(): void {
    const now = this.deps.scheduler.now();
    let reaped = false;
    const cfg = this.deps.config;
    for (const [name, e] of this.entries) {
      if (e.state !== 'dead' && e.state !== 'left') continue;
      if (now - e.actor.getSnapshot().context.stateChangedAt < cfg.gossipToTheDeadTime) continue;
      this.departed.set(name, this.toMember(e));
      e.actor.stop();
      this.entries.delete(name);
      reaped = true;
    }
    for (const [name, m] of this.departed) {
      const keep = m.state === 'left' ? cfg.tombstoneTimeout : cfg.reconnectTimeout;
      if (now - m.stateChangedAt >= keep) {
        this.departed.delete(name);
        reaped = true;
      }
    }
    this.probeOrder = this.probeOrder.filter((n) => this.entries.has(n));
    this.shuffle(this.probeOrder);
    if (reaped) this.publish();
  }

  private liveness: { live: Entry[]; departing: Entry[] } | undefined;

  /** entries split by liveness, cached until the next state change */
  private byLiveness(): { live: Entry[]; departing: Entry[] } {
    if (!this.liveness) {
      const live: Entry[] = [];
      const departing: Entry[] = [];
      for (const e of this.entries.values()) (e.state === 'alive' || e.state === 'suspect' ? live : departing).push(e);
      this.liveness = { live, departing };
    }
    return this.liveness;
  }

  /** k distinct random elements (a partial Fisher-Yates: O(k), not O(n), random draws) */
  private sample<T>(xs: T[], k: number): T[] {
    const n = Math.min(k, xs.length);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.deps.random() * (xs.length - i));
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs.slice(0, n);
  }

  private shuffle<T>(xs: T[]): void {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(this.deps.random() * (i + 1));
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
  }

  private toMember(e: Entry): Member {
    const c = e.actor.getSnapshot().context;
    return {
      name: c.name,
      address: addrToString(c.addr),
      port: c.port,
      state: e.state,
      incarnation: c.incarnation,
      meta: c.meta,
      vsn: [...c.vsn],
      stateChangedAt: c.stateChangedAt,
    };
  }

  private publish(): void {
    this.liveness = undefined;
    if (!this.changes.closed) this.changes.next();
  }
}
