// The member registry: one XState actor per remote member, and nothing else about
// members. Lists and targets are read from the actors' snapshots when asked. Besides
// the actors there are only indexes kept from what the machines emit (never by copying
// or diffing their state): the probe order (names), counts by state and the names
// memberlist has forgotten, so that n, the alive count and the metrics are O(1).
import { createActor, enqueueActions, setup, stopChild, type Actor, type ActorOptions, type AnyActorRef, type InspectionEvent, type Observer } from 'xstate';
import type { Member, MemberState } from '../api.js';
import type { XStateClock } from '../clock.js';
import { addrToString } from '../membership/address-text.js';
import { decodeTags } from '../membership/tags.js';
import { memberLogic } from '../../machines/member-restore.js';
import { memberMachine, newMemberSnapshot, type MemberChange, type MemberContext, type MemberInput, type MemberEvent as MachineEvent } from '../../machines/member.js';
import type { PushNodeState } from '../wire/types.js';
import { WireState } from '../wire/types.js';
import { ByteInterner } from './byte-interner.js';
import { necessaryGuards } from './necessary-guards.js';
import { shareActorOptions } from './shared-actor-options.js';
import type { MemberView } from './rules.js';

export type MemberActor = Actor<typeof memberMachine>;

const MEMBER_NECESSARY_GUARDS = necessaryGuards(memberMachine);

export interface RegistryDeps {
  clock: XStateClock;
  random: () => number;
  inspect?: Observer<InspectionEvent> | ((e: InspectionEvent) => void);
  /** a member changed on its own (its suspicion timer ran out) */
  onExpired(name: string, incarnation: number): void;
  /** a change users see: the actor's snapshot is already the new one */
  onChange(change: MemberChange, member: Member): void;
  /** a member actor failed (a bug: the machine has no failing action); it is reported, never thrown */
  onActorError?(error: unknown): void;
}

export interface NewMember {
  addr: Uint8Array;
  port: number;
  meta: Uint8Array;
  vsn: Uint8Array;
  incarnation: number;
  at: number;
}

function stateOf(a: MemberActor): MemberState {
  return a.getSnapshot().value as MemberState;
}

function isLive(s: MemberState): boolean {
  return s === 'alive' || s === 'suspect';
}

/**
 * The frozen number[] form of each vsn array, made once per array: members share their
 * interned vsn bytes (byte-interner.ts), so their Members share this list too.
 */
const VSN_LISTS = new WeakMap<Uint8Array, readonly number[]>();

function vsnList(vsn: Uint8Array): number[] {
  let list = VSN_LISTS.get(vsn);
  if (!list) VSN_LISTS.set(vsn, (list = Object.freeze([...vsn])));
  return list as number[];
}

/**
 * Each meta array's decoded tags, frozen and made once: interned metadata is shared by
 * the members that carry it, so their Members share one tags object (and a new snapshot
 * of a member does not decode its tags again).
 */
const TAGS = new WeakMap<Uint8Array, { tags: Readonly<Record<string, string>> | undefined }>();

function tagsOf(meta: Uint8Array): Readonly<Record<string, string>> | undefined {
  let t = TAGS.get(meta);
  if (!t) {
    const tags = decodeTags(meta);
    TAGS.set(meta, (t = { tags: tags ? Object.freeze(tags) : undefined }));
  }
  return t.tags;
}

export function memberFromContext(c: MemberContext, state: MemberState): Member {
  const tags = tagsOf(c.meta);
  return Object.freeze({
    name: c.name,
    address: addrToString(c.addr),
    port: c.port,
    state,
    incarnation: c.incarnation,
    meta: c.meta,
    ...(tags ? { tags } : {}),
    vsn: vsnList(c.vsn),
    stateChangedAt: c.stateChangedAt,
  });
}

type MemberSnapshot = ReturnType<MemberActor['getSnapshot']>;
/** a member's actor, and what was built from its current snapshot */
interface Slot {
  readonly actor: MemberActor;
  snap: MemberSnapshot;
  member: Member | undefined;
  view: MemberView | undefined;
}

function memberOf(slot: Slot): Member {
  const s = fresh(slot);
  return (s.member ??= memberFromContext(s.snap.context, s.snap.value as MemberState));
}

const stateOfSlot = (s: Slot): MemberState => fresh(s).snap.value as MemberState;

/** the slot, emptied of what was built when the actor's snapshot changed */
function fresh(slot: Slot): Slot {
  const snap = slot.actor.getSnapshot();
  if (slot.snap !== snap) {
    slot.snap = snap;
    slot.member = undefined;
    slot.view = undefined;
  }
  return slot;
}

const membersMachine = setup({
  types: {
    context: {} as { onError: (error: unknown) => void },
    input: {} as { onError: (error: unknown) => void },
    events: {} as
      | { type: 'member.stop'; member: AnyActorRef }
      | { type: 'members.stop'; members: readonly AnyActorRef[] }
      | { type: `xstate.error.actor.${string}`; error: unknown },
  },
}).createMachine({
  id: 'members',
  context: ({ input }) => ({ onError: input.onError }),
  on: {
    'member.stop': { actions: stopChild(({ event }) => (event as { member: AnyActorRef }).member) },
    // All of them in one macrostep: one event per member cost ~25 µs each (a node of a
    // 500-node simulation stops 500 of them, the simulation 250,000).
    'members.stop': {
      actions: enqueueActions(({ event, enqueue }) => {
        for (const m of (event as { members: readonly AnyActorRef[] }).members) enqueue.stopChild(m);
      }),
    },
    '*': { actions: ({ context, event }) => { if ('error' in event) context.onError(event.error); } },
  },
});

export class Registry {
  /**
   * One slot per member: its actor, and the Member and MemberView made once from its
   * current snapshot. A snapshot never changes (XState makes a new one per transition),
   * so a gossip tick, a probe or a members list reads what was built rather than
   * decoding tags and formatting addresses again; Members are frozen, because every
   * reader shares them. One map, so a message about a member costs one lookup by name.
   */
  private readonly slots = new Map<string, Slot>();
  private probeOrder: string[] = [];
  private readonly counts: Record<MemberState, number> = { alive: 0, suspect: 0, dead: 0, left: 0 };
  private readonly forgotten = new Set<string>();
  private probeIndex = 0;
  /** live/departing split for gossip sampling, dropped on every change */
  private liveness: { live: Slot[]; departing: Slot[] } | undefined;

  /**
   * The parent of every member actor, so that they share one actor system (its clock,
   * timers, inspector and systemId registry). A root actor of its own would give each
   * member a system: ~20 closures, 5 Sets and 3 Maps, about a third of a member's heap.
   * Members never talk to it; it stops them (XState lets only a parent stop a child) and
   * hears of an actor's error, which XState reports to the parent.
   */
  private readonly root: Actor<typeof membersMachine>;
  private readonly bytes = new ByteInterner();
  /** one `actor.options` for every member (shared-actor-options.ts) */
  private readonly memberOptions: { shared?: object } = {};

  constructor(private readonly deps: RegistryDeps) {
    this.root = createActor(membersMachine, {
      id: 'members',
      clock: deps.clock,
      input: { onError: (e) => deps.onActorError?.(e) },
      ...(deps.inspect ? { inspect: deps.inspect } : {}),
    });
    this.root.start();
  }

  /** memberlist's n: the local node plus every member it has not forgotten */
  get size(): number {
    return 1 + this.slots.size - this.forgotten.size;
  }

  /** the local node plus every alive or suspect member */
  get aliveCount(): number {
    return 1 + this.counts.alive + this.counts.suspect;
  }

  has(name: string): boolean {
    return this.slots.has(name);
  }

  member(name: string): Member | undefined {
    const s = this.slots.get(name);
    return s ? memberOf(s) : undefined;
  }

  view(name: string): MemberView | undefined {
    const s = this.slots.get(name);
    if (!s) return undefined;
    const slot = fresh(s);
    if (!slot.view) {
      const c = slot.snap.context;
      // Not frozen: only the rules read it, and freezing costs more than the view.
      slot.view = { state: slot.snap.value as MemberState, incarnation: c.incarnation, addr: c.addr, port: c.port, stateChangedAt: c.stateChangedAt, reaped: c.reaped };
    }
    return slot.view;
  }

  vsnOf(name: string): Uint8Array | undefined {
    return this.slots.get(name)?.actor.getSnapshot().context.vsn;
  }

  /** the actors, for the inspector and tests; read-only use */
  actor(name: string): MemberActor | undefined {
    return this.slots.get(name)?.actor;
  }

  list(): Member[] {
    return [...this.slots.values()].map(memberOf);
  }

  countInto(c: Record<MemberState, number>): void {
    for (const s of ['alive', 'suspect', 'dead', 'left'] as const) c[s] += this.counts[s];
  }

  /** failed members worth a reconnect attempt (Serf keeps them after memberlist forgets them) */
  failed(): Member[] {
    const out: Member[] = [];
    for (const s of this.slots.values()) if (stateOfSlot(s) === 'dead') out.push(memberOf(s));
    return out;
  }

  /** push-pull records of every member memberlist still knows */
  pushState(): PushNodeState[] {
    const out: PushNodeState[] = [];
    for (const [name, s] of this.slots) {
      const { context: c, value } = fresh(s).snap;
      if (c.reaped) continue;
      out.push({ name, addr: c.addr, port: c.port, meta: c.meta, incarnation: c.incarnation, state: WireState[value as MemberState], vsn: c.vsn });
    }
    return out;
  }

  create(name: string, m: NewMember): Member {
    // No systemId: nothing looks members up in the actor system, and registering one
    // cost a Map entry and a string per member. Metadata and versions are interned
    // (byte-interner.ts): nearly every member of a cluster carries the same ones.
    // Restored from its first snapshot rather than started from input: the same actor,
    // without the initial transition (newMemberSnapshot says why). No input beside it:
    // the actor would keep that object too, for nothing once it is restored.
    const snapshot = newMemberSnapshot({ name, addr: m.addr, port: m.port, meta: this.bytes.intern(m.meta), vsn: this.bytes.intern(m.vsn), incarnation: m.incarnation, at: m.at });
    // (createActor's type asks for the input whenever the machine declares one.)
    const options = { snapshot, parent: this.root } as ActorOptions<typeof memberMachine>;
    const actor = createActor(memberLogic, options as typeof options & { input: MemberInput });
    shareActorOptions(actor, this.memberOptions);
    const slot: Slot = { actor, snap: actor.getSnapshot(), member: undefined, view: undefined };
    this.slots.set(name, slot);
    // One listener for both emitted events: each `on(type)` costs the actor a Set and
    // the registry a closure (~250 bytes a member together).
    actor.on('*', (ev) => {
      if (ev.type === 'suspicionExpired') return this.deps.onExpired(name, ev.incarnation);
      if (ev.change !== 'updated') {
        this.counts[ev.from]--;
        this.counts[stateOf(actor)]++;
        this.liveness = undefined;
      }
      // A forgotten member that returns is a newcomer to the probe order again.
      if (ev.change === 'joined' && this.forgotten.delete(name)) this.insertIntoProbeOrder(name);
      this.deps.onChange(ev.change, memberOf(slot));
    });
    actor.start();
    this.counts.alive++;
    this.insertIntoProbeOrder(name);
    this.liveness = undefined;
    return memberOf(slot);
  }

  /**
   * At a random position, so a newcomer is probed within one pass, in O(1): a splice
   * moved the array's tail, which made a 10,000-member push-pull O(N²). Landing among
   * the members not yet probed this pass, it swaps with one of them, which moves to the
   * end (memberlist's aliveNode). Landing among those already probed, it takes that
   * place and the pass's boundary moves over one: the member it displaced and the first
   * one still to probe change places, so nobody is probed twice in a pass.
   */
  private insertIntoProbeOrder(name: string): void {
    const order = this.probeOrder;
    const pos = Math.floor(this.deps.random() * (order.length + 1));
    if (pos < this.probeIndex) {
      const boundary = this.probeIndex++;
      if (boundary < order.length) order.push(order[boundary]!);
      order[boundary] = order[pos]!;
      order[pos] = name;
      return;
    }
    order.push(name);
    const last = order.length - 1;
    if (pos !== last) [order[pos], order[last]] = [order[last]!, order[pos]!];
  }

  /** hand an event to a member's actor; true when the machine accepted it */
  deliver(name: string, event: Exclude<MachineEvent, { type: 'REAP' }>): boolean {
    return this.send(name, event);
  }

  private send(name: string, event: MachineEvent): boolean {
    const a = this.slots.get(name)?.actor;
    if (!a) return false;
    const before = a.getSnapshot();
    // Most gossip repeats what a member already knows. The machine's own guards say so
    // (snapshot.can evaluates them without running a macrostep), at a fraction of a
    // refused send; a refused event would have changed nothing. A guard that every
    // transition on this event needs is checked first, without XState (necessary-guards.ts).
    const must = MEMBER_NECESSARY_GUARDS.get(event.type);
    if (must && !must(before.context, event)) return false;
    if (!before.can(event)) return false;
    // An alive the machine takes may store its metadata and versions: interned, as at create.
    a.send(event.type === 'ALIVE' ? { ...event, meta: this.bytes.intern(event.meta), vsn: this.bytes.intern(event.vsn) } : event);
    // XState keeps the snapshot object when no transition was taken.
    return a.getSnapshot() !== before;
  }

  /** memberlist forgets a member dead or left for GossipToTheDeadTime; Serf still lists it */
  reap(name: string): boolean {
    if (!this.send(name, { type: 'REAP' })) return false;
    this.forgotten.add(name);
    this.liveness = undefined;
    return true;
  }

  // ---- probe order: randomized round robin, reshuffled at every wrap ----

  /**
   * The next member to probe (alive or suspect), or undefined. At each wrap, `onWrap`
   * runs first (memberlist reaps the dead there) and the order is reshuffled.
   */
  nextProbeTarget(onWrap: () => void): Member | undefined {
    for (let checked = 0; checked <= this.probeOrder.length; checked++) {
      if (this.probeIndex >= this.probeOrder.length) {
        onWrap();
        this.probeOrder = this.probeOrder.filter((n) => this.slots.has(n) && !this.forgotten.has(n));
        this.shuffle(this.probeOrder);
        this.probeIndex = 0;
        if (this.probeOrder.length === 0) return undefined;
      }
      const s = this.slots.get(this.probeOrder[this.probeIndex++]!);
      if (s && isLive(stateOfSlot(s))) return memberOf(s);
    }
    return undefined;
  }

  /** dead or left members, with how long ago they changed and whether memberlist forgot them */
  departed(): Array<{ name: string; state: 'dead' | 'left'; since: number; reaped: boolean }> {
    const out: Array<{ name: string; state: 'dead' | 'left'; since: number; reaped: boolean }> = [];
    for (const [name, slot] of this.slots) {
      const s = stateOfSlot(slot);
      if (s !== 'dead' && s !== 'left') continue;
      const c = slot.snap.context;
      out.push({ name, state: s, since: c.stateChangedAt, reaped: c.reaped });
    }
    return out;
  }

  /** stop and drop a member entirely (Serf's reconnect/tombstone timeout ran out) */
  forget(name: string): void {
    const s = this.slots.get(name);
    if (!s) return;
    this.counts[stateOfSlot(s)]--;
    this.forgotten.delete(name);
    this.root.send({ type: 'member.stop', member: s.actor });
    this.slots.delete(name);
    this.liveness = undefined;
  }

  /** up to k random members in the given states, excluding some names */
  randomMembers(k: number, states: readonly MemberState[], exclude: ReadonlySet<string> = new Set()): Member[] {
    const pool: Slot[] = [];
    for (const [name, s] of this.slots) if (states.includes(stateOfSlot(s)) && !exclude.has(name)) pool.push(s);
    return this.sample(pool, k).map(memberOf);
  }

  /**
   * Gossip targets: alive, suspect, or dead/left for less than `deadWindowMs`, live ones
   * first. memberlist samples all of them alike, so with few live members a broadcast
   * (a leave, say) can spend most of its retransmits on the dead and miss a live member,
   * which then records a failure. Here k − 1 targets are live when there are that many,
   * and the last is drawn from everyone left, so the recently dead still hear of their
   * death and can refute (they also learn it from push-pull and our reconnects).
   */
  gossipTargets(k: number, now: number, deadWindowMs: number): Member[] {
    const { live, departing } = this.byLiveness();
    const recent = departing.filter((s) => now - fresh(s).snap.context.stateChangedAt < deadWindowMs);
    const n = live.length + recent.length;
    const want = Math.min(k, n);
    const firstLive = Math.min(live.length, Math.max(0, k - 1));
    // Rejection sampling of indexes: k is tiny (GossipNodes) and n may be large.
    const picked = new Set<number>();
    const out: Member[] = [];
    while (out.length < want) {
      const i = out.length < firstLive ? Math.floor(this.deps.random() * live.length) : Math.floor(this.deps.random() * n);
      if (picked.has(i)) continue;
      picked.add(i);
      out.push(memberOf(i < live.length ? live[i]! : recent[i - live.length]!));
    }
    return out;
  }

  stop(): void {
    this.root.send({ type: 'members.stop', members: [...this.slots.values()].map((s) => s.actor) });
    this.root.stop();
    this.slots.clear();
    this.forgotten.clear();
    for (const s of ['alive', 'suspect', 'dead', 'left'] as const) this.counts[s] = 0;
    this.probeOrder = [];
    this.liveness = undefined;
  }

  private byLiveness(): { live: Slot[]; departing: Slot[] } {
    if (!this.liveness) {
      const live: Slot[] = [];
      const departing: Slot[] = [];
      for (const s of this.slots.values()) {
        if (isLive(stateOfSlot(s))) live.push(s);
        else if (!s.snap.context.reaped) departing.push(s);
      }
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
}
